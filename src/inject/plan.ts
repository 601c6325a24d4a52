/**
 * Annotations -> a typed, checked injection plan. Every value goes through the grammar the agent's
 * own flags use (src/flags/), so an annotation is refused exactly when the flag it becomes would
 * be, and with the same words, led by the annotation's key. Contradictions between annotations, and
 * between them and the pod (an unknown container, a taken port), are refused here too, so the
 * builders after it cannot fail.
 */
import { isObjectName, OBJECT_NAME_RULE, parseBucketItems, type BucketRequest } from '../flags/buckets.js';
import { parseFormatNames } from '../flags/formats.js';
import { parseNotifyValue } from '../flags/notify.js';
import { isSourceChoice, SOURCE_KINDS, type SourceChoice } from '../flags/source.js';
import type { Format } from '../render/types.js';
import {
  ANNOTATION_BUCKETS,
  ANNOTATION_CONTAINERS,
  ANNOTATION_CREDENTIALS_ENDPOINT,
  ANNOTATION_FORMATS,
  ANNOTATION_KUBECONFIG_SECRET,
  ANNOTATION_MODE,
  ANNOTATION_NAMESPACE,
  ANNOTATION_NOTIFY,
  ANNOTATION_SOURCE,
  ANNOTATION_USER,
  ANNOTATION_VERIFY,
  type AnnotationName,
  type PodAnnotations,
} from './annotations.js';
import { checkPortsFree, parseMountPath, parsePorts, type AgentPorts } from './plan-values.js';

export const INJECT_MODES = ['sidecar', 'init-only'] as const;
export type InjectMode = (typeof INJECT_MODES)[number];

export interface InjectPlan {
  readonly buckets: readonly BucketRequest[];
  readonly user: string | undefined;
  readonly namespace: string | undefined;
  /** Undefined: not given, every format (and no --formats flag). */
  readonly formats: readonly Format[] | undefined;
  readonly source: SourceChoice;
  /** One action per line of the annotation, each checked by the --notify grammar. */
  readonly notify: readonly string[];
  readonly credentialsEndpoint: boolean;
  readonly verify: boolean;
  readonly mode: InjectMode;
  readonly mountPath: string;
  /** The pod's containers (and init containers) that get the files: names. */
  readonly targets: readonly string[];
  readonly kubeconfigSecret: string | undefined;
  readonly ports: AgentPorts;
}

/** What the plan depends on besides the annotations. */
export interface PlanContext {
  /** Names of the pod's containers, then of its init containers. */
  readonly containers: readonly string[];
  readonly initContainers: readonly string[];
  /** Every containerPort the pod's containers declare. */
  readonly declaredPorts: readonly number[];
  /** Mount paths already used, by container name. */
  readonly mountPaths: ReadonlyMap<string, readonly string[]>;
  readonly jobOwned: boolean;
  readonly nativeSidecars: boolean;
  readonly defaultSource: SourceChoice;
  readonly shareProcessNamespace: boolean;
}

export interface PlanResult {
  readonly plan: InjectPlan;
  readonly warnings: readonly string[];
}

export function buildPlan(a: PodAnnotations, ctx: PlanContext): PlanResult {
  const mode = parseMode(a, ctx);
  const targets = parseTargets(a, ctx);
  const plan: InjectPlan = {
    buckets: parseBuckets(a),
    user: optionalName(a, ANNOTATION_USER),
    namespace: optionalName(a, ANNOTATION_NAMESPACE),
    formats: parseFormats(a),
    source: parseSource(a, ctx.defaultSource),
    notify: parseNotify(a),
    credentialsEndpoint: parseBoolean(a, ANNOTATION_CREDENTIALS_ENDPOINT, false),
    verify: parseBoolean(a, ANNOTATION_VERIFY, true),
    mode,
    mountPath: parseMountPath(a, targets, ctx.mountPaths),
    targets,
    kubeconfigSecret: optionalName(a, ANNOTATION_KUBECONFIG_SECRET),
    ports: parsePorts(a),
  };
  checkCombinations(a, plan, ctx);
  return { plan, warnings: planWarnings(a, plan, ctx) };
}

