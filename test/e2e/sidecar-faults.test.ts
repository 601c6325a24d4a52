/**
 * `bucket-agent sidecar` under faults (issue 10), end to end: the real binary, the real
 * kube-apiserver (+kine) and SeaweedFS behind the keys. Each fault is followed by a key rotation
 * that must be delivered: the files hold the new keys and the notify action ran. Every run's
 * output, the Events and every HTTP body fetched from the sidecar are scanned for the keys.
 *
 * Bounds are generous (a loaded 2-core machine): delivery within tens of seconds, never speed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ApiException, CoreV1Api, type KubeConfig, type V1PolicyRule, type V1Secret } from '@kubernetes/client-node';
import { startTestEnv, type ProvisionedBucket, type RotateOptions, type TestEnv } from '../env/index.js';
import { startConnProxy, type ConnProxy } from '../env/kube-conn-proxy.js';
import { waitUntil } from '../env/process.js';
import {
  assertNoSecrets,
  assertRunClean,
  createPod,
  firstWatchLine,
  knownSecrets,
  metricValue,
  podEvents,
  rememberKeys,
  renderedKeyId as renderedKeyIdIn,
  startCli,
  transcripts,
  type Run,
  type Running,
} from './cli-runs.js';

let env: TestEnv;
let admin: KubeConfig;
let core: CoreV1Api;
let work: string;
/** Sidecars still running: stopped in after(), whatever a test left behind. */
const live = new Set<Running>();
/** Every HTTP body the sidecars served (/metrics, /readyz, /healthz): scanned for keys at the end. */
const served: string[] = [];
/** Private proxies in front of the apiserver, closed in after(). */
const proxies: ConnProxy[] = [];

const DELIVERY_MS = 60_000;

before(async () => {
  env = await startTestEnv();
  admin = env.controlPlane.adminKubeConfig();
  core = admin.makeApiClient(CoreV1Api);
  work = await mkdtemp(join(tmpdir(), 'bucket-agent-faults-'));
});

