/**
 * The words init uses while waiting and when it gives up: pure functions of what the watches saw,
 * so they are tested with plain tables. Nothing here can see Secret data.
 */
import { describeReady, isFailed, type ReadyCondition } from '../credentials/index.js';

/** What is known about a Bucket object. */
export type BucketApiState =
  | { readonly kind: 'unknown' }
  | { readonly kind: 'absent' }
  | { readonly kind: 'present'; readonly ready: ReadyCondition | undefined }
  /** Not served or forbidden: waiting on the Secret alone. */
  | { readonly kind: 'unreadable'; readonly why: string }
  /** A transient failure reading it; retried. */
  | { readonly kind: 'trouble'; readonly why: string };

/** One bucket's waiting state, as the report functions see it. */
export interface BucketView {
  readonly name: string;
  readonly namespace: string;
  /** Secret names in lookup order (DESIGN.md "Where credentials come from"). */
  readonly candidates: readonly string[];
  readonly bucket: BucketApiState;
  /** The Secret credentials were taken from, once there is one. */
  readonly secret: string | undefined;
  /** Candidates this service account may not read (counted as absent). */
  readonly denied: readonly string[];
  /** Why the Secret that exists cannot be used (a CredentialsError message: names fields, never values). */
  readonly problem: string | undefined;
  /** The last transient apiserver failure while watching the Secrets, if it is not over. */
  readonly trouble: string | undefined;
}

/** `waiting for Secret bucket-x (or bucket-x-credentials) in tenant-a: Bucket Ready=False (InstallFailed) for 2m10s`. */
export function progressLine(view: BucketView, elapsedMs: number): string {
  return `${waitingFor(view)}: ${stateWords(view)} for ${formatDuration(elapsedMs)}`;
}

/** The same without the duration: an Event message, which Kubernetes aggregates by content. */
export function waitingMessage(view: BucketView): string {
  return `${waitingFor(view)}: ${stateWords(view)}`;
}

/** `Bucket backup in tenant-a Ready=False (InstallFailed): <message>`. */
export function failedMessage(view: BucketView, ready: ReadyCondition): string {
  return `Bucket ${view.name} in ${view.namespace} ${describeReady(ready)}${ready.message === undefined ? '' : `: ${ready.message}`}`;
}

/** The one-paragraph summary printed when the timeout is reached. */
export function timeoutSummary(views: readonly BucketView[], timeoutMs: number): string {
  const waiting = views.filter((view) => view.secret === undefined);
  const ready = views.filter((view) => view.secret !== undefined);
  const head = `timed out after ${formatDuration(timeoutMs)} waiting for the credentials of ${waiting.length} of ${views.length} bucket(s).`;
  const done =
    ready.length === 0
      ? []
      : [
          `Ready: ${ready.map((view) => `${view.name} (Secret ${view.secret ?? ''})`).join(', ')}; nothing was written, all buckets or none.`,
        ];
  return [head, ...waiting.map(bucketSummary), ...done].join(' ');
}

function bucketSummary(view: BucketView): string {
  const where = `Bucket ${view.name} in namespace ${view.namespace}`;
  const secrets = `none of the Secrets ${view.candidates.join(', ')} appeared`;
  const extras = [
    view.problem === undefined ? '' : ` A Secret exists but cannot be used: ${view.problem}.`,
    view.trouble === undefined ? '' : ` Last apiserver error: ${view.trouble}.`,
    view.denied.length === 0 ? '' : ` Not readable with these credentials, so counted as absent: ${view.denied.join(', ')}.`,
  ].join('');
  const secretPart = view.problem === undefined ? `; ${secrets}` : '';
  switch (view.bucket.kind) {
    case 'absent':
      return `${where}: no such Bucket object${secretPart} (check the name and namespace).${extras}`;
    case 'present':
      return `${where}: ${presentWords(view.bucket.ready)}${secretPart}.${extras}`;
    case 'unreadable':
      return `${where}: its status could not be read (${view.bucket.why}), so only the Secret was watched${secretPart}.${extras}`;
    case 'trouble':
      return `${where}: its status could not be read (${view.bucket.why})${secretPart}.${extras}`;
    default:
      return `${where}: status never read${secretPart}.${extras}`;
  }
}

function presentWords(ready: ReadyCondition | undefined): string {
  if (ready === undefined) return 'the Bucket exists but reports no Ready condition';
  const since = ready.lastTransitionTime === undefined ? '' : ` since ${ready.lastTransitionTime}`;
  const message = ready.message === undefined ? '' : `: ${ready.message}`;
  if (isFailed(ready)) return `the platform reports ${describeReady(ready)}${message}${since}`;
  if (ready.status === 'True') return `the Bucket is Ready=True (installed), but the platform has not written its credentials`;
  return `the Bucket is ${describeReady(ready)}${message}${since}`;
}

function waitingFor(view: BucketView): string {
  const [first, ...others] = view.candidates;
  const alternatives = others.length === 0 ? '' : ` (or ${others.join(', ')})`;
  return `waiting for Secret ${first ?? ''}${alternatives} in ${view.namespace}`;
}

function stateWords(view: BucketView): string {
  const parts = [bucketWords(view)];
  if (view.problem !== undefined) parts.push(`the Secret is there but cannot be used: ${view.problem}`);
  if (view.trouble !== undefined) parts.push(`apiserver trouble: ${view.trouble}`);
  if (view.denied.length > 0) parts.push(`not readable, counted as absent: ${view.denied.join(', ')}`);
  return parts.join('; ');
}

function bucketWords(view: BucketView): string {
  switch (view.bucket.kind) {
    case 'absent':
      return `Bucket ${view.name} not found`;
    case 'present':
      return `Bucket ${describeReady(view.bucket.ready)}`;
    case 'unreadable':
      return 'Bucket status not readable, watching the Secret alone';
    case 'trouble':
      return `Bucket status unavailable (${view.bucket.why})`;
    default:
      return 'Bucket status not read yet';
  }
}

/** 130_000 -> `2m10s`; 45_000 -> `45s`; 3_723_000 -> `1h2m3s`; 800 -> `0.8s`. */
export function formatDuration(ms: number): string {
  if (ms < 10_000 && ms % 1000 !== 0) return `${(ms / 1000).toFixed(1).replace(/\.0$/, '')}s`;
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  return m > 0 ? `${m}m${s}s` : `${s}s`;
}
