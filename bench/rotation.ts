/**
 * bench/rotation (issue 10): how fast `bucket-agent sidecar` follows a key rotation, and what it
 * costs while idle. The sidecar is the shipped bundle (dist/bundle/bucket-agent.js) under the Node
 * that runs the bench, against the real kube-apiserver (+kine) of test/env; SeaweedFS is not
 * needed (the keys are never used against S3 here; the SDK case signs against a recording server).
 *
 *   1. api mode: Secret write (in place, and delete+create as COSI does) -> files replaced
 *      (`..data` swapped, seen by inotify on the out dir) -> notify received (an HTTP hook);
 *   2. volume mode: the simulated kubelet's `..data` swap -> files replaced -> notify received;
 *   3. a rotation made right after an apiserver restart: apiserver ready again -> notify;
 *   4. an @aws-sdk/client-s3 app on the credentials endpoint: rotation -> first request signed
 *      with the new key (the default --credentials-refresh, 10 s);
 *   5. idle: RSS (VmRSS) and CPU (utime+stime) of an api-mode and a volume-mode sidecar;
 *   6. apiserver requests per idle hour, from the apiserver's own apiserver_request_total.
 *
 * All timestamps are taken by the bench on one monotonic clock. Prints a table and writes
 * bench/results/rotation.json; never asserts.
 * Usage: node dist/bench/rotation.js [rotations-per-kind=100] [idle-seconds=120] [restarts=5] [sdk-rotations=3] [phases=idle,api,volume,sdk,restart]
 * Node flags for the sidecar: BENCH_NODE_ARGS (e.g. "--lite-mode", or "--cpu-prof --cpu-prof-dir=DIR" to profile it).
 */
import { existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { startControlPlane, type ControlPlane } from '../test/env/control-plane.js';
import { writeSecretVolume } from '../test/env/kubelet-volume.js';
import { freePort } from '../test/env/process.js';
import { REPO_ROOT } from '../test/env/tools.js';
import {
  bareNodeRssMiB,
  BareWatch,
  bucketInfo,
  sidecarMetrics,
  keyId,
  KubeHttp,
  median,
  NotifyServer,
  nowMs,
  OutWatcher,
  procSample,
  sleep,
  startSidecar,
  stopSidecar,
  summarize,
  untilReady,
  type Summary,
} from './rotation-lib.js';

const ROTATIONS = Number(process.argv[2] ?? '100');
const IDLE_SECONDS = Number(process.argv[3] ?? '120');
const RESTARTS = Number(process.argv[4] ?? '5');
const SDK_ROTATIONS = Number(process.argv[5] ?? '3');
const PHASES = new Set((process.argv[6] ?? 'idle,api,volume,sdk,restart').split(','));
/** Idle figures start this long after the first render: V8's memory reducer runs a few GCs in the first ~10 s. */
const SETTLE_MS = 15_000;
/** A rotation not delivered within this is reported as lost. */
const DELIVERY_TIMEOUT_MS = 30_000;
const BUNDLE = join(REPO_ROOT, 'dist/bundle/bucket-agent.js');
const SECRET = 'bucket-bench';
const ALIAS = 'bench';
const TARGETS = { p50Ms: 10, p99Ms: 50, restartMs: 3000, rssMiB: 50, cpuMsPerS: 1 };

interface Ctx {
  readonly cp: ControlPlane;
  readonly kube: KubeHttp;
  readonly ns: string;
  readonly work: string;
  /** Generation counter: every write carries a new key, keyId(gen). */
  gen: number;
  /** The generation the Secret holds (the volume phase writes only its own directory). */
  secretGen: number;
}

const withTimeout = <T>(p: Promise<T>, what: string): Promise<T> =>
  Promise.race([p, sleep(DELIVERY_TIMEOUT_MS).then(() => Promise.reject(new Error(`${what}: nothing within ${DELIVERY_TIMEOUT_MS} ms`)))]);

function secretBody(ctx: Ctx, gen: number): object {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: SECRET, namespace: ctx.ns },
    type: 'Opaque',
    stringData: { BucketInfo: bucketInfo(gen, 'http://127.0.0.1:9') },
  };
}