after(async () => {
  await Promise.allSettled([...live].map((run) => run.stop('SIGKILL')));
  await Promise.allSettled(proxies.map((p) => p.close()));
  await env?.stop();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

interface Sidecar {
  readonly run: Running;
  readonly out: string;
  readonly alias: string;
  /** The health server, http://127.0.0.1:<port>. */
  readonly url: string;
  /** How many times the notify action ran. */
  notifications(): number;
  stop(): Promise<Run>;
}

interface SidecarOptions {
  readonly kubeconfig?: string;
  readonly args?: readonly string[];
  readonly env?: Record<string, string>;
}

let seq = 0;

/** Starts a sidecar for `bucket` and resolves once it rendered the first time. */
async function startSidecar(ns: string, bucket: string, opts: SidecarOptions = {}): Promise<Sidecar> {
  const n = ++seq;
  const out = join(work, `out-${n}`);
  const notified = join(work, `notified-${n}`);
  const args = [
    'sidecar',
    '--bucket',
    bucket,
    '--namespace',
    ns,
    '--kubeconfig',
    opts.kubeconfig ?? env.kubeconfigPath,
    '--out',
    out,
    '--listen',
    '127.0.0.1:0',
    '--no-verify',
    '--log-format',
    'json',
    '--notify',
    `exec:echo notified >> ${notified}`,
    ...(opts.args ?? []),
  ];
  const run = startCli(args, opts.env);
  live.add(run);
  void run.done.then(() => live.delete(run));
  // Port 0: the health server's real address is only in this log line.
  const started = JSON.parse(await run.waitForLog(/following credentials through/, 30_000)) as { listen?: string[] };
  const url = started.listen?.[0];
  assert.ok(url !== undefined, 'the health server URL is logged');
  await run.waitForLog(/"msg":"rendered into /, 30_000);
  const notifications = (): number => {
    try {
      return readFileSync(notified, 'utf8')
        .split('\n')
        .filter((l) => l === 'notified').length;
    } catch {
      return 0;
    }
  };
  return { run, out, alias: bucket, url, notifications, stop: () => run.stop() };
}

async function provisioned(ns: string, name: string): Promise<ProvisionedBucket> {
  const bucket = await env.createBucket(ns, name);
  rememberKeys(bucket);
  await bucket.secretWritten;
  return bucket;
}

function renderedKeyId(sc: Sidecar): string | undefined {
  return renderedKeyIdIn(sc.out, sc.alias);
}

/** Files hold `keyId` (json and aws/credentials) and the notify action ran more than `notifiedBefore` times. */
async function delivered(sc: Sidecar, keyId: string, notifiedBefore: number, what: string): Promise<void> {
  await waitUntil(
    () => Promise.resolve(renderedKeyId(sc) === keyId && sc.notifications() > notifiedBefore),
    DELIVERY_MS,
    () =>
      `${what}: rotation not delivered (files hold another key: ${renderedKeyId(sc) !== keyId}, notified ${sc.notifications()} times, before ${notifiedBefore})`,
    50,
  );
  assert.match(
    readFileSync(join(sc.out, 'aws/credentials'), 'utf8'),
    new RegExp(`^aws_access_key_id = ${keyId}$`, 'm'),
    'every file has the new keys',
  );
}

/** Rotates the bucket's keys and waits until the sidecar delivered them; returns the time it took. */
async function rotateAndDeliver(sc: Sidecar, ns: string, name: string, how: RotateOptions & { what: string }): Promise<number> {
  const { what, ...opts } = how;
  const before = sc.notifications();
  const old = renderedKeyId(sc);
  const started = Date.now();
  const rotation = await env.rotateKeys(ns, name, opts);
  rememberKeys(rotation);
  assert.notEqual(rotation.accessKeyId, old, 'a rotation brings a new key');
  await delivered(sc, rotation.accessKeyId, before, what);
  const ms = Date.now() - started;
  console.log(`# ${what}: rotation delivered in ${ms} ms`);
  return ms;
}

async function get(sc: Sidecar, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${sc.url}${path}`);
  const body = await res.text();
  served.push(body);
  return { status: res.status, body };
}

/** Sum of a metric's series whose labels include every `labels` pair. */
async function metric(sc: Sidecar, name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricValue((await get(sc, '/metrics')).body, name, labels);
}

/** The kubeconfig a sidecar uses to reach the apiserver through its own proxy, so only its connections are hurt. */
async function privateProxy(): Promise<{ proxy: ConnProxy; kubeconfig: string }> {
  const proxy = await startConnProxy({ host: '127.0.0.1', port: Number(new URL(env.controlPlane.apiserverUrl).port) });
  proxies.push(proxy);
  const config = JSON.parse(readFileSync(env.kubeconfigPath, 'utf8')) as { clusters: { cluster: { server: string } }[] };
  for (const c of config.clusters) c.cluster.server = `https://127.0.0.1:${proxy.port}`;
  const kubeconfig = join(work, `kubeconfig-proxy-${proxy.port}.json`);
  await writeFile(kubeconfig, JSON.stringify(config), { mode: 0o600 });
  return { proxy, kubeconfig };
}

/** Touches a label on each Secret every `everyMs`: watch events, i.e. progress, as fast as asked. */
function touchEvery(ns: string, names: readonly string[], everyMs: number): { stop(): Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    for (let i = 0; !stopped; i++) {
      await Promise.all(names.map((name) => patchLabel(ns, name, String(i)).catch(() => undefined)));
      await sleep(everyMs);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

async function patchLabel(ns: string, name: string, value: string): Promise<void> {
  const secret = await core.readNamespacedSecret({ name, namespace: ns });
  secret.metadata = { ...secret.metadata, labels: { ...secret.metadata?.labels, touched: value } };
  await core.replaceNamespacedSecret({ name, namespace: ns, body: secret });
}

async function secretExists(ns: string, name: string): Promise<boolean> {
  try {
    await core.readNamespacedSecret({ name, namespace: ns });
    return true;
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return false;
    throw err;
  }
}

/** GET with a bearer token straight to the apiserver: its status code. */
function statusWithToken(token: string, path: string): Promise<number> {
  const url = new URL(path, env.controlPlane.apiserverUrl);
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: env.controlPlane.caPem, headers: { Authorization: `Bearer ${token}` }, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('bucket-agent sidecar under faults, each followed by a rotation', { timeout: 15 * 60_000 }, () => {
  it('apiserver restarted mid-watch: the next rotation is delivered', async () => {
    const ns = await env.newNamespace('restart');
    const bucket = await provisioned(ns, 'rs');
    const sc = await startSidecar(ns, bucket.name);
    const errorsBefore = await metric(sc, 'bucket_agent_watch_restarts_total', { reason: 'error' });
    // A resourceVersion the sidecar could hold now; a write after it, so the restarted watch cache starts past it.
    const heldVersion = (await core.listNamespacedSecret({ namespace: ns })).metadata?.resourceVersion ?? '';
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'unrelated' }, stringData: { a: 'b' } } });
    const restartStarted = Date.now();
    await env.restartApiserver();
    console.log(`# apiserver restart took ${Date.now() - restartStarted} ms`);
    await rotateAndDeliver(sc, ns, bucket.name, { what: 'after an apiserver restart', mode: 'recreate' });
    assert.ok((await metric(sc, 'bucket_agent_watch_restarts_total', { reason: 'error' })) > errorsBefore, 'the watch noticed the restart');
    // The restart expired every resourceVersion held before it: a watch resuming from one gets a
    // real 410. The sidecar relists after a broken watch instead, so it never asks (reason "gone").
    assert.match(await watchFrom(ns, heldVersion), /"code":410/, 'the apiserver expires resourceVersions across a restart');
    console.log(
      `# restart reasons: gone=${await metric(sc, 'bucket_agent_watch_restarts_total', { reason: 'gone' })} error=${await metric(sc, 'bucket_agent_watch_restarts_total', { reason: 'error' })}`,
    );
    assert.equal((await get(sc, '/healthz')).status, 200);
    const run = await sc.stop();
    assert.equal(run.code, 0, run.stderr);
  });

  it('connections dropped: the next rotation is delivered', async () => {
    const ns = await env.newNamespace('drop');
    const bucket = await provisioned(ns, 'dr');
    const sc = await startSidecar(ns, bucket.name);
    for (const mode of ['in-place', 'recreate'] as const) {
      const errorsBefore = await metric(sc, 'bucket_agent_watch_restarts_total', { reason: 'error' });
      assert.ok(env.dropConnections() > 0, 'there were connections to cut');
      await rotateAndDeliver(sc, ns, bucket.name, { what: `after dropped connections (${mode})`, mode });
      assert.ok((await metric(sc, 'bucket_agent_watch_restarts_total', { reason: 'error' })) > errorsBefore, 'the cut watch was restarted');
    }
    const run = await sc.stop();
    assert.equal(run.code, 0, run.stderr);
  });

  it('a stalled connection: cut by the idle timeout, /healthz 503 while stuck, then the rotation is delivered and /healthz recovers', async () => {
    const ns = await env.newNamespace('stall');
    const bucket = await provisioned(ns, 'st');
    // The second candidate exists too, so both followers see events: an absent Secret's watch
    // only gets a bookmark a minute, which would be "stuck" for a few seconds' --stuck-after.
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: `bucket-${bucket.name}-credentials` }, stringData: { note: 'not chosen' } },
    });
    const { proxy, kubeconfig } = await privateProxy();
    const sc = await startSidecar(ns, bucket.name, { kubeconfig, args: ['--watch-idle-timeout', '12s', '--stuck-after', '3s'] });
    const touch = touchEvery(ns, [bucket.secretName, `bucket-${bucket.name}-credentials`], 500);
    try {
      // Healthy while events flow.
      await waitUntil(
        async () => (await get(sc, '/healthz')).status === 200,
        20_000,
        () => '/healthz never 200 while events flow',
      );
      const stallsBefore = await metric(sc, 'bucket_agent_watch_restarts_total', { reason: 'stall' });
      const oldKey = renderedKeyId(sc);
      const notifiedBefore = sc.notifications();
      assert.ok(proxy.stallConnections() >= 2, 'both watches (and more) stalled');
      const stalledAt = Date.now();
      const rotation = await env.rotateKeys(ns, bucket.name, { mode: 'in-place' });
      rememberKeys(rotation);
      // The stuck loop shows on /healthz, naming the Secret, while the files still hold the old key.
      let unhealthy: { status: number; body: string } | undefined;
      await waitUntil(
        async () => (unhealthy = await get(sc, '/healthz')).status === 503,
        20_000,
        () => '/healthz never 503 while stalled',
      );
      console.log(`# /healthz 503 ${Date.now() - stalledAt} ms after the stall`);
      const stuck =
        (JSON.parse(unhealthy?.body ?? '{}') as { detail?: { stuck?: { secret: string; state: string }[] } }).detail?.stuck ?? [];
      assert.ok(
        stuck.some((s) => s.secret === bucket.secretName && s.state === 'watching'),
        unhealthy?.body,
      );
      assert.equal(renderedKeyId(sc), oldKey, 'a stalled watch delivers nothing (the stall is real)');
      await delivered(sc, rotation.accessKeyId, notifiedBefore, 'after a stall');
      console.log(`# stall: rotation delivered ${Date.now() - stalledAt} ms after the stall (idle timeout 12 s)`);
      let last = '';
      await waitUntil(
        async () => (last = (await get(sc, '/healthz')).body).includes('making progress'),
        60_000,
        () => `/healthz did not recover: ${last}\n${sc.run.stderrSoFar().slice(-3000)}`,
      );
      const recoveredAfter = Date.now() - stalledAt;
      console.log(`# /healthz 200 again ${recoveredAfter} ms after the stall`);
      // The relist after the cut must not go over a pooled connection that died with the watch:
      // that waits out the 30 s request timeout (recovery at ~42 s instead of ~12 s).
      assert.doesNotMatch(sc.run.stderrSoFar(), /no answer within 30 s/, 'no request sent on a dead pooled connection');
      assert.ok(recoveredAfter < 12_000 + 20_000, `recovered ${recoveredAfter} ms after the stall: not waiting for a request timeout`);
      assert.ok((await metric(sc, 'bucket_agent_watch_restarts_total', { reason: 'stall' })) > stallsBefore, 'counted as a stall');
      await sc.run.waitForLog(/watch stalled: nothing from the apiserver for 12 s/, 1000);
    } finally {
      await touch.stop();
    }
    const run = await sc.stop();
    assert.equal(run.code, 0, run.stderr);
  });

  it('an invalid update keeps the last good files and is reported everywhere; the valid one after it is delivered', async () => {
    const ns = await env.newNamespace('bad');
    const bucket = await provisioned(ns, 'bu');
    const uid = await createPod(admin, ns, 'app-bad');
    const sc = await startSidecar(ns, bucket.name, { env: { POD_NAME: 'app-bad', POD_NAMESPACE: ns, POD_UID: uid } });
    const generation = readFileSync(join(sc.out, 'aws/credentials'), 'utf8');
    const notifiedBefore = sc.notifications();
    await core.replaceNamespacedSecret({
      name: bucket.secretName,
      namespace: ns,
      body: { metadata: { name: bucket.secretName }, stringData: { BucketInfo: '{"spec": ' } },
    });
    await sc.run.waitForLog(/bad update for bu, keeping the last good files/, 30_000);
    assert.equal(readFileSync(join(sc.out, 'aws/credentials'), 'utf8'), generation, 'the last good files are kept');
    assert.equal(renderedKeyId(sc), bucket.accessKeyId);
    assert.equal(sc.notifications(), notifiedBefore, 'nothing to tell the app');
    assert.equal(await metric(sc, 'bucket_agent_bad_updates_total', { alias: 'bu', reason: 'malformed' }), 1);
    const ready = await get(sc, '/readyz');
    assert.equal(ready.status, 200, 'still ready: the files are good');
    assert.equal(badUpdateIn(ready.body), 'malformed', ready.body);
    await waitUntil(
      async () => (await podEvents(admin, ns, 'app-bad')).some((e) => e.reason === 'CredentialsBadUpdate' && e.type === 'Warning'),
      20_000,
      () => 'no CredentialsBadUpdate Event',
    );
    const events = await podEvents(admin, ns, 'app-bad');
    assert.equal(events.find((e) => e.reason === 'CredentialsBadUpdate')?.involved, `Pod/app-bad/${uid}`);
    await rotateAndDeliver(sc, ns, bucket.name, { what: 'after an invalid update', mode: 'in-place' });
    const cleared = await get(sc, '/readyz');
    assert.equal(badUpdateIn(cleared.body), null, cleared.body);
    assertNoSecrets(JSON.stringify(await podEvents(admin, ns, 'app-bad')), 'Events');
    const run = await sc.stop();
    assert.equal(run.code, 0, run.stderr);
  });

  it('the Secret deleted for a while: the last good files are kept meanwhile, then the re-created one is delivered', async () => {
    const ns = await env.newNamespace('gone');
    const bucket = await provisioned(ns, 'go');
    const sc = await startSidecar(ns, bucket.name);
    const before = sc.notifications();
    const rotation = env.rotateKeys(ns, bucket.name, { mode: 'recreate', gapMs: 6000 });
    await waitUntil(
      async () => !(await secretExists(ns, bucket.secretName)),
      20_000,
      () => 'the Secret was never deleted',
    );
    await sc.run.waitForLog(/is gone \(bucket-go, bucket-go-credentials: none readable\); keeping the last good files/, 10_000);
    // While it is gone: same files, still ready, still running.
    for (let i = 0; i < 6; i++) {
      assert.equal(renderedKeyId(sc), bucket.accessKeyId, 'the last good keys stay');
      assert.equal((await get(sc, '/readyz')).status, 200);
      await sleep(500);
    }
    assert.equal(sc.notifications(), before);
    const rotated = await rotation;
    rememberKeys(rotated);
    await delivered(sc, rotated.accessKeyId, before, 'after the Secret was gone for 6 s');
    const run = await sc.stop();
    assert.equal(run.code, 0, run.stderr);
  });

  it("the sidecar's own service-account token rotated (the old one invalidated): the next rotation is delivered", async () => {
    const ns = await env.newNamespace('token');
    const bucket = await provisioned(ns, 'tk');
    const rules = [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] }];
    const { kubeconfig, tokenFile, token: first } = await tokenFileKubeconfig(ns, 'sidecar', rules, 'token-anchor-1');
    const sc = await startSidecar(ns, bucket.name, { kubeconfig });
    // The kubelet's way: a new token, swapped in atomically; then the old one stops working.
    const second = await boundToken(ns, 'sidecar', 'token-anchor-2');
    await replaceToken(tokenFile, second);
    await core.deleteNamespacedSecret({ name: 'token-anchor-1', namespace: ns });
    const probe = `/api/v1/namespaces/${ns}/secrets/${bucket.secretName}`;
    await waitUntil(
      async () => (await statusWithToken(first, probe)) === 401,
      60_000,
      () => 'the old token still works',
    );
    assert.equal(await statusWithToken(second, probe), 200, 'the new token works');
    // Open watches were authenticated with the old token; cut them so every request is a new one.
    assert.ok(env.dropConnections() > 0);
    await rotateAndDeliver(sc, ns, bucket.name, { what: 'after a token rotation', mode: 'recreate' });
    assert.equal(await metric(sc, 'bucket_agent_watch_restarts_total', { reason: 'denied' }), 0, 'the old token was never used again');
    const run = await sc.stop();
    assert.equal(run.code, 0, run.stderr);
  });

  it('an Event refused once (its token went stale) does not silence the Events that follow', async () => {
    const ns = await env.newNamespace('events');
    const bucket = await provisioned(ns, 'ev');
    const uid = await createPod(admin, ns, 'app-ev');
    const rules = [
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create'] },
    ];
    const { kubeconfig, tokenFile, token: first } = await tokenFileKubeconfig(ns, 'recorder', rules, 'anchor-ev-1');
    const sc = await startSidecar(ns, bucket.name, { kubeconfig, env: { POD_NAME: 'app-ev', POD_NAMESPACE: ns, POD_UID: uid } });
    // The token goes stale before the kubelet's refresh lands: the open watch still delivers, Events are refused.
    await core.deleteNamespacedSecret({ name: 'anchor-ev-1', namespace: ns });
    await waitUntil(
      async () => (await statusWithToken(first, `/api/v1/namespaces/${ns}/events`)) === 401,
      60_000,
      () => 'the old token still works',
    );
    await core.replaceNamespacedSecret({
      name: bucket.secretName,
      namespace: ns,
      body: { metadata: { name: bucket.secretName }, stringData: { BucketInfo: '[' } },
    });
    await sc.run.waitForLog(/cannot record Events on the pod, continuing without them/, 30_000);
    await replaceToken(tokenFile, await boundToken(ns, 'recorder', 'anchor-ev-2'));
    await rotateAndDeliver(sc, ns, bucket.name, { what: 'with a refreshed token after a refused Event', mode: 'in-place' });
    await waitUntil(
      async () => (await podEvents(admin, ns, 'app-ev')).some((e) => e.reason === 'CredentialsRotated'),
      20_000,
      () => 'no CredentialsRotated Event after the token was refreshed',
    );
    await sc.run.waitForLog(/recording Events on the pod again/, 5_000);
    const run = await sc.stop();
    assert.equal(run.code, 0, run.stderr);
  });

  it('leaves no key material in any output, Event or served body', async () => {
    assert.ok(transcripts.length >= 6, `all runs recorded (${transcripts.length})`);
    assert.ok(knownSecrets.size >= 12);
    for (const run of transcripts) assertRunClean(run);
    for (const body of served) assertNoSecrets(body, 'a body the sidecar served');
    const namespaces = await core.listNamespace();
    for (const ns of namespaces.items) {
      const events = await core.listNamespacedEvent({ namespace: ns.metadata?.name ?? '' });
      assertNoSecrets(JSON.stringify(events.items), `Events in ${ns.metadata?.name ?? ''}`);
    }
  });
});

