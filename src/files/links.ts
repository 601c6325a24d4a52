/**
 * The symlinks of the output dir: `..data` and `..prev` (swapped atomically by rename) and the
 * visible top-level links `<name> -> ..data/<name>`.
 */
import { lstatSync, readdirSync, readlinkSync, renameSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { errorCode, OutputError } from '../errors.js';
import { step } from './fs-ops.js';
import { HIDDEN_PREFIX, isGenerationName, newTempName, topLevelTarget } from './layout.js';

/** Target of symlink `name` in `outDir`, or undefined when there is no such entry. */
export function readLinkIfPresent(outDir: string, name: string): string | undefined {
  const path = join(outDir, name);
  try {
    return readlinkSync(path);
  } catch (error: unknown) {
    const code = errorCode(error);
    if (code === 'ENOENT') return undefined;
    if (code === 'EINVAL') {
      throw new OutputError(`refusing to use ${path}: it exists and is not a symlink (not written by bucket-agent?)`);
    }
    throw new OutputError(`cannot read link ${path}: ${code ?? 'unknown error'}`, { cause: error });
  }
}

/**
 * The generation `..data` (or `..prev`) points to. A target that is not a sibling generation
 * name was not written by us; following it could lead outside the output dir, so it is refused.
 */
export function readGenerationLink(outDir: string, name: string): string | undefined {
  const target = readLinkIfPresent(outDir, name);
  if (target === undefined || isGenerationName(target)) return target;
  const path = join(outDir, name);
  throw new OutputError(`refusing to use ${path}: it points to ${JSON.stringify(target)}, not a generation dir`);
}

/**
 * Points `outDir/name` at `target` atomically: a temp symlink renamed over the old entry, so a
 * reader sees the old target or the new one, never no link. The temp link is removed on failure.
 */
export function replaceLink(outDir: string, name: string, target: string): void {
  const temp = join(outDir, newTempName(name.replace(/^\.+/, '')));
  step('create symlink', temp, () => symlinkSync(target, temp));
  try {
    step('rename symlink over', join(outDir, name), () => renameSync(temp, join(outDir, name)));
  } catch (error: unknown) {
    try {
      unlinkSync(temp);
    } catch {
      // Best effort: the rename failure is what the caller needs; a leftover is pruned next time.
    }
    throw error;
  }
}

/** What the visible top-level entries need for a new set. */
export interface TopLevelPlan {
  /** Names of the new set with no entry yet: linked before the swap (dangling until then). */
  readonly missing: readonly string[];
  /** Our links (`name -> ..data/name`) whose name is not in the new set: removed after the swap. */
  readonly gone: readonly string[];
}

/**
 * Checks the visible entries against the new top-level names. An entry with one of those names
 * that is not our link (a file, a dir, a symlink elsewhere) is refused rather than replaced: it
 * belongs to someone else, and replacing it could redirect their reads.
 */
export function planTopLevel(outDir: string, names: readonly string[]): TopLevelPlan {
  const ours = listOurLinks(outDir);
  const missing: string[] = [];
  for (const name of names) {
    if (ours.has(name)) continue;
    if (entryExists(join(outDir, name))) {
      throw new OutputError(
        `refusing to write ${JSON.stringify(name)}: ${join(outDir, name)} exists and is not ` + 'a bucket-agent link; move it away',
      );
    }
    missing.push(name);
  }
  const gone = [...ours].filter((name) => !names.includes(name)).sort();
  return { missing, gone };
}

function listOurLinks(outDir: string): Set<string> {
  const entries = step('list', outDir, () => readdirSync(outDir, { withFileTypes: true }));
  const ours = new Set<string>();
  for (const entry of entries) {
    if (!entry.isSymbolicLink() || entry.name.startsWith(HIDDEN_PREFIX)) continue;
    const target = readLinkIfPresent(outDir, entry.name);
    if (target === topLevelTarget(entry.name)) ours.add(entry.name);
  }
  return ours;
}

function entryExists(path: string): boolean {
  return step('inspect', path, () => lstatSync(path, { throwIfNoEntry: false })) !== undefined;
}

/** Creates `outDir/name -> ..data/name`; the caller made sure nothing is there. */
export function createTopLevelLink(outDir: string, name: string): void {
  const path = join(outDir, name);
  step('create symlink', path, () => symlinkSync(topLevelTarget(name), path));
}

/** Removes a link this writer made; a link that is already gone is fine. */
export function removeLink(outDir: string, name: string): void {
  const path = join(outDir, name);
  step('remove symlink', path, () => {
    try {
      unlinkSync(path);
    } catch (error: unknown) {
      if (errorCode(error) !== 'ENOENT') throw error;
    }
  });
}
