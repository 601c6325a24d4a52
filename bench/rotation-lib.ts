/**
 * Helpers of bench/rotation: every timestamp is taken in the bench process on one clock
 * (process.hrtime: CLOCK_MONOTONIC), so "Secret written", "files replaced" and "notify received"
 * compare directly, with the sidecar running as a separate process as it does in a pod.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { watch, readFileSync, readlinkSync, type FSWatcher } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';

export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface Summary {
  readonly n: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly minMs: number;
}

/** Nearest-rank quantiles: with 100 samples p99 is the 99th, not an interpolation. */
export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (q: number): number => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  const r = (ms: number): number => Math.round(ms * 100) / 100;
  return { n: sorted.length, p50Ms: r(rank(0.5)), p99Ms: r(rank(0.99)), maxMs: r(sorted.at(-1) ?? NaN), minMs: r(sorted[0] ?? NaN) };
}

export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN;
}

/** A plain https client with the admin kubeconfig's client certificate, kept alive between requests. */
export class KubeHttp {
  private readonly agent: https.Agent;
  private readonly server: URL;

  constructor(kubeconfigPath: string) {
    // test/env writes the kubeconfig as JSON with inlined data (kube-config.ts).
    const config = JSON.parse(readFileSync(kubeconfigPath, 'utf8')) as {
      clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
      users: { user: { 'client-certificate-data': string; 'client-key-data': string } }[];
    };
    const cluster = config.clusters[0]?.cluster;
    const user = config.users[0]?.user;
    if (cluster === undefined || user === undefined) throw new Error(`no cluster or user in ${kubeconfigPath}`);
    const b64 = (s: string): Buffer => Buffer.from(s, 'base64');
    this.server = new URL(cluster.server);
    this.agent = new https.Agent({
      keepAlive: true,
      ca: b64(cluster['certificate-authority-data']),
      cert: b64(user['client-certificate-data']),
      key: b64(user['client-key-data']),
    });
  }

  /** Resolves with status and body; `server` overrides the kubeconfig's (the apiserver behind the proxy). */
  request(method: string, path: string, body?: unknown, server: URL = this.server): Promise<{ status: number; body: string }> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: server.hostname,
          port: server.port,
          path,
          method,
          agent: this.agent,
          headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** A long-running GET (a watch): each complete line goes to `onLine` the moment it arrives. */
  stream(path: string, onLine: (line: string) => void): () => void {
    const req = https.request({ host: this.server.hostname, port: this.server.port, path, method: 'GET', agent: this.agent }, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
          onLine(buffer.slice(0, nl));
          buffer = buffer.slice(nl + 1);
        }
      });
    });
    req.on('error', () => undefined);
    req.end();
    return () => req.destroy();
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * A bare watch on the Secret, in the bench: when the apiserver delivers the event carrying a key
 * to any watcher. write -> here is the apiserver's share of the latency; here -> files is the sidecar's.
 */
export class BareWatch {
  private readonly stop: () => void;
  private waiting: { key: string; resolve: (at: number) => void } | undefined;

  constructor(kube: KubeHttp, namespace: string, name: string) {
    this.stop = kube.stream(`/api/v1/namespaces/${namespace}/secrets?watch=true&fieldSelector=metadata.name%3D${name}`, (line) =>
      this.onLine(line),
    );
  }

  until(accessKeyId: string): Promise<number> {
    return new Promise((resolve) => (this.waiting = { key: accessKeyId, resolve }));
  }

  private onLine(line: string): void {
    const at = nowMs();
    const event = JSON.parse(line) as { type: string; object: { data?: Record<string, string> } };
    const info = Buffer.from(event.object.data?.BucketInfo ?? '', 'base64').toString('utf8');
    if (this.waiting === undefined || event.type === 'DELETED' || !info.includes(`"${this.waiting.key}"`)) return;
    const { resolve } = this.waiting;
    this.waiting = undefined;
    resolve(at);
  }

  close(): void {
    this.stop();
  }
}

/** Fires `onChange` with the time whenever `<out>/..data` points somewhere new (inotify on the out dir). */
export class OutWatcher {
  private readonly watcher: FSWatcher;
  private last = '';
  private waiting: { key: string; resolve: (at: number) => void } | undefined;

  constructor(
    private readonly out: string,
    private readonly alias: string,
  ) {
    this.watcher = watch(out, () => this.check());
  }

