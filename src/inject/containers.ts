/**
 * The agent containers. Native sidecar (Kubernetes >= 1.29): one init container with
 * `restartPolicy: Always` running `sidecar`, whose startupProbe on /readyz holds every container
 * after it until the files exist. Classic: an `init` container, then a `sidecar` container.
 * init-only: the `init` container alone.
 */
import { initArgs, sidecarArgs, type FileAccess } from './args.js';
import { agentEnv } from './env.js';
import type { Container, HttpProbe, ResourceRequirements } from './kube-types.js';
import type { InjectPlan } from './plan.js';
import { agentMounts } from './volumes.js';

export const CONTAINER_AGENT = 'bucket-agent';
export const CONTAINER_AGENT_INIT = 'bucket-agent-init';
export const AGENT_CONTAINER_NAMES: readonly string[] = [CONTAINER_AGENT, CONTAINER_AGENT_INIT];

/** distroless's `nonroot`: a uid no image's app user is likely to share. Numeric, so runAsNonRoot can be checked. */
export const DEFAULT_AGENT_UID = 65532;

/**
 * Sized from the sidecar's measured footprint (docs/benchmarks.md "Rotation", Node 24, `npm run bench:rotation`):
 * idle RSS 67-70 MiB, of which ~52 MiB is the floor of any Node program holding a TLS watch and an
 * HTTP listener; a render of every format and a verification (minio loaded) add a few MiB for a
 * moment. Request 96Mi, what it holds at rest plus GC headroom, so the scheduler counts it honestly;
 * limit 160Mi (~2.3x idle), which stops a leak long before it troubles the node and is never met by
 * normal work. CPU: 0.2-0.3 ms/s idle and ~3.5 ms per rotation, so 10m is requested and there is no
 * CPU limit: throttling would only delay a rotation. init uses the same (it does the same work once).
 */
export const DEFAULT_AGENT_RESOURCES: ResourceRequirements = Object.freeze({
  requests: Object.freeze({ cpu: '10m', memory: '96Mi' }),
  limits: Object.freeze({ memory: '160Mi' }),
});

/**
 * The sidecar waits for credentials without giving up; the probe gives it 10 minutes (init's own
 * default --timeout) before the kubelet restarts it, polling each second so the app starts at most
 * a second after the files exist.
 */
export const STARTUP_PERIOD_SECONDS = 1;
export const STARTUP_FAILURE_THRESHOLD = 600;
export const LIVENESS_PERIOD_SECONDS = 30;

/** What the injector knows besides the plan (from InjectFacts). */
export interface AgentSettings {
  readonly image: string;
  readonly imagePullPolicy: string | undefined;
  readonly resources: ResourceRequirements;
  readonly uid: number;
  readonly files: FileAccess;
}

export interface AgentContainers {
  /** To be placed first among the pod's init containers: an app's init container may need the files. */
  readonly initContainers: readonly Container[];
  readonly containers: readonly Container[];
}

export function buildAgentContainers(plan: InjectPlan, agent: AgentSettings, native: boolean): AgentContainers {
  if (plan.mode === 'init-only') return { initContainers: [initContainer(plan, agent)], containers: [] };
  if (native) return { initContainers: [nativeSidecar(plan, agent)], containers: [] };
  return { initContainers: [initContainer(plan, agent)], containers: [classicSidecar(plan, agent)] };
}

function initContainer(plan: InjectPlan, agent: AgentSettings): Container {
  return base(CONTAINER_AGENT_INIT, initArgs(plan, agent.files), plan, agent);
}

function classicSidecar(plan: InjectPlan, agent: AgentSettings): Container {
  return {
    ...base(CONTAINER_AGENT, sidecarArgs(plan, agent.files), plan, agent),
    ports: [{ name: 'bucket-agent', containerPort: plan.ports.health, protocol: 'TCP' }],
    livenessProbe: probe('/healthz', plan.ports.health, LIVENESS_PERIOD_SECONDS),
  };
}

function nativeSidecar(plan: InjectPlan, agent: AgentSettings): Container {
  return {
    ...classicSidecar(plan, agent),
    restartPolicy: 'Always',
    startupProbe: { ...probe('/readyz', plan.ports.health, STARTUP_PERIOD_SECONDS), failureThreshold: STARTUP_FAILURE_THRESHOLD },
  };
}

function base(name: string, args: string[], plan: InjectPlan, agent: AgentSettings): Container {
  return {
    name,
    image: agent.image,
    ...(agent.imagePullPolicy === undefined ? {} : { imagePullPolicy: agent.imagePullPolicy }),
    args,
    env: agentEnv(),
    volumeMounts: agentMounts(plan),
    resources: copyResources(agent.resources),
    securityContext: securityContext(agent.uid),
  };
}

function probe(path: string, port: number, periodSeconds: number): HttpProbe {
  return { httpGet: { path, port }, periodSeconds };
}

/** Pod Security "restricted", and a read-only root: the agent writes only to its volume. */
function securityContext(uid: number): Record<string, unknown> {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Each agent container its own resources object (a JSON patch must not alias one value twice). */
function copyResources(resources: ResourceRequirements): ResourceRequirements {
  return {
    ...(resources.requests === undefined ? {} : { requests: { ...resources.requests } }),
    ...(resources.limits === undefined ? {} : { limits: { ...resources.limits } }),
  };
}