async function check(res: Promise<{ status: number; body: string }>, what: string): Promise<void> {
  const { status, body } = await res;
  if (status < 200 || status >= 300) throw new Error(`${what}: HTTP ${status} ${body.slice(0, 200)}`);
}

/** Writes generation `gen`; returns the instants the request carrying the new keys started and was answered. */
async function writeSecret(ctx: Ctx, gen: number, mode: 'in-place' | 'recreate'): Promise<{ start: number; answered: number }> {
  const path = `/api/v1/namespaces/${ctx.ns}/secrets`;
  if (mode === 'recreate') await check(ctx.kube.request('DELETE', `${path}/${SECRET}`), 'delete');
  const start = nowMs();
  ctx.secretGen = gen;
  if (mode === 'in-place') await check(ctx.kube.request('PUT', `${path}/${SECRET}`, secretBody(ctx, gen)), 'update');
  else await check(ctx.kube.request('POST', path, secretBody(ctx, gen)), 'create');
  return { start, answered: nowMs() };
}

interface SidecarRun {
  readonly out: string;
  readonly listen: string;
  readonly notify: NotifyServer;
  readonly watcher: OutWatcher;
  readonly child: ReturnType<typeof startSidecar>;
  stop(): Promise<void>;
}

async function runSidecar(ctx: Ctx, name: string, sourceArgs: readonly string[], extra: readonly string[] = []): Promise<SidecarRun> {
  const out = join(ctx.work, `${name}-out`);
  const listen = `127.0.0.1:${await freePort()}`;
  const notify = new NotifyServer();
  const hook = await notify.start();
  const args = [
    '--bucket',
    ALIAS,
    '--no-verify',
    '--out',
    out,
    '--listen',
    listen,
    '--notify',
    `http:POST:${hook}`,
    ...sourceArgs,
    ...extra,
  ];
  const child = startSidecar(BUNDLE, args, join(ctx.work, `${name}.log`));
  await untilReady(listen, child);
  const watcher = new OutWatcher(out, ALIAS);
  return {
    out,
    listen,
    notify,
    watcher,
    child,
    stop: async () => {
      watcher.close();
      await stopSidecar(child);
      await notify.close();
    },
  };
}

const apiArgs = (ctx: Ctx): string[] => ['--source', 'api', '--kubeconfig', ctx.cp.kubeconfigPath, '--namespace', ctx.ns];

interface Latency {
  /** api mode: write -> the event reaches a bare watch in the bench (the apiserver's share). */
  toBareWatchMs: number[];
  toFilesMs: number[];
  toNotifyMs: number[];
  apiAnswerMs: number[];
  lost: number;
  /** The sidecar's CPU time (utime+stime) per rotation over the phase. */
  sidecarCpuMsPerRotation?: number;
}

const emptyLatency = (): Latency => ({ toBareWatchMs: [], toFilesMs: [], toNotifyMs: [], apiAnswerMs: [], lost: 0 });

/** One rotation: arm both observers, write, wait for both. */
// eslint-disable-next-line max-params
async function rotateOnce(
  run: SidecarRun,
  gen: number,
  write: () => Promise<{ start: number; answered?: number }>,
  into: Latency,
  bare?: BareWatch,
): Promise<void> {
  const files = run.watcher.until(keyId(gen));
  const notified = run.notify.next();
  const seen = bare?.until(keyId(gen)) ?? Promise.resolve(NaN);
  const { start, answered } = await write();
  try {
    const [filesAt, notifyAt, seenAt] = await withTimeout(Promise.all([files, notified, seen]), `rotation ${gen}`);
    if (!Number.isNaN(seenAt)) into.toBareWatchMs.push(seenAt - start);
    into.toFilesMs.push(filesAt - start);
    into.toNotifyMs.push(notifyAt - start);
    if (answered !== undefined) into.apiAnswerMs.push(answered - start);
  } catch {
    into.lost += 1;
  }
  // Apart, so each rotation is one of its own and not coalesced with the next.
  await sleep(100);
}