  /** Resolves at the first instant json/<alias>.json (read through the new `..data`) holds `accessKeyId`. */
  until(accessKeyId: string): Promise<number> {
    return new Promise((resolve) => {
      this.waiting = { key: accessKeyId, resolve };
      this.check();
    });
  }

  private check(): void {
    const at = nowMs();
    let target: string;
    try {
      target = readlinkSync(join(this.out, '..data'));
    } catch {
      return;
    }
    if (target === this.last || this.waiting === undefined) return;
    const record = JSON.parse(readFileSync(join(this.out, target, 'json', `${this.alias}.json`), 'utf8')) as { accessKeyId?: string };
    this.last = target;
    if (record.accessKeyId !== this.waiting.key) return;
    const { resolve } = this.waiting;
    this.waiting = undefined;
    resolve(at);
  }

  close(): void {
    this.watcher.close();
  }
}

/** The app's reload hook: an HTTP server that timestamps each call on arrival. */
export class NotifyServer {
  private server: http.Server | undefined;
  private waiting: ((at: number) => void) | undefined;
  calls = 0;

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const at = nowMs();
      this.calls += 1;
      req.resume();
      req.on('end', () => res.end('ok'));
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve?.(at);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return `http://127.0.0.1:${address.port}/`;
  }

  /** The next call's arrival time. */
  next(): Promise<number> {
    return new Promise((resolve) => (this.waiting = resolve));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }
}

/** The sidecar as a user runs it: the shipped bundle, under the Node that runs the bench. */
/** Node flags for the sidecar under test, e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" or "--lite-mode". */
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');

export function startSidecar(bundle: string, args: readonly string[], logFile: string): ChildProcess {
  const child = spawn(process.execPath, [...NODE_ARGS, bundle, 'sidecar', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
  child.on('exit', () => {
    import('node:fs').then(
      (fs) => fs.writeFileSync(logFile, log),
      () => undefined,
    );
  });
  return child;
}

export async function stopSidecar(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Polls /readyz until 200 (first render done) or the sidecar exits. */
export async function untilReady(listen: string, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = nowMs() + timeoutMs;
  while (nowMs() < deadline) {
    if (child.exitCode !== null) throw new Error(`sidecar exited ${child.exitCode} before /readyz`);
    const status = await new Promise<number>((resolve) => {
      http
        .get(`http://${listen}/readyz`, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', () => resolve(0));
    });
    if (status === 200) return;
    await sleep(50);
  }
  throw new Error(`sidecar not ready on ${listen} after ${timeoutMs} ms`);
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || '100');

/** VmRSS in MiB and utime+stime in ms, from /proc. */
export function procSample(pid: number): { rssMiB: number; cpuMs: number } {
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may itself hold spaces and parentheses: utime is field 14.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssMiB: Number(kib ?? NaN) / 1024, cpuMs: (ticks * 1000) / CLOCK_TICKS };
}

/** BucketInfo payload of generation `i`: keys that name the generation, so the files tell which one they hold. */
export function bucketInfo(i: number, endpoint: string): string {
  return JSON.stringify({
    metadata: { name: 'bench' },
    spec: {
      bucketName: 'bench-real',
      authenticationType: 'KEY',
      secretS3: { endpoint, region: '', accessKeyID: keyId(i), accessSecretKey: `bench/secret/${i}` },
      secretAzure: null,
      protocols: ['s3'],
    },
  });
}

export const keyId = (i: number): string => `AKBENCH${String(i).padStart(8, '0')}`;

/** The sidecar's own counters whose names contain one of `names` (the series with a value above 0). */
export function sidecarMetrics(listen: string, names: readonly string[]): Promise<Record<string, number>> {
  return new Promise((resolve) => {
    http
      .get(`http://${listen}/metrics`, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          const found: Record<string, number> = {};
          for (const line of text.split('\n')) {
            const [series, value] = line.split(' ');
            if (series !== undefined && !series.startsWith('#') && names.some((n) => series.includes(n)) && Number(value) > 0)
              found[series] = Number(value);
          }
          resolve(found);
        });
      })
      .on('error', () => resolve({}));
  });
}

/** RSS of a bare Node process (same binary) that has sat idle for a few seconds: the floor any Node sidecar pays. */
export function bareNodeRssMiB(): number {
  const script =
    'setTimeout(() => { const s = require("fs").readFileSync("/proc/self/status", "utf8"); process.stdout.write(/VmRSS:\\s+(\\d+)/.exec(s)[1]); }, 3000)';
  const out = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  return Math.round((Number(out.stdout) / 1024) * 10) / 10;
}
