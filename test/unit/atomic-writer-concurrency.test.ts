/**
 * A real concurrent reader (a worker thread with its own event loop, using blocking reads) runs
 * against the writer while it renders hundreds of times, alternating between key sets A and B.
 * The same file is the worker's entry point: it branches on isMainThread.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { AtomicWriter } from '../../src/files/atomic-writer.js';
import type { RenderedFile } from '../../src/render/types.js';

const RENDERS = 400;
/** Index in the shared buffer where the reader publishes its pass count (index 0: stop flag). */
const PASSES = 1;

/**
 * Blocks until the reader has finished two more passes, so at least one whole pass ran after the
 * last swap: the reader then sees every render, however the threads are scheduled.
 */
function awaitReaderPasses(shared: Int32Array): void {
  const target = Atomics.load(shared, PASSES) + 2;
  for (let seen = Atomics.load(shared, PASSES); seen < target; seen = Atomics.load(shared, PASSES))
    Atomics.wait(shared, PASSES, seen, 1000);
}
/** Files present in both sets, read by the reader on every pass. */
const ALWAYS = ['aws/credentials', 'aws/config', 'env/backup.env'] as const;
/** Only in set B: its top-level link appears and disappears with every render. */
const ONLY_B = 'rclone/rclone.conf';

type SetName = 'A' | 'B';

interface ReaderStats {
  passes: number;
  directReads: Record<SetName, number>;
  resolvedPasses: Record<SetName, number>;
  /** Times the set seen through a resolved ..data differed from the previous pass. */
  switches: number;
  /** Resolved generations retired (two swaps later) before the pass finished: allowed. */
  retiredDuringPass: number;
  violations: string[];
}

interface ReaderData {
  outDir: string;
  stop: SharedArrayBuffer;
}

// Header and trailer frame every file, and the header states the exact byte length, so a
// truncated or half-written file cannot parse. Sets differ in size so a mix shows up as well.
function buildContent(set: SetName, render: number, path: string): string {
  const filler = `${set}${render}:${path};`.repeat(set === 'A' ? 60 : 250);
  const body = `${filler}\n# end set=${set} render=${render}\n`;
  const head = (length: number): string => `# set=${set} render=${render} bytes=${String(length).padStart(8, '0')}\n`;
  return head(head(0).length + Buffer.byteLength(body)) + body;
}

interface Parsed {
  set: SetName;
  render: number;
}

function parseContent(text: string): Parsed | string {
  const match = /^# set=([AB]) render=(\d+) bytes=(\d{8})\n/.exec(text);
  if (match === null) return 'no header';
  const [, set, render, bytes] = match;
  if (Number(bytes) !== Buffer.byteLength(text)) return `length ${Buffer.byteLength(text)} != ${String(bytes)}`;
  if (!text.endsWith(`\n# end set=${String(set)} render=${String(render)}\n`)) return 'bad trailer';
  return { set: set as SetName, render: Number(render) };
}

function fileSet(set: SetName, render: number): RenderedFile[] {
  const paths = set === 'B' ? [...ALWAYS, ONLY_B] : [...ALWAYS];
  return paths.map((path) => ({ path, content: buildContent(set, render, path) }));
}

// ---- reader (worker thread) ----

function errorCodeOf(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : String(error);
}

function readDirect(outDir: string, stats: ReaderStats): void {
  for (const path of ALWAYS) {
    const started = performance.now();
    try {
      const parsed = parseContent(readFileSync(join(outDir, path), 'utf8'));
      if (typeof parsed === 'string') stats.violations.push(`direct ${path}: ${parsed}`);
      else stats.directReads[parsed.set] += 1;
    } catch (error: unknown) {
      const took = (performance.now() - started).toFixed(1);
      stats.violations.push(`direct ${path}: ${errorCodeOf(error)} (read took ${took} ms)`);
    }
  }
}

/** Whether the writer no longer references the generation (it may then be removed). */
function isRetired(outDir: string, generation: string): boolean {
  const target = (link: string): string | undefined => {
    try {
      return readlinkSync(join(outDir, link));
    } catch {
      return undefined;
    }
  };
  return target('..data') !== generation && target('..prev') !== generation;
}

function readResolvedFiles(dir: string): Parsed[] | string {
  const seen: Parsed[] = [];
  for (const path of ALWAYS) {
    const parsed = parseContent(readFileSync(join(dir, path), 'utf8'));
    if (typeof parsed === 'string') return `${path}: ${parsed}`;
    seen.push(parsed);
  }
  const first = seen[0];
  if (first === undefined || seen.some((p) => p.set !== first.set || p.render !== first.render)) {
    return `mixed generations: ${seen.map((p) => `${p.set}${p.render}`).join(' ')}`;
  }
  if (first.set === 'B') {
    const extra = parseContent(readFileSync(join(dir, ONLY_B), 'utf8'));
    if (typeof extra === 'string' || extra.render !== first.render) return `${ONLY_B} does not match`;
  } else if (readFileIfPresent(join(dir, ONLY_B)) !== undefined) {
    return `${ONLY_B} present in set A`;
  }
  return seen;
}

function readFileIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error: unknown) {
    if (errorCodeOf(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * realpath(3) is several syscalls; on a loaded machine the thread can be descheduled between
 * reading `..data` and looking up its target for longer than two renders of this tight loop.
 * The target is then legitimately gone, which is only acceptable if `..data` itself is intact.
 */
function resolveData(outDir: string, stats: ReaderStats): string | undefined {
  try {
    return realpathSync.native(join(outDir, '..data'));
  } catch (error: unknown) {
    const now = readFileIfPresent(join(outDir, '..data', ALWAYS[0]));
    if (errorCodeOf(error) === 'ENOENT' && now !== undefined) stats.retiredDuringPass += 1;
    else stats.violations.push(`realpath ..data: ${errorCodeOf(error)}`);
    return undefined;
  }
}

function readResolved(outDir: string, stats: ReaderStats, last: { set?: SetName }): void {
  const dir = resolveData(outDir, stats);
  if (dir === undefined) return;
  let outcome: Parsed[] | string;
  try {
    outcome = readResolvedFiles(dir);
  } catch (error: unknown) {
    // Missing files are fine only once the generation was retired (two swaps after the resolve).
    if (errorCodeOf(error) === 'ENOENT' && isRetired(outDir, basename(dir))) {
      stats.retiredDuringPass += 1;
      return;
    }
    outcome = `${errorCodeOf(error)} in a generation still referenced`;
  }
  if (typeof outcome === 'string') {
    stats.violations.push(`resolved ${basename(dir)}: ${outcome}`);
    return;
  }
  const set = outcome[0]?.set ?? 'A';
  stats.resolvedPasses[set] += 1;
  if (last.set !== undefined && last.set !== set) stats.switches += 1;
  last.set = set;
}

function runReader(data: ReaderData): void {
  const stop = new Int32Array(data.stop);
  const stats: ReaderStats = {
    passes: 0,
    directReads: { A: 0, B: 0 },
    resolvedPasses: { A: 0, B: 0 },
    switches: 0,
    retiredDuringPass: 0,
    violations: [],
  };
  const last: { set?: SetName } = {};
  parentPort?.postMessage({ ready: true });
  while (Atomics.load(stop, 0) === 0 && stats.violations.length < 20) {
    readDirect(data.outDir, stats);
    readResolved(data.outDir, stats, last);
    stats.passes += 1;
    Atomics.store(stop, PASSES, stats.passes);
    Atomics.notify(stop, PASSES);
  }
  parentPort?.postMessage({ stats });
}

// ---- writer (main thread) ----

interface Reader {
  ready: Promise<void>;
  done: Promise<ReaderStats>;
}

function startReader(outDir: string, stop: SharedArrayBuffer): Reader {
  const worker = new Worker(new URL(import.meta.url), { workerData: { outDir, stop } satisfies ReaderData });
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const done = new Promise<ReaderStats>((resolve, reject) => {
    worker.on('message', (message: { ready?: boolean; stats?: ReaderStats }) => {
      if (message.ready === true) onReady();
      if (message.stats !== undefined) resolve(message.stats);
    });
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`reader exited with ${code} before reporting`)));
  });
  return { ready, done };
}

if (isMainThread) {
  test(`a concurrent reader never sees a missing, partial or mixed render over ${RENDERS} renders`, async (t) => {
    // tmpfs when there is one: it is what the pod's memory emptyDir is, and it keeps fsync cheap.
    const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    const root = await mkdtemp(join(base, 'atomic-writer-race-'));
    t.after(() => rm(root, { recursive: true, force: true }));
    const outDir = join(root, 'out');
    // One long-lived writer, as the sidecar has: it keeps what it retired for the grace period.
    const writer = new AtomicWriter(outDir);
    writer.write(fileSet('A', 0));
    const stop = new SharedArrayBuffer(8);
    const shared = new Int32Array(stop);
    const reader = startReader(outDir, stop);
    await reader.ready;

    const started = performance.now();
    for (let render = 1; render <= RENDERS; render++) {
      const result = writer.write(fileSet(render % 2 === 0 ? 'A' : 'B', render));
      assert.equal(result.changed, true);
      awaitReaderPasses(shared);
    }
    const elapsed = performance.now() - started;
    Atomics.store(new Int32Array(stop), 0, 1);
    const stats = await reader.done;

    t.diagnostic(
      `${RENDERS} renders in ${elapsed.toFixed(0)} ms; reader: ${stats.passes} passes, direct reads A/B ` +
        `${stats.directReads.A}/${stats.directReads.B}, resolved passes A/B ${stats.resolvedPasses.A}/` +
        `${stats.resolvedPasses.B}, ${stats.switches} set switches, ${stats.retiredDuringPass} retired mid-pass`,
    );
    assert.deepEqual(stats.violations, []);
    // With the default 1 s grace, a resolved generation outlives any realistic reader stall.
    assert.equal(stats.retiredDuringPass, 0, 'a generation vanished under a reader that had resolved it');
    // The test must be able to fail: the writer waits for the reader after each swap, so the
    // reader has seen every render in both ways, whatever the machine's speed or scheduling.
    const half = RENDERS / 2;
    assert.ok(stats.directReads.A >= half && stats.directReads.B >= half, 'reader saw every render directly');
    assert.ok(stats.resolvedPasses.A >= half && stats.resolvedPasses.B >= half, 'reader saw every render via ..data');
    // The first swap may come before the reader's first pass, which then starts on B.
    assert.ok(stats.switches >= RENDERS - 1, `reader observed ${stats.switches} of ${RENDERS} swaps`);
  });
} else {
  runReader(workerData as ReaderData);
}