async function apiPhase(ctx: Ctx): Promise<Record<string, Latency>> {
  const run = await runSidecar(ctx, 'api', apiArgs(ctx));
  const bare = new BareWatch(ctx.kube, ctx.ns, SECRET);
  const result = { 'in-place': emptyLatency(), recreate: emptyLatency() };
  try {
    const cpu0 = procSample(run.child.pid ?? 0).cpuMs;
    for (let i = 0; i < 2 * ROTATIONS; i += 1) {
      // Alternating, so drift on the shared machine hits both kinds alike.
      const mode = i % 2 === 0 ? 'in-place' : 'recreate';
      const gen = ++ctx.gen;
      await rotateOnce(run, gen, () => writeSecret(ctx, gen, mode), result[mode], bare);
    }
    const perRotation = round((procSample(run.child.pid ?? 0).cpuMs - cpu0) / (2 * ROTATIONS));
    result['in-place'].sidecarCpuMsPerRotation = perRotation;
    result.recreate.sidecarCpuMsPerRotation = perRotation;
  } finally {
    bare.close();
    await run.stop();
  }
  return result;
}

async function volumePhase(ctx: Ctx): Promise<Latency> {
  const secretsDir = join(ctx.work, 'secrets');
  const volume = join(secretsDir, SECRET);
  writeSecretVolume(volume, { BucketInfo: bucketInfo(ctx.gen, 'http://127.0.0.1:9') });
  const run = await runSidecar(ctx, 'volume', ['--source', 'volume', '--secrets-dir', secretsDir]);
  const result = emptyLatency();
  try {
    const cpu0 = procSample(run.child.pid ?? 0).cpuMs;
    for (let i = 0; i < ROTATIONS; i += 1) {
      const gen = ++ctx.gen;
      await rotateOnce(
        run,
        gen,
        () => {
          let start = 0;
          writeSecretVolume(volume, { BucketInfo: bucketInfo(gen, 'http://127.0.0.1:9') }, { onSwapped: () => (start = nowMs()) });
          return Promise.resolve({ start });
        },
        result,
      );
    }
    result.sidecarCpuMsPerRotation = round((procSample(run.child.pid ?? 0).cpuMs - cpu0) / ROTATIONS);
  } finally {
    await run.stop();
  }
  return result;
}

interface RestartSample {
  restartMs: number;
  readyToWrittenMs: number;
  readyToFilesMs: number | null;
  readyToNotifyMs: number | null;
}

/** The apiserver is back (its /readyz is 200): write at once, retrying while the proxy still refuses. */
async function writeWhenBack(ctx: Ctx, gen: number): Promise<void> {
  for (;;) {
    try {
      await writeSecret(ctx, gen, 'in-place');
      return;
    } catch {
      await sleep(10);
    }
  }
}

async function restartPhase(ctx: Ctx): Promise<RestartSample[]> {
  const run = await runSidecar(ctx, 'restart', apiArgs(ctx));
  const samples: RestartSample[] = [];
  try {
    for (let i = 0; i < RESTARTS; i += 1) {
      const gen = ++ctx.gen;
      const t0 = nowMs();
      await ctx.cp.restartApiserver();
      const ready = nowMs();
      const files = run.watcher.until(keyId(gen));
      const notified = run.notify.next();
      await writeWhenBack(ctx, gen);
      const written = nowMs();
      const at = await withTimeout(Promise.all([files, notified]), `restart ${i}`).catch(() => undefined);
      samples.push({
        restartMs: Math.round(ready - t0),
        readyToWrittenMs: round(written - ready),
        readyToFilesMs: at === undefined ? null : round(at[0] - ready),
        readyToNotifyMs: at === undefined ? null : round(at[1] - ready),
      });
      // Let the watch settle before the next restart, as restarts minutes apart would.
      await sleep(3000);
    }
  } finally {
    await run.stop();
  }
  return samples;
}

const round = (ms: number): number => Math.round(ms * 10) / 10;

/** S3 stand-in that records which access key signed each request (SigV4 `Credential=<key>/...`). */
function recordingS3(seen: { at: number; key: string }[]): Promise<{ url: string; close: () => void }> {
  const server = http.createServer((req, res) => {
    const key = /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? '';
    seen.push({ at: nowMs(), key });
    req.resume();
    res.writeHead(200, { 'x-amz-bucket-region': 'us-east-1' }).end();
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      resolve({ url: `http://127.0.0.1:${port}`, close: () => server.close() });
    }),
  );
}

