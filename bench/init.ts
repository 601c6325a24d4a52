/**
 * bench/init: process start -> files rendered, with the Secret already present and verify off,
 * side by side in one run with the pipeline users run by hand today:
 *
 *   kubectl get secret bucket-<n> -o jsonpath='{.data.BucketInfo}' | base64 -d > file
 *
 * Both hit the same real kube-apiserver from test/env; runs alternate so drift hits both alike.
 * Each `bucket-agent` run writes every format into a fresh directory (the init container's case)
 * on a tmpfs (/dev/shm), as in a pod, where the output is a `medium: Memory` emptyDir: on a disk
 * the writer's fsyncs would be measured instead. The pipeline writes to the same tmpfs.
 * bucket-agent runs as an init container does: default log level, JSON logs (stderr is no TTY).
 * A third case, bench/init-floor.ts, is the least any Node program can do for the same job.
 * Prints medians and the ratio (target <= 1.0) and writes bench/results/init.json.
 * Usage: node dist/bench/init.js [runs] [bin ...]   (bins default to the bundle and dist/src/bin.js)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startTestEnv } from '../test/env/index.js';
import { REPO_ROOT, toolPath } from '../test/env/tools.js';

const RUNS = Number(process.argv[2] ?? '21');
const WARMUP = 3;
/** A memory-backed dir like the init container's emptyDir; the system temp dir if there is none. */
const OUTPUT_ROOT = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const FLOOR = join(REPO_ROOT, 'dist/bench/init-floor.js');
const DEFAULT_BINS = ['dist/bundle/bucket-agent.js', 'dist/src/bin.js'].map((p) => join(REPO_ROOT, p)).filter((p) => existsSync(p));
const BINS = process.argv.length > 3 ? process.argv.slice(3).map((p) => join(REPO_ROOT, p)) : DEFAULT_BINS;

interface Stats {
  medianMs: number;
  p10Ms: number;
  p90Ms: number;
  minMs: number;
}

/** Wall time from spawn to exit; throws with the output on a non-zero exit. */
function timed(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - start;
      if (code === 0) resolve(ms);
      else reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`));
    });
  });
}

function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  const round = (n: number): number => Math.round(n * 10) / 10;
  return { medianMs: round(at(0.5)), p10Ms: round(at(0.1)), p90Ms: round(at(0.9)), minMs: round(sorted[0] ?? NaN) };
}

async function main(): Promise<void> {
  // kubectl of the apiserver's own release, built by scripts/build-tools.sh: the same binary on every machine.
  const kubectl = toolPath('kubectl');
  if (BINS.length === 0) throw new Error('no bucket-agent build found: run npm run build (and npm run bundle)');
  const env = await startTestEnv();
  const work = mkdtempSync(join(OUTPUT_ROOT, 'bench-init-'));
  try {
    const ns = await env.newNamespace('bench');
    const bucket = await env.createBucket(ns, 'bench');
    await bucket.secretWritten;
    const childEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
    const pipeline = `"${kubectl}" --kubeconfig "${env.kubeconfigPath}" -n ${ns} get secret ${bucket.secretName} -o jsonpath='{.data.BucketInfo}' | base64 -d > "$1"`;
    const cases: Case[] = [
      {
        name: 'kubectl get secret | base64 -d',
        run: (i) => timed('sh', ['-c', pipeline, 'sh', join(work, `kubectl-${i}.json`)], childEnv),
      },
      ...BINS.map((bin) => ({
        name: `bucket-agent init (${relative(REPO_ROOT, bin)})`,
        run: (i: number) =>
          timed(
            process.execPath,
            [
              bin,
              'init',
              '--kubeconfig',
              env.kubeconfigPath,
              '--namespace',
              ns,
              '--bucket',
              'bench',
              '--no-verify',
              '--out',
              join(work, `${relative(REPO_ROOT, bin).replace(/\W/g, '-')}-${i}`),
            ],
            childEnv,
          ),
      })),
      {
        name: 'floor: Node, one https GET, one file (bench/init-floor.ts)',
        run: (i) => timed(process.execPath, [FLOOR, env.kubeconfigPath, ns, bucket.secretName, join(work, `floor-${i}.json`)], childEnv),
      },
    ];
    const samples = await measure(cases);
    // The pipeline really got the payload the agent renders from.
    if (!readFileSync(join(work, 'kubectl-0.json'), 'utf8').includes(bucket.bucketName))
      throw new Error('kubectl pipeline wrote no BucketInfo');
    report(
      cases.map((c) => c.name),
      samples,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
    await env.stop();
  }
}

interface Case {
  readonly name: string;
  run(i: number): Promise<number>;
}

/** Warm-up rounds, then RUNS rounds; the order rotates each round so no side always runs first. */
async function measure(cases: readonly Case[]): Promise<Map<string, number[]>> {
  const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const round = cases.map((_, k) => cases[(i + k) % cases.length]).filter((c) => c !== undefined);
    for (const c of round) {
      const ms = await c.run(i);
      if (i >= WARMUP) samples.get(c.name)?.push(ms);
    }
  }
  return samples;
}

function report(names: string[], samples: Map<string, number[]>): void {
  const baseline = names[0] ?? '';
  const base = stats(samples.get(baseline) ?? []);
  const results = names.map((name) => {
    const s = stats(samples.get(name) ?? []);
    return { case: name, runs: samples.get(name)?.length ?? 0, ...s, ratioToKubectl: Math.round((s.medianMs / base.medianMs) * 100) / 100 };
  });
  process.stdout.write(`init start -> files rendered vs the manual pipeline (${RUNS} runs each, medians; output under ${OUTPUT_ROOT})\n`);
  for (const r of results) {
    process.stdout.write(
      `  ${r.case.padEnd(58)} median ${String(r.medianMs).padStart(7)} ms  p10 ${String(r.p10Ms).padStart(7)}  p90 ${String(r.p90Ms).padStart(7)}  ratio ${r.ratioToKubectl}\n`,
    );
  }
  mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
  const file = join(REPO_ROOT, 'bench/results/init.json');
  writeFileSync(
    file,
    `${JSON.stringify({ bench: 'init', node: process.version, date: new Date().toISOString(), target: 'ratio <= 1.0', outputRoot: OUTPUT_ROOT, results }, null, 2)}\n`,
  );
  process.stdout.write(`written ${relative(REPO_ROOT, file)}\n`);
}

await main();
