/**
 * The symlinks of the output dir: `..data` and `..prev` (swapped atomically by rename) and the
 * visible top-level links `<name> -> ..data/<name>`.
 */
import { lstat, readdir, readlink, rename, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { OutputError } from '../errors.js';
import { errorCode, step } from './fs-ops.js';
import { HIDDEN_PREFIX, isGenerationName, newTempName, topLevelTarget } from './layout.js';

/** Target of symlink `name` in `outDir`, or undefined when there is no such entry. */
export async function readLinkIfPresent(outDir: string, name: string): Promise<string | undefined> {
  const path = join(outDir, name);
  try {
    return await readlink(path);
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
export async function readGenerationLink(outDir: string, name: string): Promise<string | undefined> {
  const target = await readLinkIfPresent(outDir, name);
  if (target === undefined || isGenerationName(target)) return target;
  const path = join(outDir, name);
  throw new OutputError(`refusing to use ${path}: it points to ${JSON.stringify(target)}, not a generation dir`);
}

/**
 * Points `outDir/name` at `target` atomically: a temp symlink renamed over the old entry, so a
 * reader sees the old target or the new one, never no link. The temp link is removed on failure.
 */
export async function replaceLink(outDir: string, name: string, target: string): Promise<void> {
  const temp = join(outDir, newTempName(name.replace(/^\.+/, '')));
  await step('create symlink', temp, () => symlink(target, temp));
  try {
    await step('rename symlink over', join(outDir, name), () => rename(temp, join(outDir, name)));
  } catch (error: unknown) {
    await unlink(temp).catch(() => undefined);
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
export async function planTopLevel(outDir: string, names: readonly string[]): Promise<TopLevelPlan> {
  const ours = await listOurLinks(outDir);
  const missing: string[] = [];
  for (const name of names) {
    if (ours.has(name)) continue;
    if (await entryExists(join(outDir, name))) {
      throw new OutputError(
        `refusing to write ${JSON.stringify(name)}: ${join(outDir, name)} exists and is not ` +
          'a bucket-agent link; move it away',
      );
    }
    missing.push(name);
  }
  const gone = [...ours].filter((name) => !names.includes(name)).sort();
  return { missing, gone };
}

async function listOurLinks(outDir: string): Promise<Set<string>> {
  const entries = await step('list', outDir, () => readdir(outDir, { withFileTypes: true }));
  const ours = new Set<string>();
  for (const entry of entries) {
    if (!entry.isSymbolicLink() || entry.name.startsWith(HIDDEN_PREFIX)) continue;
    const target = await readLinkIfPresent(outDir, entry.name);
    if (target === topLevelTarget(entry.name)) ours.add(entry.name);
  }
  return ours;
}

async function entryExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error: unknown) {
    if (errorCode(error) === 'ENOENT') return false;
    throw new OutputError(`cannot inspect ${path}: ${errorCode(error) ?? 'unknown error'}`, { cause: error });
  }
}

/** Creates `outDir/name -> ..data/name`; the caller made sure nothing is there. */
export async function createTopLevelLink(outDir: string, name: string): Promise<void> {
  const path = join(outDir, name);
  await step('create symlink', path, () => symlink(topLevelTarget(name), path));
}

/** Removes a link this writer made; a link that is already gone is fine. */
export async function removeLink(outDir: string, name: string): Promise<void> {
  const path = join(outDir, name);
  await step('remove symlink', path, () =>
    unlink(path).catch((error: unknown) => {
      if (errorCode(error) !== 'ENOENT') throw error;
    }),
  );
}