async function firstSignedWith(seen: readonly { at: number; key: string }[], key: string, after: number): Promise<number | undefined> {
  const deadline = nowMs() + 150_000;
  while (nowMs() < deadline) {
    const hit = seen.find((s) => s.key === key && s.at >= after);
    if (hit !== undefined) return hit.at;
    await sleep(20);
  }
  return undefined;
}

async function sdkPhase(
  ctx: Ctx,
): Promise<{ rotations: (number | null)[]; requests: number; oldKeyAfterNotify: number; endpointAnswers: Record<string, number> }> {
  const credentials = `127.0.0.1:${await freePort()}`;
  const run = await runSidecar(ctx, 'sdk', apiArgs(ctx), ['--credentials-listen', credentials]);
  const seen: { at: number; key: string }[] = [];
  const s3 = await recordingS3(seen);
  const { spawn } = await import('node:child_process');
  const app = spawn(process.execPath, [join(REPO_ROOT, 'dist/bench/rotation-sdk-app.js'), s3.url], {
    stdio: ['ignore', 'ignore', openSync(join(ctx.work, 'sdk-app.log'), 'w')],
    env: {
      PATH: process.env.PATH,
      HOME: ctx.work,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://${credentials}/v1/credentials/${ALIAS}`,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: join(run.out, 'aws/container-token'),
      // Nothing else in the chain may answer: no shared files.
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    },
  });
  const delays: (number | null)[] = [];
  let oldKeyAfterNotify = 0;
  let endpoint: Record<string, number> = {};
  try {
    await firstSignedWith(seen, keyId(ctx.secretGen), 0);
    for (let i = 0; i < SDK_ROTATIONS; i += 1) {
      // A random point of the SDK's ~60 s refresh cycle, so the figures spread over it.
      await sleep(Math.round(Math.random() * 60_000));
      const gen = ++ctx.gen;
      const notified = run.notify.next();
      const { start } = await writeSecret(ctx, gen, 'in-place');
      const notifyAt = await withTimeout(notified, 'sdk rotation notify');
      const signed = await firstSignedWith(seen, keyId(gen), start);
      delays.push(signed === undefined ? null : round(signed - start));
      oldKeyAfterNotify += seen.filter((s) => s.key === keyId(gen - 1) && s.at > notifyAt).length;
    }
    endpoint = await sidecarMetrics(run.listen, ['credentials_requests']);
  } finally {
    app.kill('SIGTERM');
    s3.close();
    await run.stop();
  }
  return { rotations: delays, requests: seen.length, oldKeyAfterNotify, endpointAnswers: endpoint };
}

interface IdleFigures {
  rssMedianMiB: number;
  rssMaxMiB: number;
  cpuMsPerS: number;
  samples: number;
}

type RequestCounts = Record<string, number>;

/** apiserver_request_total for resource=secrets outside cluster scope (the sidecar's requests name one Secret), by verb. */
function secretRequests(metrics: string): { counts: RequestCounts; watchesOpen: number } {
  const counts: RequestCounts = {};
  let watchesOpen = 0;
  for (const line of metrics.split('\n')) {
    const m = /^(apiserver_request_total|apiserver_longrunning_requests)\{([^}]*)\} (\S+)$/.exec(line);
    if (m === null) continue;
    const labels: Record<string, string | undefined> = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1] ?? '', x[2]]),
    );
    if (labels.resource !== 'secrets' || labels.scope === 'cluster') continue;
    if (m[1] === 'apiserver_longrunning_requests') {
      if (labels.verb === 'WATCH') watchesOpen += Number(m[3]);
      continue;
    }
    const verb = labels.verb ?? '?';
    counts[verb] = (counts[verb] ?? 0) + Number(m[3]);
  }
  return { counts, watchesOpen };
}

async function scrape(ctx: Ctx): Promise<{ counts: RequestCounts; watchesOpen: number }> {
  const res = await ctx.kube.request('GET', '/metrics');
  if (res.status !== 200) throw new Error(`/metrics: HTTP ${res.status}`);
  return secretRequests(res.body);
}

