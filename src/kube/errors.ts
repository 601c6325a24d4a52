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
  /** `details.retryAfterSeconds`, or the `Retry-After` header of the answer that carried the Status. */
  readonly retryAfterSeconds?: number;
}

/** Status messages are plain text from the apiserver; one bounded line keeps logs tidy. */
const MAX_DETAIL = 400;

/** A non-2xx answer from the apiserver. */
export class KubeApiError extends KubeAccessError {
  override readonly name: string = 'KubeApiError';
  readonly status: number;
  readonly reason: string | undefined;
  readonly target: ApiTarget;
  /** How long the apiserver asked us to wait before trying again (429, 503, some watch ERRORs). */
  readonly retryAfterMs: number | undefined;

  constructor(status: number, target: ApiTarget, body: KubeStatus) {
    super(apiErrorMessage(status, target, body));
    this.status = status;
    this.reason = body.reason;
    this.target = target;
    this.retryAfterMs = body.retryAfterSeconds === undefined ? undefined : body.retryAfterSeconds * 1000;
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

/**
 * The apiserver could not be reached or the connection broke: worth retrying, unless the server's
 * certificate is not trusted or the proxy denied the tunnel, which no retry mends (kubectl, too,
 * gives up at once) and which the kubeconfig's CA, tls-server-name or proxy settings must fix.
 */
export class KubeConnectionError extends KubeAccessError {
  override readonly name: string = 'KubeConnectionError';
  readonly target: ApiTarget;
  readonly transient: boolean;

  constructor(server: string, target: ApiTarget, cause: unknown) {
    const final = finalProblem(cause);
    super(
      final === undefined
        ? `cannot ${describeTarget(target)}: apiserver ${server} unreachable: ${transportProblem(cause)}`
        : `cannot ${describeTarget(target)}: ${final(server)}`,
      { cause },
    );
    this.target = target;
    this.transient = final === undefined;
  }
}

/** node's codes for a server certificate that does not verify against the CA or the name. */
const UNTRUSTED_CERTIFICATE = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The words for a failure no retry mends, or undefined. Expired certificates get renewed: transient. */
function finalProblem(cause: unknown): ((server: string) => string) | undefined {
  const { code, status } = (cause ?? {}) as { code?: unknown; status?: unknown };
  if (typeof code === 'string' && UNTRUSTED_CERTIFICATE.has(code)) {
    return (server) =>
      `the certificate of apiserver ${server} is not trusted: ${transportProblem(cause)}; check certificate-authority(-data) and tls-server-name in the kubeconfig`;
  }
  if (code === 'EPROXYCONNECT' && (status === 403 || status === 407)) {
    return () => `${transportProblem(cause)}; check the proxy (proxy-url in the kubeconfig, or HTTPS_PROXY) and its credentials`;
  }
  return undefined;
}

/**
 * A watch that went silent for longer than the apiserver's bookmark interval allows: the
 * connection is taken for dead (half-open, a lost NAT entry) and the watch is started again.
 */
export class WatchStalledError extends KubeConnectionError {
  override readonly name: string = 'WatchStalledError';

  constructor(server: string, target: ApiTarget, idleMs: number) {
    super(server, target, new Error(`watch stalled: nothing from the apiserver for ${Math.round(idleMs / 1000)} s`));
  }
}

/** True for errors a watch loop should ride out with a back-off. */
export function isTransient(err: unknown): boolean {
  return (err instanceof KubeConnectionError || err instanceof KubeApiError) && err.transient;
}

/**
 * The Status in an error answer's body, with the wait the apiserver asked for: the `Retry-After`
 * header (seconds, or an HTTP date) wins over `details.retryAfterSeconds`.
 */
export function parseStatus(body: Buffer, retryAfterHeader?: string): KubeStatus {
  const status = statusFields(body);
  const retryAfterSeconds = parseRetryAfter(retryAfterHeader) ?? status.retryAfterSeconds;
  return retryAfterSeconds === undefined ? status : { ...status, retryAfterSeconds };
}

function statusFields(body: Buffer): KubeStatus {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    // Not a Status (a proxy's HTML page, "404 page not found"): the status code says enough.
    return {};
  }
  return statusFrom(parsed);
}

/** The fields of a Status object (an error body, or a watch ERROR event's object), type-checked. */
export function statusFrom(value: unknown): KubeStatus {
  if (typeof value !== 'object' || value === null) return {};
  const { code, reason, message, details } = value as Record<string, unknown>;
  const retry = typeof details === 'object' && details !== null ? (details as Record<string, unknown>).retryAfterSeconds : undefined;
  return {
    code: typeof code === 'number' ? code : undefined,
    reason: typeof reason === 'string' ? reason : undefined,
    message: typeof message === 'string' ? message : undefined,
    retryAfterSeconds: typeof retry === 'number' && retry > 0 ? retry : undefined,
  };
}

/** RFC 9110 `Retry-After`: delay-seconds or an HTTP date; anything else is ignored. */
function parseRetryAfter(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  if (/^\s*\d+\s*$/.test(header)) return Number(header);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - Date.now()) / 1000);
}

function apiErrorMessage(status: number, target: ApiTarget, body: KubeStatus): string {
  const detail = oneLine(body.message ?? '', MAX_DETAIL);
  const said = detail === '' ? '' : ` (apiserver: ${detail})`;
  if (status === 403) {
    return (
      `permission denied: cannot ${describeTarget(target)}${said}. ` +
      `Grant it with a Role rule: apiGroups ["${target.resource.group}"], resources ["${target.resource.plural}"], verbs ["${target.verb}"]`
    );
  }
  if (status === 401) return `unauthorized: the apiserver rejected the kubeconfig's credentials trying to ${describeTarget(target)}${said}`;
  if (status === 404 && target.name === undefined) return `${resourceName(target.resource)} is not served by this apiserver${said}`;
  if (status === 404)
    return `${target.resource.kind} "${target.name}" not found${target.namespace === '' ? '' : ` in namespace ${target.namespace}`}`;
  return otherStatusMessage(status, target, body, said);
}

function otherStatusMessage(status: number, target: ApiTarget, body: KubeStatus, said: string): string {
  if (status === 400 && body.reason === undefined && body.message === undefined) {
    // What an https apiserver answers to plain http (a server written without https://).
    return `cannot ${describeTarget(target)}: HTTP 400 without a Kubernetes Status: check the scheme of the kubeconfig's server (an https apiserver answers plain http so)`;
  }
  return `cannot ${describeTarget(target)}: HTTP ${status} ${body.reason ?? ''}${said}`.replace(/ {2,}/g, ' ');
}

/** Node's transport errors in a few words: `ECONNREFUSED`, `certificate has expired (CERT_HAS_EXPIRED)`. */
export function transportProblem(cause: unknown): string {
  if (!(cause instanceof Error)) return 'unknown error';
  const code = (cause as NodeJS.ErrnoException).code;
  const message = oneLine(cause.message, MAX_DETAIL);
  // A proxy's refusal (proxy.ts) already says all; its code is for classifying, not for people.
  if (code === undefined || code === 'EPROXYCONNECT') return message;
  return message.includes(code) ? message : `${message} (${code})`;
}
