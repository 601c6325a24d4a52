/**
 * Watch liveness and connection independence on the real kube-apiserver, through the connection
 * proxy that can stall or cut every open connection (test/env/kube-conn-proxy.ts). Timings are
 * shortened through watchObject's `timings` (3 s idle timeout) so a stall is caught in seconds;
 * the bounds asserted are generous (tens of seconds) because this machine is small and shared:
 * they prove delivery, not speed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { CoreV1Api, KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { KubeClient } from '../../src/kube/client.js';
import { KubeConnectionError } from '../../src/kube/errors.js';
import { buildEvent } from '../../src/kube/events.js';
import { loadKubeConfig } from '../../src/kube/kubeconfig.js';
import { EVENTS, SECRETS } from '../../src/kube/resources.js';
import { watchObject, type KubeObject, type ObjectWatch, type RestartReason, type WatchTimings } from '../../src/kube/watch-object.js';
import { startControlPlane, type ControlPlane } from '../env/control-plane.js';
import { REPO_ROOT } from '../env/tools.js';

const logDir = join(REPO_ROOT, 'test/.runs', `watch-liveness-${process.pid}`);
const TIMINGS: Partial<WatchTimings> = { idleTimeoutMs: 3_000, retry: { initialMs: 200, maxMs: 1_000 } };
/** Delivery bound: the 3 s idle timeout, a 5 s request deadline on a stalled pooled connection, back-off, and slack. */
const DELIVERY_MS = 45_000;

let cp: ControlPlane;
let direct: CoreV1Api;
let failed = false;

function check(name: string, fn: (t: TestContext) => Promise<void>): void {
  it(name, { timeout: 120_000 }, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      failed = true;
      throw err;
    }
  });
}

before(async () => {
  cp = await startControlPlane({ logDir });
  // The test's own writes go straight to the apiserver: the proxy's stalls are for the client under test.
  const admin = cp.adminKubeConfig();
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: admin.clusters.map((c) => ({ ...c, server: cp.apiserverUrl })),
    users: admin.users,
    contexts: admin.contexts,
    currentContext: admin.currentContext,
  });
  direct = kc.makeApiClient(CoreV1Api);
});

after(async () => {
  await cp?.stop();
  if (!failed) await rm(logDir, { recursive: true, force: true });
  else process.stdout.write(`logs kept in ${logDir}\n`);
});

async function newNamespace(): Promise<string> {
  const ns = `watch-${randomBytes(4).toString('hex')}`;
  await cp.createNamespace(ns);
  return ns;
}

/** Our client, through the proxy, with a short request deadline so a stalled pooled connection costs seconds. */
async function proxiedClient(ns: string): Promise<KubeClient> {
  const kube = await loadKubeConfig({ kind: 'kubeconfig', path: cp.kubeconfigPath }, ns);
  return new KubeClient(kube.auth, kube.server, { requestTimeoutMs: 5_000 });
}

function secretBody(name: string, value: string): V1Secret {
  return { metadata: { name }, data: { value: Buffer.from(value).toString('base64') } };
}

async function writeSecret(ns: string, name: string, value: string): Promise<void> {
  const current = await direct.readNamespacedSecret({ name, namespace: ns });
  await direct.replaceNamespacedSecret({ name, namespace: ns, body: { ...current, data: secretBody(name, value).data } });
}

const valueOf = (object: KubeObject | undefined): string | undefined => {
  const data = (object as { data?: Record<string, string> } | undefined)?.data?.value;
  return data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8');
};

interface Followed {
  readonly watch: ObjectWatch;
  readonly client: KubeClient;
  readonly values: (string | undefined)[];
  readonly restarts: RestartReason[];
  stop(): void;
}

function follow(client: KubeClient, ns: string, name: string): Followed {
  const values: (string | undefined)[] = [];
  const restarts: RestartReason[] = [];
  const watch = watchObject({
    client,
    resource: SECRETS,
    namespace: ns,
    name,
    onState: (object) => values.push(valueOf(object)),
    onFatal: (err) => assert.fail(`watch ended: ${err.message}`),
    onRetry: () => undefined,
    onRestart: (reason) => restarts.push(reason),
    timings: TIMINGS,
  });
  const stop = (): void => {
    watch.stop();
    client.close();
  };
  return { watch, client, values, restarts, stop };
}

