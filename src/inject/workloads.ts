/**
 * Which Kubernetes objects carry a pod, and where: a Pod is one; every workload holds a pod
 * template, mutated as if it were the pod it will become (the webhook sees that pod, labels and
 * annotations from the template). Anything else is not touched. Pure.
 */
import { AnnotationError } from '../errors.js';
import type { Pod } from './kube-types.js';
import { mutatePod, type InjectFacts } from './mutate.js';

interface TemplateKind {
  /** The API groups the kind is served in (`` = core). */
  readonly groups: readonly string[];
  /** Path to the pod template (`metadata` + `spec`); empty: the object is the pod. */
  readonly path: readonly string[];
  /** The kind that will own the pods: a Job's get init-only with classic sidecars. */
  readonly ownerKind?: string;
}

const APPS = ['apps', 'extensions'];

export const POD_CARRIERS: Readonly<Record<string, TemplateKind>> = {
  Pod: { groups: [''], path: [] },
  PodTemplate: { groups: [''], path: ['template'] },
  ReplicationController: { groups: [''], path: ['spec', 'template'] },
  Deployment: { groups: APPS, path: ['spec', 'template'] },
  StatefulSet: { groups: APPS, path: ['spec', 'template'] },
  DaemonSet: { groups: APPS, path: ['spec', 'template'] },
  ReplicaSet: { groups: APPS, path: ['spec', 'template'] },
  Job: { groups: ['batch'], path: ['spec', 'template'], ownerKind: 'Job' },
  CronJob: { groups: ['batch'], path: ['spec', 'jobTemplate', 'spec', 'template'], ownerKind: 'Job' },
};

export interface ObjectResult {
  /** The object, mutated when `injected`; the input itself otherwise. */
  readonly object: unknown;
  readonly injected: boolean;
  readonly warnings: readonly string[];
}

type Json = Record<string, unknown>;

const isRecord = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `kind name`, for messages: `Deployment web`, `Pod (unnamed)`. */
export function describeObject(object: unknown): string {
  if (!isRecord(object)) return 'not an object';
  const metadata = isRecord(object.metadata) ? object.metadata : {};
  const name =
    typeof metadata.name === 'string'
      ? metadata.name
      : typeof metadata.generateName === 'string'
        ? `${metadata.generateName}*`
        : '(unnamed)';
  return `${typeof object.kind === 'string' ? object.kind : '(no kind)'} ${name}`;
}

function carrierOf(object: Json): TemplateKind | undefined {
  const kind = typeof object.kind === 'string' ? POD_CARRIERS[object.kind] : undefined;
  const apiVersion = typeof object.apiVersion === 'string' ? object.apiVersion : '';
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  return kind?.groups.includes(group) === true ? kind : undefined;
}

/** One object (not a List): mutated if it carries a pod that opts in. Errors name the object. */
export function injectObject(object: unknown, facts: InjectFacts): ObjectResult {
  const carrier = isRecord(object) ? carrierOf(object) : undefined;
  const template = carrier === undefined || !isRecord(object) ? undefined : templateOf(object, carrier.path);
  if (carrier === undefined || template === undefined) return { object, injected: false, warnings: [] };
  let result;
  try {
    result = mutatePod(template, facts, carrier.ownerKind === undefined ? {} : { ownerKind: carrier.ownerKind });
  } catch (err) {
    throw err instanceof AnnotationError ? err.at(describeObject(object)) : err;
  }
  const warnings = result.warnings.map((w) => `${describeObject(object)}: ${w}`);
  if (!result.injected) return { object, injected: false, warnings };
  return { object: withTemplate(object as Json, carrier.path, result.pod as Pod), injected: true, warnings };
}

/** The pod template at `path` (the object itself for an empty path), if it is an object. */
function templateOf(object: Json, path: readonly string[]): Json | undefined {
  const key = path.at(-1);
  if (key === undefined) return object;
  const template = templateParent(object, path)?.[key];
  return isRecord(template) ? template : undefined;
}

function templateParent(object: Json, path: readonly string[]): Json | undefined {
  let node: unknown = object;
  for (const step of path.slice(0, -1)) node = isRecord(node) ? node[step] : undefined;
  return isRecord(node) ? node : undefined;
}

/** A copy of the object with the template (or, for a Pod, the whole object) replaced by the mutated one. */
function withTemplate(object: Json, path: readonly string[], pod: Pod): Json {
  if (path.length === 0) return pod;
  const copy = structuredClone(object);
  const parent = templateParent(copy, path);
  const key = path.at(-1);
  if (parent === undefined || key === undefined) return copy;
  const template = parent[key] as Json;
  parent[key] = { ...template, metadata: pod.metadata, spec: pod.spec };
  return copy;
}

/** An object, or a `List` of them (`kubectl get -o yaml` of several): every item, `item N` in messages. */
export function injectListOrObject(object: unknown, facts: InjectFacts): ObjectResult {
  if (!isRecord(object) || object.kind !== 'List' || !Array.isArray(object.items)) return injectObject(object, facts);
  const items: unknown[] = object.items;
  const results = items.map((item, i) => {
    try {
      return injectObject(item, facts);
    } catch (err) {
      throw err instanceof AnnotationError ? err.at(`item ${i + 1}`) : err;
    }
  });
  const warnings = results.flatMap((r, i) => r.warnings.map((w) => `item ${i + 1}: ${w}`));
  if (!results.some((r) => r.injected)) return { object, injected: false, warnings };
  return { object: { ...object, items: results.map((r) => r.object) }, injected: true, warnings };
}