async function idlePhase(
  ctx: Ctx,
): Promise<{ api: IdleFigures; volume: IdleFigures; requests: Record<string, unknown>; bareNodeRssMiB: number }> {
  const secretsDir = join(ctx.work, 'idle-secrets');
  writeSecretVolume(join(secretsDir, SECRET), { BucketInfo: bucketInfo(ctx.gen, 'http://127.0.0.1:9') });
  const api = await runSidecar(ctx, 'idle-api', apiArgs(ctx));
  const volume = await runSidecar(ctx, 'idle-volume', ['--source', 'volume', '--secrets-dir', secretsDir]);
  try {
    await sleep(SETTLE_MS);
    const before = await scrape(ctx);
    const pids = { api: api.child.pid ?? 0, volume: volume.child.pid ?? 0 };
    const samples = { api: [procSample(pids.api)], volume: [procSample(pids.volume)] };
    const t0 = nowMs();
    while (nowMs() - t0 < IDLE_SECONDS * 1000) {
      await sleep(1000);
      samples.api.push(procSample(pids.api));
      samples.volume.push(procSample(pids.volume));
    }
    const seconds = (nowMs() - t0) / 1000;
    const after = await scrape(ctx);
    const perHour: RequestCounts = {};
    for (const verb of new Set([...Object.keys(before.counts), ...Object.keys(after.counts)])) {
      perHour[verb] = Math.round((((after.counts[verb] ?? 0) - (before.counts[verb] ?? 0)) * 3600) / seconds);
    }
    const figures = (s: { rssMiB: number; cpuMs: number }[]): IdleFigures => ({
      rssMedianMiB: round(median(s.map((x) => x.rssMiB))),
      rssMaxMiB: round(Math.max(...s.map((x) => x.rssMiB))),
      cpuMsPerS: Math.round((((s.at(-1)?.cpuMs ?? 0) - (s[0]?.cpuMs ?? 0)) / seconds) * 1000) / 1000,
      samples: s.length,
    });
    const sidecar = await sidecarMetrics(api.listen, ['watch_restarts']);
    const requests = {
      windowSeconds: Math.round(seconds),
      inWindow: diff(after.counts, before.counts),
      perHour,
      watchesOpen: after.watchesOpen,
      sidecarWatchRestarts: sidecar,
    };
    return { api: figures(samples.api), volume: figures(samples.volume), requests, bareNodeRssMiB: bareNodeRssMiB() };
  } finally {
    await Promise.all([api.stop(), volume.stop()]);
  }
}

function diff(a: RequestCounts, b: RequestCounts): RequestCounts {
  return Object.fromEntries(Object.keys(a).map((k) => [k, (a[k] ?? 0) - (b[k] ?? 0)]));
}

/**
 * Output dirs and Secret volumes on a tmpfs, as in a pod (a `medium: Memory` emptyDir, a kubelet
 * Secret volume): on a disk the writer's fsyncs would be measured instead.
 */
const WORK_ROOT = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

async function setup(): Promise<Ctx> {
  const work = mkdtempSync(join(WORK_ROOT, 'bench-rotation-'));
  const cp = await startControlPlane({ logDir: work });
  const ns = `bench-${Math.random().toString(16).slice(2, 10)}`;
  await cp.createNamespace(ns);
  const ctx: Ctx = { cp, kube: new KubeHttp(cp.kubeconfigPath), ns, work, gen: 0, secretGen: 0 };
  await check(ctx.kube.request('POST', `/api/v1/namespaces/${ns}/secrets`, secretBody(ctx, 0)), 'create');
  return ctx;
}

async function main(): Promise<void> {
  const ctx = await setup();
  const results: Record<string, unknown> = { loadAverageAtStart: loadavg().map(round) };
  try {
    // Idle first: nothing else has touched the apiserver's counters for Secrets in between.
    if (PHASES.has('idle')) results.idle = await idlePhase(ctx);
    if (PHASES.has('api')) results.api = await apiPhase(ctx);
    if (PHASES.has('volume')) results.volume = await volumePhase(ctx);
    if (PHASES.has('sdk')) results.sdk = await sdkPhase(ctx);
    if (PHASES.has('restart')) results.restart = await restartPhase(ctx);
  } finally {
    ctx.kube.close();
    await ctx.cp.stop();
  }
  results.loadAverageAtEnd = loadavg().map(round);
  report(results);
  // BENCH_KEEP=1 keeps the sidecars' and the app's logs for a look.
  if (process.env.BENCH_KEEP === '1') process.stdout.write(`logs kept in ${ctx.work}\n`);
  else rmSync(ctx.work, { recursive: true, force: true });
}

