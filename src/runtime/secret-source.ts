/**
 * Where a bucket's Secret candidates are read from. `init` and `sidecar` follow the same candidates
 * the same way; only the source differs:
 *
 * - `api`: each candidate followed through the apiserver (list + watch by name, kube/watch-object.ts);
 * - `volume`: each candidate read from a kubelet-mounted Secret volume `<secrets-dir>/<name>/`
 *   (one file per key, the kubelet's `..data` swap), watched on disk (files/secret-volume.ts).
 *
 * Either way a follower reports the candidate's whole state after every change, so the consumer
 * (the bucket waiter) never has to know which source it is reading.
 */
import type { SecretObject } from '../credentials/index.js';
import type { BucketAgentError } from '../errors.js';
import type { Liveness } from '../kube/watch-object.js';

export type SourceKind = 'api' | 'volume';

export interface SecretHandlers {
  /** After the first read and after every change: the Secret, or undefined when it does not exist (now). */
  onState(secret: SecretObject | undefined): void;
  /**
   * This candidate cannot be read at all (access denied, resource not served) and the follower
   * has stopped, or (with `retryDenied`) keeps trying at a slow pace. It counts as absent.
   */
  onUnreadable(err: BucketAgentError): void;
  /** A transient failure; the follower tries again after `retryInMs`. */
  onRetry(err: unknown, retryInMs: number): void;
}

export interface FollowOptions {
  /**
   * Awaited after the first read, before a long-lived watch is opened: lets the caller decide
   * from the first reads of several candidates (and stop) before any watch connection exists.
   */
  beforeWatch?(): Promise<void>;
}

/**
 * Progress of one follower, for `/healthz`. Declared beside the api follower (kube/ must not import
 * runtime/); a volume follower reports the same shape.
 */
export type { Liveness } from '../kube/watch-object.js';

export interface SecretFollower {
  stop(): void;
  liveness(): Liveness;
}

export interface SecretSource {
  readonly kind: SourceKind;
  /** Human words for logs: `apiserver https://...`, `Secret volumes under /secrets`. */
  readonly description: string;
  follow(name: string, handlers: SecretHandlers, options?: FollowOptions): SecretFollower;
  /** Releases connections and file watchers; followers are stopped first by their owners. */
  close(): Promise<void>;
}
