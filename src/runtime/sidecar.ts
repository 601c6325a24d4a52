/**
 * `bucket-agent sidecar`: follows the credentials for as long as the pod lives. The same bucket
 * waiters as init (one per bucket, following every Secret candidate through a SecretSource) feed
 * the render loop (sidecar-loop.ts); /healthz, /readyz and /metrics report on both; the AWS
 * container-credentials endpoint serves the keys the files hold. Runs until `signal` aborts
 * (SIGTERM), then closes everything within a second or two; the files stay as they are.
 */
import type { SidecarConfig } from '../config/sidecar.js';
import { KubeClient } from '../kube/client.js';
import { createEventRecorder, NO_EVENTS, type EventRecorder } from '../kube/events.js';
import { loadKubeConfig } from '../kube/kubeconfig.js';
import type { RereadOutcome, RestartReason } from '../kube/watch-object.js';
import type { Logger } from '../log.js';
import { DEFAULT_EXPIRATION_POLICY, generateToken, startCredentialsEndpoint } from './credentials-endpoint.js';
import { startHealthServer } from './health-server.js';
import type { RunningServer } from './http-server.js';
import { BucketWaiter } from './init-bucket.js';
import { waiterContext } from './init.js';
import { verifyPlanFrom } from './init-verify.js';
import { createSidecarMetrics, type SidecarMetrics } from './metrics.js';
import { writerFor } from './render.js';
import { SidecarLoop } from './sidecar-loop.js';
import { openSource, type OpenedSource } from './source.js';

/** `root` is the root logger: the servers and the notify runner name their own component. */
export async function runSidecar(config: SidecarConfig, root: Logger, signal: AbortSignal): Promise<void> {
  const log = root.child({ component: 'sidecar' });
  const plan = config.verify === undefined ? undefined : await verifyPlanFrom(config.verify);
  const metrics = createSidecarMetrics();
  const onReread = (outcome: RereadOutcome): void => {
    metrics.rereads.inc({ outcome });
    if (outcome === 'changed') log.warn('the safety re-read found a change the watch had not delivered; following it now');
  };
  const onRestart = (reason: RestartReason): void => metrics.watchRestarts.inc({ reason });
  const opened = await openSource({ ...config, retryDenied: true, onRestart, onReread }, log);
  const events = await eventsFor(config, opened, log);
  const token = config.credentialsListen === undefined ? undefined : generateToken();
  const waiters: BucketWaiter[] = [];
  const loop = new SidecarLoop({
    waiters,
    writer: writerFor(config.output),
    output: config.output,
    notify: config.notify,
    token,
    verify: plan,
    metrics,
    events,
    env: config.env,
    log,
    notifyLog: root,
  });
  const ctx = waiterContext(
    { source: opened.source, client: opened.client, namespace: opened.namespace, user: config.user, onUpdate: () => loop.schedule() },
    log,
    events,
  );
  waiters.push(...config.buckets.map((request) => new BucketWaiter(request, ctx)));
  const servers: RunningServer[] = [];
  try {
    servers.push(await healthServer(config, { waiters, loop, metrics, log: root }));
    if (config.credentialsListen !== undefined && token !== undefined) {
      servers.push(
        await startCredentialsEndpoint({
          listen: config.credentialsListen,
          token,
          lookup: (alias) => loop.credentialsOf(alias),
          onAnswer: (code) => metrics.credentialsRequests.inc({ code }),
          expiration: { ...DEFAULT_EXPIRATION_POLICY, refetchAfterSeconds: Math.max(1, Math.round(config.credentialsRefreshMs / 1000)) },
          log: root,
        }),
      );
    }
    log.info(
      { buckets: config.buckets.map((b) => b.name), source: opened.source.kind, listen: servers.map((s) => s.url) },
      `following credentials through ${opened.source.description}`,
    );
    for (const waiter of waiters) waiter.start();
    await untilAborted(signal);
    log.info('stopping');
  } finally {
    for (const waiter of waiters) waiter.stop();
    await Promise.allSettled([...servers.map((s) => s.close()), opened.source.close(), events.flush()]);
    opened.close();
  }
}

interface Reporters {
  readonly waiters: readonly BucketWaiter[];
  readonly loop: SidecarLoop;
  readonly metrics: SidecarMetrics;
  readonly log: Logger;
}

function healthServer(config: SidecarConfig, r: Reporters): Promise<RunningServer> {
  return startHealthServer({
    listen: config.listen,
    health: () => {
      const now = performance.now();
      const stuck = r.waiters
        .flatMap((w) => w.secretFollowers().map((f, i) => ({ secret: w.view().candidates[i] ?? '', ...f.liveness() })))
        .filter((f) => f.state !== 'stopped' && now - f.lastProgressAt > config.stuckAfterMs)
        .map((f) => ({ secret: f.secret, state: f.state, silentForSeconds: Math.round((now - f.lastProgressAt) / 1000) }));
      return { healthy: stuck.length === 0, detail: stuck.length === 0 ? { loop: 'making progress' } : { stuck } };
    },
    ready: () => ({ ready: r.loop.ready, detail: { buckets: r.loop.report() } }),
    metrics: () => r.metrics.render(),
    metricsContentType: r.metrics.contentType,
    log: r.log,
  });
}

/** Events on the pod when the downward API names it and the pod's own cluster is reachable. */
async function eventsFor(config: SidecarConfig, opened: OpenedSource, log: Logger): Promise<EventRecorder> {
  if (config.pod === undefined) return NO_EVENTS;
  if (opened.client !== undefined && config.eventsKube.kind === config.kube.kind)
    return createEventRecorder(opened.client, config.pod, log);
  try {
    const own = await loadKubeConfig(config.eventsKube, undefined, { proxyEnv: config.proxyEnv });
    const client = new KubeClient(own.auth, own.server, { proxy: own.proxy });
    opened.onClose(() => client.close());
    return createEventRecorder(client, config.pod, log);
  } catch (err) {
    log.warn(`cannot record Events on the pod, continuing without them: ${err instanceof Error ? err.message : 'unknown error'}`);
    return NO_EVENTS;
  }
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
