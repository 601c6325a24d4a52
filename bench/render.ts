/**
 * bench/render: renders per second for 1 and 50 buckets.
 *   - "render": the pure step (credentials -> every format's file contents)
 *   - "render+write": the same plus the atomic file-set write, alternating two key sets so every
 *     iteration really swaps a generation (tmpfs when /dev/shm exists, as in a pod's memory emptyDir)
 * Prints a table and writes bench/results/render.json. Usage: node dist/bench/render.js [seconds-per-case]
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { credentialsFromSecret, type BucketCredentials } from '../src/credentials/index.js';
import { writeFileSet } from '../src/files/atomic-writer.js';
import { renderFiles } from '../src/render/index.js';
import { FORMATS } from '../src/render/types.js';
import { REPO_ROOT } from '../test/env/tools.js';

const SECONDS = Number(process.argv[2] ?? '2');

function buckets(count: number, generation: number): BucketCredentials[] {
  return Array.from({ length: count }, (_, i) =>
    credentialsFromSecret({
      name: `bucket-b${i}`,
      namespace: 'bench',
      uid: `uid-${i}`,
      resourceVersion: String(generation),
      data: {
        BucketInfo: JSON.stringify({
          spec: {
            bucketName: `bucket-${i}-0f5b`,
            authenticationType: 'KEY',
            secretS3: {
              endpoint: 'https://s3.example.org',
              region: '',
              accessKeyID: `AKIA${generation}${i}XYZ`,
              accessSecretKey: `L1ZJy67a2PKdOmKq/${generation}+${i}=`,
            },
            secretAzure: null,
            protocols: ['s3'],
          },
        }),
      },
    }),
  );
}

interface Figure {
  case: string;
  buckets: number;
  iterations: number;
  perSecond: number;
  medianMs: number;
  p99Ms: number;
}

async function measure(name: string, count: number, step: (i: number) => Promise<void> | void): Promise<Figure> {
  const samples: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  for (let i = 0; i < 5; i++) await step(i); // warm-up
  const start = performance.now();
  for (let i = 0; performance.now() < end; i++) {
    const t = performance.now();
    await step(i);
    samples.push(performance.now() - t);
  }
  const elapsed = (performance.now() - start) / 1000;
  samples.sort((a, b) => a - b);
  const at = (q: number): number => Number((samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0).toFixed(3));
  return {
    case: name,
    buckets: count,
    iterations: samples.length,
    perSecond: Math.round(samples.length / elapsed),
    medianMs: at(0.5),
    p99Ms: at(0.99),
  };
}

const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const dir = mkdtempSync(join(base, 'bucket-agent-bench-'));
const figures: Figure[] = [];
try {
  for (const count of [1, 50]) {
    const sets = [buckets(count, 1), buckets(count, 2)];
    figures.push(await measure('render', count, (i) => void renderFiles(sets[i % 2] ?? [], FORMATS)));
    const out = join(dir, `out-${count}`);
    figures.push(await measure('render+write', count, (i) => void writeFileSet(out, renderFiles(sets[i % 2] ?? [], FORMATS))));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(`bench/render (node ${process.version}, ${SECONDS}s per case, output on ${base})`);
console.table(figures);
const results = join(REPO_ROOT, 'bench/results');
mkdirSync(results, { recursive: true });
writeFileSync(
  join(results, 'render.json'),
  `${JSON.stringify({ node: process.version, date: new Date().toISOString(), figures }, null, 2)}\n`,
);
console.log(`written: ${join(results, 'render.json')}`);
