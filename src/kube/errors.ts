/**
 * The one place that turns an apiserver answer or a transport failure into a typed error.
 * Messages name the verb, resource and namespace; they carry the apiserver's Status message (which
 * never holds Secret data) and never a request or response body.
 */
import { oneLine } from '../credentials/index.js';
import { KubeAccessError } from '../errors.js';
import { describeTarget, resourceName, type ApiTarget } from './resources.js';

/** The parts of a `metav1.Status` read here. */
export interface KubeStatus {
  readonly code?: number;
  readonly reason?: string;
  readonly message?: string;
}

/** Status messages are plain text from the apiserver; one bounded line keeps logs tidy. */
const MAX_DETAIL = 400;

/** A non-2xx answer from the apiserver. */
export class KubeApiError extends KubeAccessError {
  override readonly name: string = 'KubeApiError';
  readonly status: number;
  readonly reason: string | undefined;
  readonly target: ApiTarget;

  constructor(status: number, target: ApiTarget, body: KubeStatus) {
    super(apiErrorMessage(status, target, body));
    this.status = status;
    this.reason = body.reason;
    this.target = target;
  }

  /** Worth retrying after a pause: throttling, apiserver or aggregated API trouble, timeouts. */
  get transient(): boolean {
    return this.status === 429 || this.status >= 500 || this.status === 408;
  }

  /** RBAC or authentication said no: retrying will not help. */
  get denied(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

/** The apiserver could not be reached or the connection broke: always worth retrying. */
export class KubeConnectionError extends KubeAccessError {
  override readonly name: string = 'KubeConnectionError';
  readonly target: ApiTarget;
  readonly transient = true;

  constructor(server: string, target: ApiTarget, cause: unknown) {
    super(`cannot ${describeTarget(target)}: apiserver ${server} unreachable: ${transportProblem(cause)}`, { cause });
    this.target = target;
  }
}

/** True for errors a watch loop should ride out with a back-off. */
export function isTransient(err: unknown): boolean {
  return err instanceof KubeConnectionError || (err instanceof KubeApiError && err.transient);
}

function apiErrorMessage(status: number, target: ApiTarget, body: KubeStatus): string {
  const detail = oneLine(body.message ?? '', MAX_DETAIL);
  const said = detail === '' ? '' : ` (apiserver: ${detail})`;
  if (status === 403) {
    return `permission denied: cannot ${describeTarget(target)}${said}. ` +
      `Grant it with a Role rule: apiGroups ["${target.resource.group}"], resources ["${target.resource.plural}"], verbs ["${target.verb}"]`;
  }
  if (status === 401) return `unauthorized: the apiserver rejected the kubeconfig's credentials trying to ${describeTarget(target)}${said}`;
  if (status === 404 && target.name === undefined) return `${resourceName(target.resource)} is not served by this apiserver${said}`;
  if (status === 404) return `${target.resource.kind} "${target.name}" not found in namespace ${target.namespace}`;
  return `cannot ${describeTarget(target)}: HTTP ${status} ${body.reason ?? ''}${said}`.replace(/ {2,}/g, ' ');
}

/** Node's transport errors in a few words: `ECONNREFUSED`, `certificate has expired (CERT_HAS_EXPIRED)`. */
export function transportProblem(cause: unknown): string {
  if (!(cause instanceof Error)) return 'unknown error';
  const code = (cause as NodeJS.ErrnoException).code;
  const message = oneLine(cause.message, MAX_DETAIL);
  if (code === undefined) return message;
  return message.includes(code) ? message : `${message} (${code})`;
}

