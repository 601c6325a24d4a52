/**
 * bench/volume-latency: the volume Secret source on a tmpfs (a kubelet Secret volume is one).
 *   - latency: simulated kubelet `..data` swap (in a worker thread) -> onState, per debounce setting,
 *     3 Secrets followed, swaps spaced past the coalescing window so each is a rotation of its own
 *     (a swap inside the window of the previous one is read at the window's end, by design);
 *   - idle: a fresh process following 3 Secrets (bench/volume-idle-child): CPU (process.cpuUsage)
 *     over the idle period and RSS, next to a bare Node process.
 * Prints the figures and writes bench/results/volume-latency.json.
 * Usage: node dist/bench/volume-latency.js [swaps=50] [idle-seconds=30]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { createVolumeSource } from '../src/files/secret-volume.js';
import type { SecretObject } from '../src/credentials/index.js';
import { writeSecretVolume } from '../test/env/kubelet-volume.js';
import { REPO_ROOT } from '../test/env/tools.js';

const NAMES = ['bucket-a', 'bucket-b', 'bucket-c'];

function payload(i: number): Record<string, string> {
  const info = {
    spec: {
      bucketName: `b-${i}`,
      secretS3: { endpoint: 'https://s3.example.org', region: '', accessKeyID: `AKIA${i}`, accessSecretKey: `secret/${i}` },
    },
  };
  return { BucketInfo: JSON.stringify(info), accessKey: `AKIA${i}`, secretKey: `secret/${i}` };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function latency(base: string, debounceMs: number, swaps: number): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(base, 'lat-'));
  for (const name of NAMES) writeSecretVolume(join(dir, name), payload(0));
  const source = createVolumeSource({ dir, debounceMs });
  let delivered: ((at: number) => void) | undefined;
  let initial = 0;
  for (const name of NAMES) {
    source.follow(name, {
      onState: (_secret: SecretObject | undefined) => {
        if (name !== 'bucket-a') return;
        initial += 1;
        delivered?.(Number(process.hrtime.bigint()) / 1e6);
      },
      onUnreadable: (err) => {
        throw err;
      },
      onRetry: (err) => {
        throw err;
      },
    });
  }
  while (initial === 0) await sleep(5);
  const writer = new Worker(new URL('./volume-latency-writer.js', import.meta.url));
  const samples: number[] = [];
  for (let i = 1; i <= swaps; i += 1) {
    const seen = new Promise<number>((resolve) => (delivered = resolve));
    const swapped = new Promise<number>((resolve) => writer.once('message', resolve));
    writer.postMessage({ dir: join(dir, 'bucket-a'), payload: payload(i) });
    const [swappedAt, seenAt] = await Promise.all([swapped, seen]);
    samples.push(seenAt - swappedAt);
    await sleep(debounceMs + 100);
  }
  await writer.terminate();
  await source.close();
  samples.sort((a, b) => a - b);
  const round = (ms: number): number => Math.round(ms * 1000) / 1000;
  return {
    debounceMs,
    swaps,
    p50Ms: round(quantile(samples, 0.5)),
    p90Ms: round(quantile(samples, 0.9)),
    maxMs: round(samples.at(-1) ?? NaN),
  };
}

function bareRssMiB(): number {
  const out = spawnSync(
    process.execPath,
    ['-e', 'setTimeout(() => process.stdout.write(String(process.memoryUsage().rss / 2 ** 20)), 1000)'],
    { encoding: 'utf8' },
  );
  return Number(out.stdout);
}

async function main(): Promise<void> {
  const swaps = Number(process.argv[2] ?? '50');
  const idleSeconds = Number(process.argv[3] ?? '30');
  const base = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'volume-bench-'));
  try {
    const latencies = [];
    for (const debounceMs of [20, 0, 50]) {
      const result = await latency(base, debounceMs, swaps);
      console.log(
        `swap -> onState, debounce ${debounceMs} ms: p50 ${result.p50Ms} ms, p90 ${result.p90Ms} ms, max ${result.maxMs} ms (${swaps} swaps)`,
      );
      latencies.push(result);
    }
    const idleDir = mkdtempSync(join(base, 'idle-'));
    for (const name of NAMES) writeSecretVolume(join(idleDir, name), payload(0));
    const idleChild = new URL('./volume-idle-child.js', import.meta.url).pathname;
    const child = spawnSync(process.execPath, [idleChild, idleDir, String(idleSeconds)], { encoding: 'utf8' });
    const idle = {
      ...(JSON.parse(child.stdout) as { cpuMsPerS: number; rssMiB: number }),
      seconds: idleSeconds,
      bareNodeRssMiB: bareRssMiB(),
    };
    console.log(
      `idle, 3 Secrets followed, ${idleSeconds} s: CPU ${idle.cpuMsPerS.toFixed(4)} ms/s, RSS ${idle.rssMiB.toFixed(1)} MiB (bare node ${idle.bareNodeRssMiB.toFixed(1)} MiB)`,
    );
    const results = join(REPO_ROOT, 'bench/results');
    mkdirSync(results, { recursive: true });
    writeFileSync(
      join(results, 'volume-latency.json'),
      `${JSON.stringify({ bench: 'volume-latency', node: process.version, date: new Date().toISOString(), latencies, idle }, null, 2)}\n`,
    );
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

await main();