// ---- report ---------------------------------------------------------------------------------

const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');

function latencyRows(name: string, l: Latency): string[] {
  const files = summarize(l.toFilesMs);
  const notify = summarize(l.toNotifyMs);
  const lost = l.lost === 0 ? '' : `  ${l.lost} LOST (not delivered within ${DELIVERY_TIMEOUT_MS} ms)`;
  const row = (what: string, s: Summary): string =>
    `  ${`${name}: ${what}`.padEnd(44)} n=${String(s.n).padStart(3)}  p50 ${s.p50Ms.toFixed(2).padStart(7)}  p99 ${s.p99Ms.toFixed(2).padStart(7)}  max ${s.maxMs.toFixed(2).padStart(7)} ms   target p50<${TARGETS.p50Ms} p99<${TARGETS.p99Ms}: ${verdict(s.p50Ms < TARGETS.p50Ms && s.p99Ms < TARGETS.p99Ms)}`;
  const rows = [row('write -> files replaced', files), row('write -> notify received', notify)];
  if (l.toBareWatchMs.length > 0) {
    const b = summarize(l.toBareWatchMs);
    rows.push(
      `  ${`${name}: write -> event at a bare watch`.padEnd(44)} n=${String(b.n).padStart(3)}  p50 ${b.p50Ms.toFixed(2).padStart(7)}  p99 ${b.p99Ms.toFixed(2).padStart(7)}  max ${b.maxMs.toFixed(2).padStart(7)} ms   (the apiserver's share)`,
    );
  }
  if (l.sidecarCpuMsPerRotation !== undefined)
    rows.push(
      `  ${`${name}: sidecar CPU per rotation`.padEnd(44)} ${l.sidecarCpuMsPerRotation} ms${name.startsWith('api') ? ' (both kinds together)' : ''}`,
    );
  if (l.apiAnswerMs.length > 0) {
    const a = summarize(l.apiAnswerMs);
    rows.push(
      `  ${`${name}: write -> apiserver answered`.padEnd(44)} n=${String(a.n).padStart(3)}  p50 ${a.p50Ms.toFixed(2).padStart(7)}  p99 ${a.p99Ms.toFixed(2).padStart(7)}  max ${a.maxMs.toFixed(2).padStart(7)} ms   (for reference)`,
    );
  }
  return lost === '' ? rows : [...rows, lost];
}

function idleRows(name: string, f: IdleFigures): string {
  return `  idle ${name.padEnd(7)} RSS median ${f.rssMedianMiB} MiB, max ${f.rssMaxMiB} MiB (target < ${TARGETS.rssMiB}: ${verdict(f.rssMaxMiB < TARGETS.rssMiB)}); CPU ${f.cpuMsPerS} ms/s (target < ${TARGETS.cpuMsPerS}: ${verdict(f.cpuMsPerS < TARGETS.cpuMsPerS)})`;
}

