/**
 * The annotations that are paths and ports: checked for shape, then against the pod (a mount
 * path a target container already uses, a port one of its containers declares), since the pod
 * shares one network namespace and the apiserver refuses duplicate mount paths.
 */
import { ANNOTATION_CREDENTIALS_PORT, ANNOTATION_HEALTH_PORT, ANNOTATION_MOUNT_PATH, type PodAnnotations } from './annotations.js';

export const DEFAULT_MOUNT_PATH = '/bucket';
/**
 * The sidecar's /healthz, /readyz, /metrics (its --listen, on every interface: probes come to the
 * pod IP) and its AWS credentials endpoint (loopback). Not the sidecar's own default :8080, which
 * is the port apps most often listen on themselves.
 */
export const DEFAULT_HEALTH_PORT = 9910;
export const DEFAULT_CREDENTIALS_PORT = 9911;

export interface AgentPorts {
  readonly health: number;
  readonly credentials: number;
}

/** An absolute path without `.`/`..` segments or control characters; a trailing slash is dropped. */
export function parseMountPath(a: PodAnnotations, targets: readonly string[], used: ReadonlyMap<string, readonly string[]>): string {
  const given = a.get(ANNOTATION_MOUNT_PATH)?.trim() ?? '';
  const path = given === '' ? DEFAULT_MOUNT_PATH : given.replace(/(?<=.)\/+$/, '');
  if (!isDirectoryPath(path)) a.fail(ANNOTATION_MOUNT_PATH, `${JSON.stringify(given)} is not an absolute directory path like /bucket`);
  for (const name of targets) {
    if (used.get(name)?.includes(path) === true) a.fail(ANNOTATION_MOUNT_PATH, `container "${name}" already mounts a volume at ${path}`);
  }
  return path;
}

function isDirectoryPath(path: string): boolean {
  const segments = path.split('/').slice(1);
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (!path.startsWith('/') || path === '/' || /[\u0000-\u001f\u007f]/.test(path)) return false;
  return segments.every((s) => s !== '' && s !== '.' && s !== '..');
}

export function parsePorts(a: PodAnnotations): AgentPorts {
  return {
    health: parsePort(a, ANNOTATION_HEALTH_PORT, DEFAULT_HEALTH_PORT),
    credentials: parsePort(a, ANNOTATION_CREDENTIALS_PORT, DEFAULT_CREDENTIALS_PORT),
  };
}

function parsePort(a: PodAnnotations, name: typeof ANNOTATION_HEALTH_PORT | typeof ANNOTATION_CREDENTIALS_PORT, fallback: number): number {
  const value = a.get(name)?.trim() ?? '';
  if (value === '') return fallback;
  if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) a.fail(name, `"${value}" is not a port (1-65535)`);
  return Number(value);
}

/** The agent's ports must be free in the pod: its containers share one network namespace. */
export function checkPortsFree(
  a: PodAnnotations,
  plan: { readonly ports: AgentPorts; readonly credentialsEndpoint: boolean; readonly mode: string },
  declared: readonly number[],
): void {
  if (plan.mode === 'init-only') return;
  const used: [typeof ANNOTATION_HEALTH_PORT | typeof ANNOTATION_CREDENTIALS_PORT, number][] = [
    [ANNOTATION_HEALTH_PORT, plan.ports.health],
  ];
  if (plan.credentialsEndpoint) used.push([ANNOTATION_CREDENTIALS_PORT, plan.ports.credentials]);
  for (const [name, port] of used) {
    if (declared.includes(port)) a.fail(name, `port ${port} is declared by a container of the pod: choose another with ${a.key(name)}`);
  }
}
