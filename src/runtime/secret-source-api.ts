/**
 * The `api` SecretSource: each candidate followed through the apiserver by name (list + watch,
 * kube/watch-object.ts), which is what RBAC rules with `resourceNames` allow.
 */
import type { KubeClient } from '../kube/client.js';
import { SECRETS } from '../kube/resources.js';
import { watchObject } from '../kube/watch-object.js';
import type { FollowOptions, Liveness, SecretFollower, SecretHandlers, SecretSource } from './secret-source.js';

export interface ApiSourceOptions {
  readonly client: KubeClient;
  readonly namespace: string;
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
  const { client, namespace } = options;
  {
    let liveness: Liveness = { lastProgressAt: performance.now(), state: 'listing' };
    const watch = watchObject({
      client,
      resource: SECRETS,
      namespace,
      name,
      onState: (object) => {
        liveness = { lastProgressAt: performance.now(), state: 'watching' };
        handlers.onState(object);
      },
      onFatal: (err) => {
        liveness = { ...liveness, state: 'stopped' };
        handlers.onUnreadable(err);
      },
      onRetry: (err, retryInMs) => {
        liveness = { ...liveness, state: 'backing-off' };
        handlers.onRetry(err, retryInMs);
      },
      beforeWatch: follow.beforeWatch === undefined ? undefined : () => follow.beforeWatch?.() ?? Promise.resolve(),
    });
    return {
      stop: () => {
        liveness = { ...liveness, state: 'stopped' };
        watch.stop();
      },
      liveness: () => liveness,
    };
  }
}