function report(results: Record<string, unknown>): void {
  const load = (k: string): string => (results[k] as number[]).join('/');
  const lines = [
    `bench/rotation: sidecar ${relative(REPO_ROOT, BUNDLE)} on Node ${process.version}, real kube-apiserver, output on ${WORK_ROOT}; load average ${load('loadAverageAtStart')} at start, ${load('loadAverageAtEnd')} at end (2 cores, shared)`,
  ];
  const api = results.api as Record<string, Latency> | undefined;
  for (const [kind, l] of Object.entries(api ?? {})) lines.push(...latencyRows(`api ${kind}`, l));
  const volume = results.volume as Latency | undefined;
  if (volume !== undefined) {
    lines.push(...latencyRows('volume', volume));
    const worst = summarize(volume.toNotifyMs).maxMs;
    lines.push(
      `  volume: DESIGN.md's own volume target (the kubelet's delay + < 100 ms): ${verdict(worst < 100)} (worst swap -> notify ${worst} ms)`,
    );
  }
  const restart = results.restart as RestartSample[] | undefined;
  if (restart !== undefined) {
    const delivered = restart.map((s) => s.readyToNotifyMs).filter((x): x is number => x !== null);
    const med = median(delivered);
    lines.push(
      `  after apiserver restart: ready -> notify ${restart.map((s) => s.readyToNotifyMs ?? 'LOST').join(', ')} ms; median ${round(med)} ms (target < ${TARGETS.restartMs}: ${verdict(delivered.length === restart.length && Math.max(...delivered) < TARGETS.restartMs)}, worst counts)`,
    );
    lines.push(
      `    ready -> write answered ${restart.map((s) => s.readyToWrittenMs).join(', ')} ms; restart took ${restart.map((s) => s.restartMs).join(', ')} ms`,
    );
  }
  const sdk = results.sdk as
    { rotations: (number | null)[]; oldKeyAfterNotify: number; endpointAnswers: Record<string, number> } | undefined;
  if (sdk !== undefined) {
    lines.push(
      `  AWS SDK JS v3 app (credentials endpoint, default Expiration policy): rotation -> first request signed with the new key: ${sdk.rotations.map((ms) => (ms === null ? 'NEVER (150 s)' : `${(ms / 1000).toFixed(1)} s`)).join(', ')}`,
    );
    lines.push(
      `    requests still signed with the old key after the notify: ${sdk.oldKeyAfterNotify} (the SDK caches keys until the Expiration the endpoint gave: --credentials-refresh, default 10 s); endpoint answers ${JSON.stringify(sdk.endpointAnswers)}`,
    );
  }
  const idle = results.idle as
    | {
        api: IdleFigures;
        volume: IdleFigures;
        bareNodeRssMiB: number;
        requests: {
          windowSeconds: number;
          perHour: RequestCounts;
          inWindow: RequestCounts;
          watchesOpen: number;
          sidecarWatchRestarts: Record<string, number>;
        };
      }
    | undefined;
  if (idle !== undefined) {
    lines.push(
      `  idle: ${IDLE_SECONDS} s window, ${SETTLE_MS / 1000} s after the first render, 1 bucket; bare Node (same binary, idle) RSS ${idle.bareNodeRssMiB} MiB`,
    );
    lines.push(idleRows('api', idle.api), idleRows('volume', idle.volume));
    const r = idle.requests;
    lines.push(
      `  apiserver requests for Secrets per idle hour (api sidecar, 1 bucket = 2 candidates; ${r.windowSeconds} s window, x${round(3600 / r.windowSeconds)}): ${JSON.stringify(r.perHour)}; in the window ${JSON.stringify(r.inWindow)}; watches open ${r.watchesOpen}; the sidecar's own watch restarts ${JSON.stringify(r.sidecarWatchRestarts)}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  const dir = join(REPO_ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'rotation.json');
  const summaries = {
    api: Object.fromEntries(
      Object.entries(api ?? {}).map(([k, l]) => [
        k,
        {
          toFiles: summarize(l.toFilesMs),
          toNotify: summarize(l.toNotifyMs),
          toBareWatch: summarize(l.toBareWatchMs),
          apiAnswer: summarize(l.apiAnswerMs),
          lost: l.lost,
        },
      ]),
    ),
    volume:
      volume === undefined
        ? undefined
        : { toFiles: summarize(volume.toFilesMs), toNotify: summarize(volume.toNotifyMs), lost: volume.lost },
  };
  const json = `${JSON.stringify({ bench: 'rotation', node: process.version, date: new Date().toISOString(), targets: TARGETS, summaries, ...results }, null, 2)}\n`;
  // Also per Node major, so a run under another Node does not replace the figures of this one.
  const perNode = join(dir, `rotation-node${process.versions.node.split('.')[0] ?? ''}.json`);
  writeFileSync(file, json);
  writeFileSync(perNode, json);
  process.stdout.write(`written ${relative(REPO_ROOT, file)} and ${relative(REPO_ROOT, perNode)}\n`);
}

await main();
