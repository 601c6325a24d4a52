/**
 * Atomic directory writer: replaces a whole set of credentials files at once, kubelet-style.
 *
 * Layout of the output dir:
 *
 *   ..20250102T030405.678Z-1a2b3c4d5e6f/   one generation per render (hidden, immutable once linked)
 *   ..data -> ..20250102T030405.678Z-...   the current generation, swapped by rename(2)
 *   ..prev -> ..<previous generation>      kept until the next swap, then removed
 *   aws    -> ..data/aws                    one visible link per top-level name of the set
 *   env    -> ..data/env
 *
 * What readers get: opening `outDir/aws/credentials` always yields one complete file of one
 * generation (a file is fully written and fsynced before any link can reach it). A reader that
 * resolves `..data` once (realpath) and reads several files from there gets one render: the
 * previous generation is kept until the next swap, and any older one until it has been out of
 * `..data` for `retiredGraceMs` (default 1 s), for readers caught in a burst of renders.
 *
 * Every step is a synchronous fs call, and the API says so (`write` returns, it does not
 * promise). A render is ~100 syscalls on tiny files, and its phases are sequential; on a
 * memory-backed emptyDir (what injected pods use) each syscall takes microseconds, while a libuv
 * thread-pool round trip (fs/promises) costs ~0.1-0.3 ms. A render thus blocks the event loop for
 * about a millisecond, which the sidecar's endpoints can afford. fsync of files and dirs is
 * skipped on tmpfs and ramfs, where it buys nothing (memory does not survive a crash); on a disk
 * it is kept, and there a render blocks for the fsyncs (a few ms on an SSD).
 *
 * One writer per output dir: the init container or the sidecar. Calls in one process never
 * interleave, since each runs to completion synchronously; two processes writing the same dir at
 * once are not supported (each would prune the other's half-written generation, and the loser's
 * render would fail — never a reader's view, though). One after the other is the normal case: an
 * init container writes first (as root with --uid/--gid, or as the sidecar's uid), then the
 * sidecar takes over the same dir and prunes what init left.
 */
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { OutputError } from '../errors.js';
import type { RenderedFile } from '../render/types.js';
import { needsFsync, removeTree, step, syncDir } from './fs-ops.js';
import { applyOwnership, buildGeneration, generationMatches } from './generation.js';
import {
  DATA_LINK,
  DEFAULT_OUT_DIR_MODE,
  HIDDEN_PREFIX,
  PREVIOUS_LINK,
  buildFileSet,
  newGenerationName,
  resolveOptions,
  type FileSet,
  type ResolvedOptions,
  type WriteOptions,
} from './layout.js';
import { createTopLevelLink, planTopLevel, readGenerationLink, removeLink, replaceLink } from './links.js';

export { DEFAULT_DIR_MODE, DEFAULT_FILE_MODE, DEFAULT_OUT_DIR_MODE, DEFAULT_RETIRED_GRACE_MS, type WriteOptions } from './layout.js';

export interface WriteResult {
  /** False when the current generation already held exactly this set: nothing was written. */
  readonly changed: boolean;
  /** Name of the generation dir `..data` points to after the call. */
  readonly generation: string;
  /** Relative paths of the files now present, sorted. */
  readonly paths: readonly string[];
  /**
   * Housekeeping that failed after the new files were already live (removing an old generation
   * or a stale link, fsyncing the output dir). The render itself succeeded; the caller logs these.
   */
  readonly warnings: readonly string[];
}

/**
 * The writer of one output dir. It remembers when each generation it swapped out stopped being
 * current, so a long-lived writer (the sidecar) keeps retired generations for readers caught in a
 * burst of renders; a new writer (an init container, a restarted sidecar) knows of none and
 * removes old ones at once, which no reader of its own can be holding.
 */
export class AtomicWriter {
  readonly outDir: string;
  private readonly options: ResolvedOptions;
  /** Monotonic time each generation this writer swapped out stopped being current, by absolute path. */
  private readonly retiredAt = new Map<string, number>();

  /** Throws OutputError for options it cannot honour, before touching the disk. */
  constructor(outDir: string, options: WriteOptions = {}) {
    this.outDir = resolve(outDir);
    this.options = resolveOptions(options);
  }

  /**
   * Makes `files` the content of the output dir, all at once, synchronously. On any failure (bad
   * path, collision, IO error, chown refused) throws OutputError and leaves the previous files
   * byte-for-byte as they were, with no partial generation or temp link left behind.
   */
  write(files: readonly RenderedFile[]): WriteResult {
    // Validation first: a request that cannot be honoured must not touch the disk at all.
    const set = buildFileSet(files);
    return write(this.outDir, set, this.options, this.retiredAt);
  }
}

/** One write by a new writer (`render`, `init`): see AtomicWriter.write. */
export function writeFileSet(outDir: string, files: readonly RenderedFile[], options: WriteOptions = {}): WriteResult {
  return new AtomicWriter(outDir, options).write(files);
}

type RetiredAt = Map<string, number>;