/** A TokenRequest token bound to a fresh Secret: deleting that Secret invalidates the token. */
async function boundToken(ns: string, sa: string, anchor: string): Promise<string> {
  const secret: V1Secret = await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: anchor } } });
  const res = await core.createNamespacedServiceAccountToken({
    name: sa,
    namespace: ns,
    body: {
      spec: {
        audiences: [],
        expirationSeconds: 3600,
        boundObjectRef: { kind: 'Secret', apiVersion: 'v1', name: anchor, uid: secret.metadata?.uid },
      },
    },
  });
  const token = res.status?.token;
  assert.ok(token !== undefined && token !== '', 'TokenRequest gave a token');
  return token;
}

/** The first line of a watch on the namespace's Secrets from `resourceVersion` (the admin's), or its refusal. */
function watchFrom(ns: string, resourceVersion: string): Promise<string> {
  return firstWatchLine(admin, env.controlPlane.apiserverUrl, ns, resourceVersion);
}

/** What a /readyz body says of bucket `bu`'s last bad update. */
function badUpdateIn(body: string): string | null | undefined {
  return (JSON.parse(body) as { detail?: { buckets?: Record<string, { badUpdate: string | null }> } }).detail?.buckets?.bu?.badUpdate;
}

/**
 * A service account with `rules`, and a kubeconfig whose user reads its token from a file, as a
 * projected token volume is read; the token is bound to the Secret `anchor` (deleting it invalidates the token).
 */
async function tokenFileKubeconfig(
  ns: string,
  sa: string,
  rules: V1PolicyRule[],
  anchor: string,
): Promise<{ kubeconfig: string; tokenFile: string; token: string }> {
  const saKubeconfig = await env.serviceAccountKubeconfig(ns, sa, rules);
  const token = await boundToken(ns, sa, anchor);
  const tokenFile = join(work, `token-${ns}-${sa}`);
  await writeFile(tokenFile, token);
  const config = JSON.parse(readFileSync(saKubeconfig, 'utf8')) as { users: { user: Record<string, unknown> }[] };
  for (const u of config.users) u.user = { tokenFile };
  const kubeconfig = join(work, `kubeconfig-token-${ns}-${sa}.json`);
  await writeFile(kubeconfig, JSON.stringify(config), { mode: 0o600 });
  return { kubeconfig, tokenFile, token };
}

/** Swaps the token file atomically, as the kubelet does. */
async function replaceToken(tokenFile: string, token: string): Promise<void> {
  await writeFile(`${tokenFile}.new`, token);
  await rename(`${tokenFile}.new`, tokenFile);
}