async function until(what: string, test: () => boolean, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (!test()) {
    if (performance.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return performance.now() - started;
}

/** Following, with the watch request sent: the list is in and the state says watching for a moment. */
async function watching(f: Followed, value: string): Promise<void> {
  await until(`the first list (${value})`, () => f.values.at(-1) === value, 20_000);
  await until('watching', () => f.watch.liveness().state === 'watching', 20_000);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
}

describe('watch liveness on the real apiserver', () => {
  check('a stalled watch connection is noticed and a change made afterwards is delivered', async (t) => {
    const ns = await newNamespace();
    await direct.createNamespacedSecret({ namespace: ns, body: secretBody('bucket-x', 'v1') });
    const f = follow(await proxiedClient(ns), ns, 'bucket-x');
    t.after(() => f.stop());
    await watching(f, 'v1');
    assert.ok(cp.stallConnections() >= 1, 'the watch connection was open through the proxy');
    await writeSecret(ns, 'bucket-x', 'v2');
    const took = await until('v2 delivered after the stall', () => f.values.at(-1) === 'v2', DELIVERY_MS);
    assert.ok(f.restarts.includes('stall'), `restarts: ${f.restarts.join(', ')}`);
    t.diagnostic(`delivered ${Math.round(took)} ms after the change; restarts: ${f.restarts.join(', ')}`);
  });

  check('a dropped watch connection is restarted and a change made afterwards is delivered', async (t) => {
    const ns = await newNamespace();
    await direct.createNamespacedSecret({ namespace: ns, body: secretBody('bucket-x', 'v1') });
    const f = follow(await proxiedClient(ns), ns, 'bucket-x');
    t.after(() => f.stop());
    await watching(f, 'v1');
    assert.ok(cp.dropConnections() >= 1);
    await writeSecret(ns, 'bucket-x', 'v2');
    const took = await until('v2 delivered after the drop', () => f.values.at(-1) === 'v2', DELIVERY_MS);
    assert.ok(f.restarts.includes('error'), `restarts: ${f.restarts.join(', ')}`);
    t.diagnostic(`delivered ${Math.round(took)} ms after the change; restarts: ${f.restarts.join(', ')}`);
  });
});

describe('one connection per concern on the real apiserver', () => {
  check('a request that hangs (a long poll) does not hold up a GET or an Event POST', async (t) => {
    const ns = await newNamespace();
    await direct.createNamespacedSecret({ namespace: ns, body: secretBody('bucket-x', 'v1') });
    const client = await proxiedClient(ns);
    t.after(() => client.close());
    // A LIST with watch=true is held open by the apiserver until timeoutSeconds: a request that
    // does not answer, as a hung aggregated API's would not.
    let longPollDone = false;
    const longPoll = client
      .list(SECRETS, ns, { query: { watch: 'true', timeoutSeconds: '30', fieldSelector: 'metadata.name=none' }, timeoutMs: 60_000 })
      .catch(() => undefined)
      .finally(() => (longPollDone = true));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const got = await client.get<KubeObject>(SECRETS, ns, 'bucket-x');
    assert.equal(valueOf(got), 'v1');
    await client.create(
      EVENTS,
      ns,
      buildEvent({ name: 'app', namespace: ns, uid: undefined }, 'Normal', 'Test', 'sent while another request hangs'),
    );
    assert.equal(longPollDone, false, 'both answered while the long poll was still open');
    const events = await direct.listNamespacedEvent({ namespace: ns });
    assert.ok(events.items.some((e) => e.reason === 'Test'));
    client.close();
    await longPoll;
  });

  check('a request on a pooled connection that went dead fails at its deadline; the next one works', async (t) => {
    const ns = await newNamespace();
    await direct.createNamespacedSecret({ namespace: ns, body: secretBody('bucket-x', 'v1') });
    const client = await proxiedClient(ns);
    t.after(() => client.close());
    await client.get(SECRETS, ns, 'bucket-x');
    // The kept-alive connection now forwards nothing: the next request goes on it and hangs.
    assert.ok(cp.stallConnections() >= 1);
    const err = await client.get(SECRETS, ns, 'bucket-x').catch((e: unknown) => e);
    assert.ok(err instanceof KubeConnectionError, String(err));
    assert.match(err.message, /no answer within 5 s/);
    assert.equal(valueOf(await client.get<KubeObject>(SECRETS, ns, 'bucket-x')), 'v1');
  });
});
