/**
 * The admission half that decides (STYLE.md "admission handler in two halves", after vault-k8s
 * `Mutate`): an AdmissionReview v1 request in, its response out, no IO. The HTTP half
 * (runtime/webhook-server.ts) only reads bytes, parses JSON and writes the answer.
 *
 *   parseAdmissionReview(value): AdmissionRequest      -> AdmissionDecodeError (HTTP 400)
 *   review(request, mutate): Reviewed                  ({response, outcome, error?})
 *   admissionReviewOf(response): object                the envelope the apiserver expects
 *
 * Domain errors (a BucketAgentError, e.g. the mutation's AnnotationError) become `allowed: false`
 * with the error's message, which kubectl shows; anything else is a bug, reported as outcome
 * `error` so the HTTP half answers 500 and the webhook's failurePolicy decides.
 */
import { BucketAgentError, EXIT } from '../errors.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_KIND = 'AdmissionReview';

/** The parts of an AdmissionReview v1 `request` read here. */
export interface AdmissionRequest {
  readonly uid: string;
  readonly kind?: { readonly group?: string; readonly version?: string; readonly kind?: string };
  readonly resource?: { readonly group?: string; readonly version?: string; readonly resource?: string };
  readonly subResource?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly operation?: string;
  readonly object?: unknown;
  readonly dryRun?: boolean;
}

export interface AdmissionStatus {
  readonly code: number;
  readonly reason: string;
  readonly message: string;
}

export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly patchType?: 'JSONPatch';
  /** base64 of the JSON patch (RFC 6902). */
  readonly patch?: string;
  readonly warnings?: readonly string[];
  readonly status?: AdmissionStatus;
}

/** What the review needs from the pure pod mutation (src/inject/mutate.ts PodMutation is one). */
export interface MutationOutcome {
  readonly patch: readonly object[];
  readonly warnings: readonly string[];
  readonly injected: boolean;
}

export interface MutationContext {
  /** The kind of the pod's controller (`Job`, `ReplicaSet`, ...), from its ownerReferences. */
  readonly ownerKind?: string;
}

export type MutateFn = (pod: unknown, context: MutationContext) => MutationOutcome;

/**
 * mutated: a patch was sent; unchanged: nothing to inject (no annotations, already injected);
 * refused: a domain error, `allowed: false`; skipped: not a Pod CREATE; error: a bug (HTTP 500).
 * The HTTP half adds bad-request and timeout.
 */
export type ReviewOutcome = 'mutated' | 'unchanged' | 'refused' | 'skipped' | 'error';

export interface Reviewed {
  readonly response: AdmissionResponse;
  readonly outcome: ReviewOutcome;
  /** outcome `error`: what was thrown, for the log. */
  readonly error?: unknown;
}

/** A request that is not an AdmissionReview v1 we can answer: HTTP 400 with this message. */
export class AdmissionDecodeError extends BucketAgentError {
  override readonly name: string = 'AdmissionDecodeError';
  constructor(message: string) {
    super('E_ADMISSION_DECODE', EXIT.usage, message);
  }
}

export function parseAdmissionReview(value: unknown): AdmissionRequest {
  if (!isRecord(value)) throw new AdmissionDecodeError('body is not a JSON object');
  if (value.kind !== ADMISSION_KIND || value.apiVersion !== ADMISSION_API_VERSION) {
    throw new AdmissionDecodeError(
      `expected kind ${ADMISSION_KIND} apiVersion ${ADMISSION_API_VERSION}, got kind ${describe(value.kind)} apiVersion ${describe(value.apiVersion)}`,
    );
  }
  const request = value.request;
  if (!isRecord(request)) throw new AdmissionDecodeError('AdmissionReview has no request');
  if (typeof request.uid !== 'string' || request.uid === '') throw new AdmissionDecodeError('request.uid is missing');
  if (request.operation === 'CREATE' && !isRecord(request.object)) throw new AdmissionDecodeError('request.object is not an object');
  return request as unknown as AdmissionRequest;
}

export function review(request: AdmissionRequest, mutate: MutateFn): Reviewed {
  const { uid } = request;
  if (!isPodCreate(request)) return { response: { uid, allowed: true }, outcome: 'skipped' };
  let mutation: MutationOutcome;
  try {
    mutation = mutate(request.object, contextOf(request.object));
  } catch (err) {
    if (!isRefusal(err)) return { response: { uid, allowed: false }, outcome: 'error', error: err };
    return {
      response: { uid, allowed: false, status: { code: 400, reason: 'BadRequest', message: err.message } },
      outcome: 'refused',
    };
  }
  const warnings = mutation.warnings.length === 0 ? {} : { warnings: [...mutation.warnings] };
  if (mutation.patch.length === 0) return { response: { uid, allowed: true, ...warnings }, outcome: 'unchanged' };
  const patch = Buffer.from(JSON.stringify(mutation.patch)).toString('base64');
  return { response: { uid, allowed: true, patchType: 'JSONPatch', patch, ...warnings }, outcome: 'mutated' };
}

export function admissionReviewOf(response: AdmissionResponse): object {
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response };
}

/** Who the request is about, for the per-request logger: never the object itself. */
export function requestFields(request: AdmissionRequest): { uid: string; namespace?: string; name?: string } {
  const metadata = isRecord(request.object) && isRecord(request.object.metadata) ? request.object.metadata : {};
  const name = nonEmpty(request.name) ?? nonEmpty(metadata.name) ?? generated(metadata.generateName);
  return { uid: request.uid, namespace: nonEmpty(request.namespace), name };
}

function isPodCreate(request: AdmissionRequest): boolean {
  const isPod = request.kind?.kind === 'Pod' && (request.kind.group ?? '') === '';
  return isPod && request.operation === 'CREATE' && (request.subResource ?? '') === '';
}

/** The controller's kind, else the first owner's: `Job` makes a classic sidecar init-only. */
function contextOf(pod: unknown): MutationContext {
  const metadata = isRecord(pod) && isRecord(pod.metadata) ? pod.metadata : {};
  const owners = Array.isArray(metadata.ownerReferences) ? metadata.ownerReferences.filter(isRecord) : [];
  const owner = owners.find((o) => o.controller === true) ?? owners[0];
  return typeof owner?.kind === 'string' ? { ownerKind: owner.kind } : {};
}

function isRefusal(err: unknown): err is Error {
  return err instanceof BucketAgentError || (err instanceof Error && err.name === 'AnnotationError');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function generated(prefix: unknown): string | undefined {
  return typeof prefix === 'string' && prefix !== '' ? `${prefix}*` : undefined;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 64)) : typeof value;
}
