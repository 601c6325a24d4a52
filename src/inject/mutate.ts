/**
 * The one pod mutation behind `bucket-agent inject` and `bucket-agent webhook` (DESIGN.md
 * "Injection contract"): should inject -> read annotations -> plan -> build -> patch by diff.
 * Pure: a pod (or a pod template dressed as a pod) and the cluster facts in, the mutated pod, its
 * JSON patch and warnings out; a bad annotation throws AnnotationError naming it.
 *
 * The patch is `compare(original, mutated)` (fast-json-patch, RFC 6902), never hand-written
 * paths, so annotation keys with `/` are escaped by the library.
 *
 * Copy on write, not a deep clone: the mutated pod is a new pod, spec and container objects whose
 * untouched fields are the input's own (every change below assigns a new array or object, none
 * writes into the input's). A deep clone of a ~4 KB pod was a fifth of the webhook's CPU per
 * review (bench/webhook); the input is never modified all the same (test/unit/inject: frozen inputs).
 */
import jsonPatch, { type Operation } from 'fast-json-patch';
import { AnnotationError } from '../errors.js';
import type { SourceChoice } from '../flags/source.js';
import { ANNOTATION_STATUS, DEFAULT_SOURCE, LABEL_INJECT, optInOf, readAnnotations, STATUS_INJECTED } from './annotations.js';
import { fileAccessFor } from './args.js';
import {
  AGENT_CONTAINER_NAMES,
  buildAgentContainers,
  DEFAULT_AGENT_RESOURCES,
  DEFAULT_AGENT_UID,
  type AgentContainers,
  type AgentSettings,
} from './containers.js';
import { addEnv, appEnv } from './env.js';
import type { Container, Pod, PodSpec, ResourceRequirements, Volume } from './kube-types.js';
import { buildPlan, type InjectPlan, type PlanContext } from './plan.js';
import { appMount, buildVolumes } from './volumes.js';

export { DEFAULT_PREFIX, DEFAULT_SOURCE, isValidPrefix } from './annotations.js';

export interface InjectFacts {
  /** Label and annotation key prefix, DEFAULT_PREFIX `bucket-agent.io/`; check a configured one with isValidPrefix. */
  readonly prefix: string;
  /** The agent image. */
  readonly image: string;
  /** The cluster runs native sidecars (>= 1.29) and the caller says to use them. */
  readonly nativeSidecars: boolean;
  readonly imagePullPolicy?: string;
  /** When the pod has no `source` annotation; DEFAULT_SOURCE. */
  readonly defaultSource?: SourceChoice;
  /** Agent containers' requests and limits; DEFAULT_AGENT_RESOURCES. */
  readonly resources?: ResourceRequirements;
  /** Agent containers' runAsUser and runAsGroup; DEFAULT_AGENT_UID. */
  readonly agentUid?: number;
}

export interface InjectContext {
  /** `Job` for a Job's pod; by default the pod's controller ownerReference says. */
  readonly ownerKind?: string;
}

export interface PodMutation {
  /**
   * The mutated pod (or template-as-pod): new objects where it changed, the input's own where it
   * did not (copy on write); the input is never modified. Treat it as read-only.
   */
  readonly pod: object;
  /** compare(original, mutated); empty when not injected. */
  readonly patch: readonly Operation[];
  /** Unknown keys under the prefix, values that are ignored, envFrom that the injected env wins over. */
  readonly warnings: readonly string[];
  /** False: left unchanged (no opt-in label, the status annotation is there, or our containers are). */
  readonly injected: boolean;
}

export function mutatePod(pod: unknown, facts: InjectFacts, context: InjectContext = {}): PodMutation {
  const original = asPodLike(pod, facts.prefix);
  const optIn = optInOf(original.metadata?.labels, facts.prefix);
  if (!optIn.optedIn) return unchanged(original, optIn.warning === undefined ? [] : [optIn.warning]);
  const { annotations, warnings } = readAnnotations(original.metadata?.annotations, facts.prefix);
  if (annotations.get(ANNOTATION_STATUS) !== undefined || hasAgentContainers(original)) return unchanged(original, warnings);
  const spec = checkedSpec(original, facts.prefix);
  const { plan, warnings: planWarnings } = buildPlan(annotations, planContext(original, spec, facts, context));
  const mutated = copyForWrite(original, spec);
  const envWarnings = applyPlan(mutated, plan, facts);
  mutated.metadata = {
    ...mutated.metadata,
    annotations: { ...mutated.metadata?.annotations, [annotations.key(ANNOTATION_STATUS)]: STATUS_INJECTED },
  };
  return {
    pod: mutated,
    patch: jsonPatch.compare(original, mutated),
    warnings: [...warnings, ...planWarnings, ...envWarnings],
    injected: true,
  };
}

