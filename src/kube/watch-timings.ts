/**
 * What watch-object.ts reports (liveness, restart reasons, re-read outcomes) and the timings it
 * runs on, with their defaults: the vocabulary the sidecar's /healthz and metrics are built from.
 */
import { DEFAULT_WATCH_IDLE_TIMEOUT_MS } from './watch-stream.js';

/** Progress of one follower, for `/healthz`: stuck means no progress for longer than it should take. */
export interface Liveness {
  /** `performance.now()` of the last list, watch event, bookmark, re-read or file event. */
  readonly lastProgressAt: number;
  readonly state: 'starting' | 'listing' | 'watching' | 'backing-off' | 'stopped';
}

/**
 * Why the loop started over, for counting restarts: `timeout` is the routine end of a watch at its
 * `timeoutSeconds`; the others are trouble.
 */
export type RestartReason = 'gone' | 'stall' | 'error' | 'timeout' | 'denied';

/**
 * What a safety re-read found: `changed` means the watch had missed something (now delivered);
 * `superseded` that a watch event arrived while the GET was out, so its older answer was dropped.
 */
export type RereadOutcome = 'unchanged' | 'changed' | 'superseded' | 'failed';

export interface BackoffTimings {
  readonly initialMs: number;
  readonly maxMs: number;
}

export interface WatchTimings {
  /** Server-side length of one watch; a fresh watch each time also re-reads a rotated token. */
  readonly watchTimeoutSeconds: number;
  /** Silence (not even a bookmark) after which a watch is taken for dead. */
  readonly idleTimeoutMs: number;
  /** A GET this often even while the watch is healthy, so a lost event cannot stick; 0: never. */
  readonly resyncMs: number;
  /** After a transient failure, or a watch that ended too soon. */
  readonly retry: BackoffTimings;
  /** Between attempts that were denied, with `retryDenied`. */
  readonly deniedRetry: BackoffTimings;
  /** A watch that ends sooner than this without an error counts as trouble, to avoid a tight loop. */
  readonly minHealthyWatchMs: number;
}

export const DEFAULT_WATCH_TIMEOUT_SECONDS = 240;
/** The sidecar's safety re-read (DESIGN.md: at most one GET per candidate per 10 minutes). */
export const DEFAULT_RESYNC_MS = 10 * 60_000;
export const DEFAULT_RETRY: BackoffTimings = Object.freeze({ initialMs: 500, maxMs: 30_000 });
/** Slow: a fixed RoleBinding or token is picked up within a minute, without hammering the apiserver. */
export const DEFAULT_DENIED_RETRY: BackoffTimings = Object.freeze({ initialMs: 2_000, maxMs: 60_000 });
export const DEFAULT_MIN_HEALTHY_WATCH_MS = 1_000;
/** A Retry-After beyond this is taken as this: a misconfigured proxy must not park the loop for hours. */
export const MAX_RETRY_AFTER_MS = 5 * 60_000;

export const DEFAULT_WATCH_TIMINGS: WatchTimings = Object.freeze({
  watchTimeoutSeconds: DEFAULT_WATCH_TIMEOUT_SECONDS,
  idleTimeoutMs: DEFAULT_WATCH_IDLE_TIMEOUT_MS,
  resyncMs: DEFAULT_RESYNC_MS,
  retry: DEFAULT_RETRY,
  deniedRetry: DEFAULT_DENIED_RETRY,
  minHealthyWatchMs: DEFAULT_MIN_HEALTHY_WATCH_MS,
});
