/**
 * bench/env: warm start time and memory of the whole real test environment (kine + kube-apiserver,
 * SeaweedFS, TLS proxy, provisioner with the Bucket CRD), median of N starts. Needs the tools built
 * (bash scripts/build-tools.sh). Usage: node dist/bench/env.js [starts]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startTestEnv } from '../test/env/index.js';
import { REPO_ROOT } from '../test/env/tools.js';

const STARTS = Number(process.argv[2] ?? '3');
const MiB = 1024 * 1024;

function rss(pid: number): number {
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kib ?? 0) * 1024;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

const startsMs: number[] = [];
const stopsMs: number[] = [];
let memory: Record<string, number> = {};
for (let i = 0; i < STARTS; i++) {
  const t0 = performance.now();
  const env = await startTestEnv();
  startsMs.push(performance.now() - t0);
  const ns = await env.newNamespace('bench');
  await (
    await env.createBucket(ns, 'warm')
  ).secretWritten; // a provisioned bucket, so S3 holds data
  const kube = await env.controlPlane.memoryUsage();
  memory = {
    'kube-apiserver': Math.round((kube['kube-apiserver'] ?? 0) / MiB),
    kine: Math.round((kube.kine ?? 0) / MiB),
    weed: Math.round(rss(env.s3.process.pid) / MiB),
    'test process (node)': Math.round(process.memoryUsage().rss / MiB),
  };
  const t1 = performance.now();
  await env.stop();
  stopsMs.push(performance.now() - t1);
}

const result = {
  node: process.version,
  starts: STARTS,
  warmStartMedianMs: Math.round(median(startsMs)),
  warmStartsMs: startsMs.map(Math.round),
  stopMedianMs: Math.round(median(stopsMs)),
  rssMiB: memory,
  totalRssMiB: Object.values(memory).reduce((a, b) => a + b, 0),
};
console.log(
  `bench/env: warm start median ${result.warmStartMedianMs} ms over ${STARTS} starts (${result.warmStartsMs.join(', ')} ms); stop ${result.stopMedianMs} ms`,
);
console.table(memory);
const dir = join(REPO_ROOT, 'bench/results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'env.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(`written: ${join(dir, 'env.json')}`);
