/**
 * `npm run demo` end to end: the compiled script run as a user runs it (after `npm run build`),
 * with everything real under it. While it runs, the test watches /proc for every process the demo
 * starts and reads the rendered json/<alias>.json for every key it hands out; afterwards none of
 * those processes may be alive and none of those keys may be in the demo's output. A second run
 * is interrupted with SIGINT in the middle of the first rotation.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { descendants, stillRunning, type ProcessInfo } from '../env/process-tree.js';
import { waitUntil } from '../env/process.js';
import { REPO_ROOT, toolPath } from '../env/tools.js';

const DEMO = join(REPO_ROOT, 'dist/scripts/demo.js');
const ALIAS = 'photos';
const scratch = mkdtempSync(join(tmpdir(), 'bucket-agent-demo-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface DemoRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Every process seen below the demo while it ran. */
  readonly processes: ProcessInfo[];
  /** Every key pair seen in the rendered files while it ran. */
  readonly secrets: Set<string>;
  readonly accessKeyIds: Set<string>;
}

interface Demo {
  readonly done: Promise<DemoRun>;
  output(): string;
  interrupt(): void;
}

function startDemo(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Demo {
  const out = join(mkdtempSync(join(scratch, 'run-')), 'bucket');
  const child = spawn(process.execPath, [DEMO, '--out', out, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const processes = new Map<string, ProcessInfo>();
  const secrets = new Set<string>();
  const accessKeyIds = new Set<string>();
  const look = (): void => {
    for (const p of descendants(child.pid ?? 0)) processes.set(`${p.pid}/${p.startTime}`, p);
    try {
      const record = JSON.parse(readFileSync(join(out, 'json', `${ALIAS}.json`), 'utf8')) as {
        accessKeyId: string;
        secretAccessKey: string;
      };
      secrets.add(record.secretAccessKey);
      accessKeyIds.add(record.accessKeyId);
    } catch {
      // Not rendered yet, or (briefly) between two renders.
    }
  };
  const timer = setInterval(look, 50);
  const done = new Promise<DemoRun>((resolve) =>
    child.on('close', (code, signal) => {
      clearInterval(timer);
      resolve({ code, signal, stdout, stderr, processes: [...processes.values()], secrets, accessKeyIds });
    }),
  );
  return { done, output: () => stdout + stderr, interrupt: () => void child.kill('SIGINT') };
}

/** Nothing the demo started is still running; and it did start what it says it runs. */
async function assertAllGone(run: DemoRun): Promise<void> {
  const names = run.processes.map((p) => p.name);
  for (const expected of ['kube-apiserver', 'kine', 'weed'])
    assert.ok(
      names.some((n) => n.startsWith(expected)),
      `the demo ran ${expected} (seen: ${[...new Set(names)].join(', ')})`,
    );
  // A process killed as the demo ended may take a moment to be reaped; one still running after that is an orphan.
  await waitUntil(
    () => stillRunning(run.processes).length === 0,
    5_000,
    () =>
      `still running: ${stillRunning(run.processes)
        .map((p) => `${p.name} (${p.pid})`)
        .join(', ')}`,
  );
}

function assertNoKeys(run: DemoRun): void {
  const text = run.stdout + run.stderr;
  for (const secret of run.secrets) assert.ok(!text.includes(secret), 'a secret key is in the demo output');
  for (const id of run.accessKeyIds) assert.ok(!text.includes(id), 'an access key id is in the demo output (only a hash may be)');
}

interface Summary {
  rotations: { n: number; filesMs: number | null; clients: Record<string, { firstNewKeyMs: number | null; ok: number; failed: number }> }[];
  clients: Record<string, { ok: number; failed: number }>;
  leftovers: string[];
  agentOutputClean: boolean;
  ok: boolean;
  wallMs: number;
}

describe('npm run demo', () => {
  it('runs the whole product: 3 rotations, both apps switch keys with no failed write, nothing left running, no key printed', async () => {
    for (const tool of ['kube-apiserver', 'kine', 'weed', 'rclone'] as const) toolPath(tool);
    const run = await startDemo(['--json']).done;
    assert.equal(run.code, 0, `demo exit code; output:\n${run.stderr}`);
    const summary = JSON.parse(run.stdout) as Summary;
    assert.equal(summary.rotations.length, 3);
    for (const r of summary.rotations) {
      assert.notEqual(r.filesMs, null, `rotation ${r.n}: files replaced`);
      for (const [name, c] of Object.entries(r.clients)) {
        assert.notEqual(c.firstNewKeyMs, null, `rotation ${r.n}: ${name} switched to the new key`);
        assert.equal(c.failed, 0, `rotation ${r.n}: ${name} had no failed write`);
        assert.ok(c.ok > 0, `rotation ${r.n}: ${name} kept writing`);
      }
      assert.deepEqual(Object.keys(r.clients).sort(), ['SDK app', 'rclone']);
    }
    for (const [name, c] of Object.entries(summary.clients)) assert.equal(c.failed, 0, `${name}: no failed write at all`);
    assert.deepEqual(summary.leftovers, []);
    assert.equal(summary.agentOutputClean, true);
    assert.equal(summary.ok, true);
    for (const n of [1, 2, 3]) assert.match(run.stderr, new RegExp(`== rotation ${n}/3`));
    assert.doesNotMatch(run.stderr, /FAILED/);
    assert.match(run.stderr, /no process left behind/);
    // init's key and one per rotation: the key check below is over all four.
    assert.equal(run.secrets.size, 4, 'every key pair was seen in the files');
    assertNoKeys(run);
    await assertAllGone(run);
    assert.ok(
      run.processes.some((p) => p.name.startsWith('rclone')),
      'rclone ran',
    );
    assert.ok(
      run.processes.filter((p) => p.name === 'node').length >= 3,
      `init, the sidecar and the SDK app ran as processes (seen: ${run.processes.map((p) => p.name).join(', ')})`,
    );
  });

  it('Ctrl-C (SIGINT) in the middle of a rotation stops everything: exit 130, no process left', async () => {
    const demo = startDemo([]);
    await waitUntil(
      () => /== rotation 1\/3/.test(demo.output()),
      240_000,
      () => `the demo never reached the first rotation:\n${demo.output()}`,
    );
    demo.interrupt();
    const run = await demo.done;
    assert.equal(run.code, 130, `exit code (signal ${run.signal}); output:\n${run.stdout}${run.stderr}`);
    assert.match(run.stdout, /SIGINT: interrupted/);
    assert.match(run.stdout, /no process left behind/);
    assertNoKeys(run);
    await assertAllGone(run);
  });

  it('with a tool missing and --no-build, says what to run and starts nothing (exit 1)', async () => {
    const emptyCache = mkdtempSync(join(scratch, 'cache-'));
    const run = await startDemo(['--no-build'], { ...process.env, BUCKET_AGENT_CACHE: emptyCache }).done;
    assert.equal(run.code, 1);
    assert.match(run.stdout, /kube-apiserver, kine, weed, rclone/);
    assert.match(run.stdout, /Build them with: bash scripts\/build-tools\.sh/);
    assert.deepEqual(
      run.processes.map((p) => p.name),
      [],
    );
  });

  it('refuses an unknown flag with the usage (exit 2)', async () => {
    const run = await startDemo(['--bogus']).done;
    assert.equal(run.code, 2);
    assert.match(run.stderr, /Usage: npm run demo/);
  });
});