function write(outDir: string, set: FileSet, options: ResolvedOptions, retiredAt: RetiredAt): WriteResult {
  ensureOutDir(outDir, options);
  const current = readGenerationLink(outDir, DATA_LINK);
  const plan = planTopLevel(outDir, set.topLevel);
  // Leftovers of a crashed run go first, so they never pile up, even when nothing changes.
  const warnings = pruneHidden(outDir, options.retiredGraceMs, retiredAt);
  const unchanged = current !== undefined && plan.missing.length === 0 && generationMatches(join(outDir, current), set, options);
  if (unchanged) {
    // Links to names outside the current generation dangle (a crash between link and swap).
    warnings.push(...removeLinks(outDir, plan.gone));
    return { changed: false, generation: current, paths: set.paths, warnings };
  }
  const generation = newGenerationName();
  const fsync = needsFsync(outDir);
  stageAndSwap(outDir, { generation, current, set, options, fsync, missing: plan.missing });
  if (current !== undefined) retiredAt.set(join(outDir, current), performance.now());
  warnings.push(...retire(outDir, plan.gone, { graceMs: options.retiredGraceMs, fsync, retiredAt }));
  return { changed: true, generation, paths: set.paths, warnings };
}

function ensureOutDir(outDir: string, options: ResolvedOptions): void {
  // Parents too: `render --out ./creds/backup` should just work, as `mkdir -p` would.
  const created = step('create output directory', outDir, () => mkdirSync(outDir, { recursive: true, mode: DEFAULT_OUT_DIR_MODE }));
  const stats = step('inspect', outDir, () => statSync(outDir));
  if (!stats.isDirectory()) throw new OutputError(`output directory ${outDir} is not a directory`);
  // A dir we made for --uid/--gid belongs to them, like its files: a non-root sidecar of that uid
  // must be able to add generations and prune what an init container (root) left. A dir that
  // was already there (an emptyDir, 0777) is left as it is.
  if (created !== undefined) applyOwnership([outDir], options);
}

interface Swap {
  readonly generation: string;
  readonly current: string | undefined;
  readonly set: FileSet;
  readonly options: ResolvedOptions;
  /** False on a memory-backed output dir: see needsFsync. */
  readonly fsync: boolean;
  readonly missing: readonly string[];
}

/**
 * Everything up to and including the `..data` rename. Until that rename nothing a reader can see
 * has changed (new top-level links dangle, which reads as "not there yet"), so any failure here
 * is undone completely.
 */
function stageAndSwap(outDir: string, swap: Swap): void {
  const genDir = join(outDir, swap.generation);
  const created: string[] = [];
  try {
    buildGeneration(genDir, swap.set, swap.options, swap.fsync);
    for (const name of swap.missing) {
      createTopLevelLink(outDir, name);
      created.push(name);
    }
    // `..prev` moves first: if we crash right after, the generation readers may hold is kept.
    if (swap.current !== undefined) replaceLink(outDir, PREVIOUS_LINK, swap.current);
    replaceLink(outDir, DATA_LINK, swap.generation);
  } catch (error: unknown) {
    rollback(genDir, outDir, created);
    throw error;
  }
}

function rollback(genDir: string, outDir: string, createdLinks: readonly string[]): void {
  // Best effort: the original failure is what the caller needs to see, so failures here are
  // dropped. Anything left is pruned at the next write anyway.
  collect([() => removeTree(genDir)]);
  removeLinks(outDir, createdLinks);
}

interface Retirement {
  readonly graceMs: number;
  readonly fsync: boolean;
  readonly retiredAt: RetiredAt;
}

/** After the swap: drop links to names that are gone and generations older than `..prev`. */
function retire(outDir: string, gone: readonly string[], how: Retirement): string[] {
  const warnings = how.fsync ? collect([() => syncDir(outDir)]) : [];
  warnings.push(...removeLinks(outDir, gone));
  try {
    warnings.push(...pruneHidden(outDir, how.graceMs, how.retiredAt));
  } catch (error: unknown) {
    // The new files are live: a failed cleanup must not be reported as a failed render.
    warnings.push(error instanceof Error ? error.message : String(error));
  }
  return warnings;
}

function removeLinks(outDir: string, names: readonly string[]): string[] {
  return collect(names.map((name) => () => removeLink(outDir, name)));
}

/**
 * Removes every hidden entry except `..data`, `..prev`, the generations they point to and the
 * generations retired less than `graceMs` ago: old generations, and partial generations and temp
 * links of a crashed or failed run.
 */
function pruneHidden(outDir: string, graceMs: number, retiredAt: RetiredAt): string[] {
  const keep = new Set([DATA_LINK, PREVIOUS_LINK]);
  for (const link of [DATA_LINK, PREVIOUS_LINK]) {
    const target = readGenerationLink(outDir, link);
    if (target !== undefined) keep.add(target);
  }
  const names = step('list', outDir, () => readdirSync(outDir));
  forgetMissing(outDir, names, retiredAt);
  const isStale = (name: string): boolean =>
    name.startsWith(HIDDEN_PREFIX) && !keep.has(name) && !inGrace(retiredAt.get(join(outDir, name)), graceMs);
  const stale = names.filter(isStale);
  return collect(
    stale.map((name) => () => {
      removeTree(join(outDir, name));
      retiredAt.delete(join(outDir, name));
    }),
  );
}

function inGrace(since: number | undefined, graceMs: number): boolean {
  return since !== undefined && performance.now() - since < graceMs;
}

/** Drops records of generations of `outDir` that no longer exist (removed by someone else). */
function forgetMissing(outDir: string, names: readonly string[], retiredAt: RetiredAt): void {
  const present = new Set(names.map((name) => join(outDir, name)));
  for (const path of retiredAt.keys()) {
    if (dirname(path) === outDir && !present.has(path)) retiredAt.delete(path);
  }
}

/** Runs housekeeping steps, turning each failure into a warning instead of an error. */
function collect(tasks: ReadonlyArray<() => void>): string[] {
  const warnings: string[] = [];
  for (const task of tasks) {
    try {
      task();
    } catch (error: unknown) {
      warnings.push(error instanceof Error ? error.message : String(error));
    }
  }
  return warnings;
}