/** Comma- (or newline-) separated items, trimmed, empty ones dropped. */
function listOf(value: string | undefined): string[] {
  return (value ?? '')
    .split(/[,\n]/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function parseBuckets(a: PodAnnotations): BucketRequest[] {
  const items = listOf(a.get(ANNOTATION_BUCKETS));
  if (items.length === 0) a.fail(ANNOTATION_BUCKETS, 'required: the Bucket(s) to mount, as NAME[=ALIAS], comma-separated');
  return parseBucketItems(items, (problem) => a.fail(ANNOTATION_BUCKETS, problem));
}

function optionalName(a: PodAnnotations, name: AnnotationName): string | undefined {
  const value = a.get(name)?.trim() ?? '';
  if (value === '') return undefined;
  if (!isObjectName(value)) a.fail(name, `"${value}" is not a valid name (${OBJECT_NAME_RULE})`);
  return value;
}

function parseFormats(a: PodAnnotations): Format[] | undefined {
  const items = listOf(a.get(ANNOTATION_FORMATS));
  if (items.length === 0) return undefined;
  return parseFormatNames(items, (problem) => a.fail(ANNOTATION_FORMATS, problem));
}

function parseSource(a: PodAnnotations, fallback: SourceChoice): SourceChoice {
  const value = a.get(ANNOTATION_SOURCE)?.trim() ?? '';
  if (value === '') return fallback;
  if (!isSourceChoice(value)) a.fail(ANNOTATION_SOURCE, `"${value}" is not one of ${SOURCE_KINDS.join(', ')}`);
  return value;
}

/** One action per line: a command of an exec action may hold commas. */
function parseNotify(a: PodAnnotations): string[] {
  const lines = (a.get(ANNOTATION_NOTIFY) ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  for (const line of lines) parseNotifyValue(line, (problem) => a.fail(ANNOTATION_NOTIFY, `${JSON.stringify(line)}: ${problem}`));
  return lines;
}

function parseBoolean(a: PodAnnotations, name: AnnotationName, fallback: boolean): boolean {
  const value = a.get(name)?.trim() ?? '';
  if (value === '') return fallback;
  if (value !== 'true' && value !== 'false') a.fail(name, `"${value}" is not "true" or "false"`);
  return value === 'true';
}

/** A Job's pod with classic sidecars gets init-only: a classic sidecar never exits, so the Job would never complete. */
function parseMode(a: PodAnnotations, ctx: PlanContext): InjectMode {
  const value = a.get(ANNOTATION_MODE)?.trim() ?? '';
  const classicJob = ctx.jobOwned && !ctx.nativeSidecars;
  if (value === '') return classicJob ? 'init-only' : 'sidecar';
  const mode = INJECT_MODES.find((m) => m === value);
  if (mode === undefined) return a.fail(ANNOTATION_MODE, `"${value}" is not one of ${INJECT_MODES.join(', ')}`);
  if (mode === 'sidecar' && classicJob) {
    a.fail(
      ANNOTATION_MODE,
      'a sidecar in a Job\'s pod needs native sidecars (Kubernetes >= 1.29): a classic one never exits, so the Job would never complete; use "init-only"',
    );
  }
  return mode;
}

/** Default: every container (not the init containers); named: any of either, each must exist. */
function parseTargets(a: PodAnnotations, ctx: PlanContext): string[] {
  const items = listOf(a.get(ANNOTATION_CONTAINERS));
  if (items.length === 0) return [...ctx.containers];
  const known = [...ctx.containers, ...ctx.initContainers];
  for (const item of items) {
    if (!known.includes(item)) a.fail(ANNOTATION_CONTAINERS, `the pod has no container "${item}" (it has: ${known.join(', ')})`);
  }
  return [...new Set(items)];
}

function checkCombinations(a: PodAnnotations, plan: InjectPlan, ctx: PlanContext): void {
  if (plan.credentialsEndpoint && plan.mode === 'init-only') {
    const why = a.get(ANNOTATION_MODE) === undefined && ctx.jobOwned ? " (the default for a Job's pod when sidecars are classic)" : '';
    a.fail(ANNOTATION_CREDENTIALS_ENDPOINT, `the endpoint is served by the sidecar, and the mode is init-only${why}`);
  }
  if (plan.kubeconfigSecret !== undefined && plan.source === 'volume') {
    a.fail(
      ANNOTATION_SOURCE,
      `"volume" reads Secrets mounted from this cluster, but kubeconfig-secret says the Buckets are in another: use "api"`,
    );
  }
  if (plan.credentialsEndpoint && plan.ports.credentials === plan.ports.health) {
    a.fail(ANNOTATION_CREDENTIALS_ENDPOINT, `the health and credentials ports are both ${plan.ports.health}: give them different ports`);
  }
  checkPortsFree(a, plan, ctx.declaredPorts);
}

function planWarnings(a: PodAnnotations, plan: InjectPlan, ctx: PlanContext): string[] {
  const warnings: string[] = [];
  if (plan.notify.length > 0 && plan.mode === 'init-only') {
    warnings.push(`${a.key(ANNOTATION_NOTIFY)}: ignored in init-only mode (nothing runs after the first render)`);
  }
  const byName = plan.notify.filter((line) => /^signal:[^:]+:(?!pidfile:)/.test(line));
  if (byName.length > 0 && !ctx.shareProcessNamespace && plan.mode === 'sidecar') {
    warnings.push(`${a.key(ANNOTATION_NOTIFY)}: signal by process name needs shareProcessNamespace: true on the pod`);
  }
  return warnings;
}