/** Anything that is an object; whether it is a usable pod is checked only once it opts in. */
function asPodLike(pod: unknown, prefix: string): Partial<Pod> {
  if (typeof pod !== 'object' || pod === null || Array.isArray(pod)) {
    throw new AnnotationError(`${prefix}${LABEL_INJECT}`, 'the object to inject is not a Kubernetes object');
  }
  return pod;
}

function unchanged(original: object, warnings: readonly string[]): PodMutation {
  return { pod: original, patch: [], warnings, injected: false };
}

/** The objects the mutation writes to, copied: the pod, its spec and every container (shallow). */
function copyForWrite(original: Partial<Pod>, spec: PodSpec): Pod {
  const copyAll = (list: readonly Container[] | undefined): Container[] | undefined => list?.map((c) => ({ ...c }));
  return {
    ...original,
    spec: { ...spec, containers: copyAll(spec.containers) ?? [], initContainers: copyAll(spec.initContainers) },
  };
}

function hasAgentContainers(pod: Partial<Pod>): boolean {
  return [pod.spec?.containers, pod.spec?.initContainers].some(
    (list) => Array.isArray(list) && list.some((c) => AGENT_CONTAINER_NAMES.includes(c.name)),
  );
}

function checkedSpec(pod: Partial<Pod>, prefix: string): PodSpec {
  const spec = pod.spec;
  if (spec === undefined || !Array.isArray(spec.containers) || spec.containers.length === 0) {
    throw new AnnotationError(`${prefix}${LABEL_INJECT}`, 'the pod has no spec.containers to inject into');
  }
  return spec;
}

function planContext(pod: Partial<Pod>, spec: PodSpec, facts: InjectFacts, context: InjectContext): PlanContext {
  const all = [...spec.containers, ...(spec.initContainers ?? [])];
  return {
    containers: spec.containers.map((c) => c.name),
    initContainers: (spec.initContainers ?? []).map((c) => c.name),
    declaredPorts: all.flatMap((c) => (c.ports ?? []).map((p) => p.containerPort)),
    mountPaths: new Map(all.map((c) => [c.name, (c.volumeMounts ?? []).map((m) => m.mountPath)])),
    jobOwned: (context.ownerKind ?? controllerKind(pod)) === 'Job',
    nativeSidecars: facts.nativeSidecars,
    defaultSource: facts.defaultSource ?? DEFAULT_SOURCE,
    shareProcessNamespace: spec.shareProcessNamespace === true,
  };
}

function controllerKind(pod: Partial<Pod>): string | undefined {
  return pod.metadata?.ownerReferences?.find((ref) => ref.controller === true)?.kind;
}

/** Volumes, agent containers (first among init containers), then each target app container's mount and env. */
function applyPlan(pod: Pod, plan: InjectPlan, facts: InjectFacts): string[] {
  const spec = pod.spec;
  const agent = buildAgentContainers(plan, agentSettings(spec, facts), facts.nativeSidecars);
  spec.volumes = [...(spec.volumes ?? []), ...newVolumes(spec, plan, facts.prefix)];
  const warnings = [...spec.containers, ...(spec.initContainers ?? [])]
    .filter((c) => plan.targets.includes(c.name))
    .flatMap((c) => equipApp(c, plan));
  placeAgent(spec, agent);
  return warnings;
}

/** The injector's volumes, refused when the pod already uses one of their names for its own. */
function newVolumes(spec: PodSpec, plan: InjectPlan, prefix: string): Volume[] {
  const volumes = buildVolumes(plan);
  const own = new Set((spec.volumes ?? []).map((v) => v.name));
  const taken = volumes.filter((v) => own.has(v.name)).map((v) => v.name);
  if (taken.length > 0) {
    throw new AnnotationError(
      `${prefix}${LABEL_INJECT}`,
      `the pod already has a volume named ${taken.join(', ')}, a name the injector needs: rename it`,
    );
  }
  return volumes;
}

function placeAgent(spec: PodSpec, agent: AgentContainers): void {
  spec.initContainers = [...agent.initContainers, ...(spec.initContainers ?? [])];
  spec.containers = [...spec.containers, ...agent.containers];
}

function equipApp(container: Container, plan: InjectPlan): string[] {
  container.volumeMounts = [...(container.volumeMounts ?? []), appMount(plan)];
  return addEnv(container, appEnv(plan));
}

function agentSettings(spec: PodSpec, facts: InjectFacts): AgentSettings {
  return {
    image: facts.image,
    imagePullPolicy: facts.imagePullPolicy,
    resources: facts.resources ?? DEFAULT_AGENT_RESOURCES,
    uid: facts.agentUid ?? DEFAULT_AGENT_UID,
    files: fileAccessFor(spec.securityContext?.fsGroup),
  };
}
