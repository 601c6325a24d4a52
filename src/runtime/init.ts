/**
 * `bucket-agent init`: resolve the named Buckets, wait for their Secrets by watching, verify the
 * keys, render all buckets or none, exit. Safe to re-run over its own output: unchanged content is
 * not rewritten.
 */
import type { InitConfig } from '../config/init.js';
import type { BucketCredentials } from '../credentials/index.js';
import { TimeoutError, VerifyError, type BucketAgentError } from '../errors.js';
import type { WriteResult } from '../files/atomic-writer.js';
import { KubeClient } from '../kube/client.js';
import { createEventRecorder, NO_EVENTS, type EventRecorder } from '../kube/events.js';
import { loadKubeConfig } from '../kube/kubeconfig.js';
import type { Logger } from '../log.js';
import { BucketWaiter, type WaiterContext } from './init-bucket.js';
import { openSource } from './source.js';
import { progressLine, timeoutSummary } from './init-report.js';
import { verifyAll, verifyPlanFrom, type VerifyPlan } from './init-verify.js';
import { writeBuckets } from './render.js';

export async function runInit(config: InitConfig, log: Logger): Promise<WriteResult> {
  const started = Date.now();
  const plan = config.verify === undefined ? undefined : await verifyPlanFrom(config.verify);
  const opened = await openSource(config, log);
  const eventsClient = await eventsClientFor(config, opened.client, log);
  const events = config.pod === undefined || eventsClient === undefined ? NO_EVENTS : createEventRecorder(eventsClient, config.pod, log);
  const ctx = waiterContext({ source: opened.source, client: opened.client, namespace: opened.namespace, user: config.user }, log, events);
  const waiters = config.buckets.map((request) => new BucketWaiter(request, ctx));
  try {
    const credentials = await waitAll(waiters, config, log, started);
    // Verification follows rotations while it retries; without it the watches have done their job.
    if (plan === undefined) for (const waiter of waiters) waiter.stop();
    const verified = plan === undefined ? credentials : await verifyAll(waiters, plan, log);
    const result = writeBuckets(verified, config.output, log);
    events.record('Normal', 'BucketReady', readyMessage(verified, config.output.out, plan));
    return result;
  } catch (err) {
    recordFailure(events, err);
    throw err;
  } finally {
    for (const waiter of waiters) waiter.stop();
    await Promise.all([events.flush(), opened.source.close()]);
    opened.close();
    closeOther(eventsClient, opened.client);
  }
}

function closeOther(client: KubeClient | undefined, alreadyClosed: KubeClient | undefined): void {
  if (client !== alreadyClosed) client?.close();
}

/** The client for the pod's own cluster: the same one unless the Buckets live elsewhere (or are read from volumes). */
async function eventsClientFor(config: InitConfig, client: KubeClient | undefined, log: Logger): Promise<KubeClient | undefined> {
  if (config.pod === undefined) return undefined;
  if (client !== undefined && config.eventsKube.kind === config.kube.kind) return client;
  try {
    const own = await loadKubeConfig(config.eventsKube, undefined, { proxyEnv: config.proxyEnv });
    return new KubeClient(own.auth, own.server, { proxy: own.proxy });
  } catch (err) {
    log.warn(`cannot record Events on the pod, continuing without them: ${err instanceof Error ? err.message : 'unknown error'}`);
    return undefined;
  }
}

/** One context for all buckets: the Bucket API fallback is announced once per run. */
export function waiterContext(
  scope: Pick<WaiterContext, 'source' | 'client' | 'namespace' | 'user' | 'onUpdate'>,
  log: Logger,
  events: EventRecorder,
): WaiterContext {
  let said = false;
  return {
    ...scope,
    log,
    events,
    bucketApiUnreadable: (why) => {
      if (said) return;
      said = true;
      log.warn(`cannot read Buckets, waiting on the Secrets alone: ${why}`);
    },
  };
}

/** Resolves when every bucket has usable credentials; a denial rejects at once; the timeout rejects with a summary. */
async function waitAll(waiters: readonly BucketWaiter[], config: InitConfig, log: Logger, started: number): Promise<BucketCredentials[]> {
  const ticker = setInterval(() => {
    for (const waiter of waiters) if (waiter.view().secret === undefined) log.info(progressLine(waiter.view(), Date.now() - started));
  }, config.progressIntervalMs);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new TimeoutError(
            timeoutSummary(
              waiters.map((w) => w.view()),
              config.timeoutMs,
            ),
          ),
        ),
      config.timeoutMs,
    );
  });
  try {
    for (const waiter of waiters) waiter.start();
    return await Promise.race([Promise.all(waiters.map((waiter) => waiter.ready)), deadline]);
  } finally {
    clearInterval(ticker);
    clearTimeout(timer);
  }
}

function readyMessage(buckets: readonly BucketCredentials[], out: string, plan: VerifyPlan | undefined): string {
  const list = buckets.map((b) => `${b.alias} (Secret ${b.source.name})`).join(', ');
  return `credentials ${plan === undefined ? 'rendered' : 'verified and rendered'} into ${out}: ${list}`;
}

function recordFailure(events: EventRecorder, err: unknown): void {
  const reason = err instanceof TimeoutError ? 'BucketTimeout' : err instanceof VerifyError ? 'BucketVerifyFailed' : 'BucketInitFailed';
  // Every message here is one of ours (names, conditions, codes), never Secret data.
  const message = (err as Partial<BucketAgentError>).code === undefined ? 'internal error' : (err as Error).message;
  events.record('Warning', reason, message);
}
