/**
 * The `api` SecretSource: each candidate followed through the apiserver by name (list + watch,
 * kube/watch-object.ts), which is what RBAC rules with `resourceNames` allow. Liveness and
 * restarts come from the watch loop itself.
 */
import type { KubeClient } from '../kube/client.js';
import { SECRETS } from '../kube/resources.js';
import { watchObject, type RereadOutcome, type RestartReason, type WatchTimings } from '../kube/watch-object.js';
import type { FollowOptions, SecretFollower, SecretHandlers, SecretSource } from './secret-source.js';

export interface ApiSourceOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  /** The safety re-read of each candidate; undefined keeps the watch loop's default (10 min). */
  readonly resyncMs?: number;
  /** A denied candidate keeps being retried (slowly): the sidecar outlives a broken RoleBinding. */
  readonly retryDenied?: boolean;
  /** Each time a candidate's watch loop starts over, with why (metrics). */
  onRestart?(reason: RestartReason): void;
  /** After each safety re-read of a candidate (metrics). */
  onReread?(outcome: RereadOutcome): void;
  readonly timings?: Partial<WatchTimings>;
}

export function createApiSource(options: ApiSourceOptions): SecretSource {
  return {
    kind: 'api',
    description: `apiserver ${options.client.server}`,
    follow: (name, handlers, follow) => followSecret(options, name, handlers, follow),
    // The client belongs to the caller, who closes it.
    close: () => Promise.resolve(),
  };
}

function followSecret(options: ApiSourceOptions, name: string, handlers: SecretHandlers, follow: FollowOptions = {}): SecretFollower {
  const timings = options.resyncMs === undefined ? options.timings : { ...options.timings, resyncMs: options.resyncMs };
  return watchObject({
    client: options.client,
    resource: SECRETS,
    namespace: options.namespace,
    name,
    onState: (object) => handlers.onState(object),
    onFatal: (err) => handlers.onUnreadable(err),
    onRetry: (err, retryInMs) => handlers.onRetry(err, retryInMs),
    // A denial is an answer: the candidate is unreadable (absent) while it lasts.
    onDenied: (err) => handlers.onUnreadable(err),
    retryDenied: options.retryDenied,
    onRestart: (reason) => options.onRestart?.(reason),
    onReread: (outcome) => options.onReread?.(outcome),
    beforeWatch: follow.beforeWatch === undefined ? undefined : () => follow.beforeWatch?.() ?? Promise.resolve(),
    timings,
  });
}
