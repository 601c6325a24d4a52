/**
 * Typed errors. Every error the tool raises on purpose is a BucketAgentError with a stable `code`
 * and the process exit code it maps to; `cli.ts` is the only place that turns one into an exit.
 *
 * Messages name the field and the Secret at fault and never carry a credential value.
 */

/** Process exit codes, documented in docs/exit-codes.md. */
export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  invalidCredentials: 3,
  output: 4,
  timeout: 5,
  kubeAccess: 6,
  verifyFailed: 7,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface ErrorOptions {
  cause?: unknown;
}

/**
 * Each class states its `name`: the bundle is minified without keepNames (scripts/bundle.mjs), so
 * a constructor's own name would not survive it.
 */
export class BucketAgentError extends Error {
  override readonly name: string = 'BucketAgentError';
  readonly code: string;
  readonly exitCode: ExitCode;

  constructor(code: string, exitCode: ExitCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** Bad flags, missing arguments, unreadable input files named on the command line. */
export class UsageError extends BucketAgentError {
  override readonly name: string = 'UsageError';
  constructor(message: string, options: ErrorOptions = {}) {
    super('E_USAGE', EXIT.usage, message, options);
  }
}

/**
 * A Secret or BucketInfo payload that cannot become credentials: not JSON, a missing field, an
 * unsupported protocol, an endpoint that is not http(s)://host[:port], a name that is not a DNS-1123
 * label, or a value no output format can carry safely.
 */
export class CredentialsError extends BucketAgentError {
  override readonly name: string = 'CredentialsError';
  /** The Secret (or file) the problem is in, e.g. `secret tenant-a/bucket-backup`. */
  readonly source: string;
  /** The offending field, e.g. `BucketInfo.spec.secretS3.endpoint`. */
  readonly field: string | undefined;

  constructor(source: string, field: string | undefined, problem: string) {
    super('E_CREDENTIALS', EXIT.invalidCredentials, `${source}: ${field === undefined ? '' : `${field}: `}${problem}`);
    this.source = source;
    this.field = field;
  }
}

/**
 * A pod's injection label or annotations that cannot be honoured (a bad value, a contradiction, a
 * name taken). The message names the annotation and why, e.g. `bucket-agent.io/buckets: "Bad_Name"
 * is not a valid Bucket name (...)`: the webhook refuses the admission with it, and `inject` exits
 * with `usage` (the manifest is bad input, as a bad flag is) after naming the document and object.
 */
export class AnnotationError extends BucketAgentError {
  override readonly name: string = 'AnnotationError';
  /** The full key at fault, e.g. `bucket-agent.io/buckets` (or the opt-in label's). */
  readonly annotation: string;
  readonly problem: string;
  /** Where the pod is, outermost first (`document 2: Deployment web`); undefined for a bare pod. */
  readonly where: string | undefined;

  constructor(annotation: string, problem: string, where?: string) {
    super('E_ANNOTATION', EXIT.usage, `${where === undefined ? '' : `${where}: `}${annotation}: ${problem}`);
    this.annotation = annotation;
    this.problem = problem;
    this.where = where;
  }

  /** The same error, its message led by one more level of where the pod is. */
  at(outer: string): AnnotationError {
    return new AnnotationError(this.annotation, this.problem, this.where === undefined ? outer : `${outer}: ${this.where}`);
  }
}

/** The output directory could not be written; the previous render is left untouched. */
export class OutputError extends BucketAgentError {
  override readonly name: string = 'OutputError';
  constructor(message: string, options: ErrorOptions = {}) {
    super('E_OUTPUT', EXIT.output, message, options);
  }
}

/** Gave up waiting (for a Bucket, its Secret, valid keys) after the configured timeout. */
export class TimeoutError extends BucketAgentError {
  override readonly name: string = 'TimeoutError';
  constructor(message: string, options: ErrorOptions = {}) {
    super('E_TIMEOUT', EXIT.timeout, message, options);
  }
}

/**
 * The Kubernetes API refused or could not be used: RBAC denial (the message names verb, resource
 * and namespace), a kubeconfig that cannot be loaded, an unexpected API error.
 */
export class KubeAccessError extends BucketAgentError {
  override readonly name: string = 'KubeAccessError';
  constructor(message: string, options: ErrorOptions = {}) {
    super('E_KUBE_ACCESS', EXIT.kubeAccess, message, options);
  }
}

/** The keys were rejected by S3 (or S3 could not be reached) when verified. */
export class VerifyError extends BucketAgentError {
  override readonly name: string = 'VerifyError';
  /** Machine-readable class: unknown-key, bad-signature, no-bucket, access-denied, tls, dns, connection, other. */
  readonly reason: string;

  constructor(reason: string, message: string, options: ErrorOptions = {}) {
    super('E_VERIFY', EXIT.verifyFailed, message, options);
    this.reason = reason;
  }
}

/**
 * The `code` of a Node system error (`ENOENT`, `ECONNREFUSED`, `CERT_HAS_EXPIRED`), looked up
 * through wrappers: an AggregateError (happy eyeballs over several addresses) keeps the
 * per-address errors inside, and wrapped errors keep theirs in `cause`.
 */
export function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code !== '') return code;
  const inner = (err as { errors?: unknown }).errors;
  return Array.isArray(inner) ? errorCode(inner[0]) : errorCode((err as { cause?: unknown }).cause);
}
