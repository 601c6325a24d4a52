/**
 * Writes one complete generation dir and compares a generation with a requested file set.
 * A generation is never modified after it is linked as `..data`: that is what lets a reader
 * that resolved the link read several files of one render.
 */
import { chmod, chown, lstat, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OutputError } from '../errors.js';
import { errorCode, listTree, settleAll, step, syncDir, writeDurably } from './fs-ops.js';
import type { FileSet, ResolvedOptions } from './layout.js';

/**
 * Builds `genDir` from scratch. Contents are written and fsynced while everything is private
 * (0700 dirs, 0600 files); ownership and then the final modes come last, because a 0550 dir can
 * no longer be written into by a non-root owner and a chown would be refused on a half-built tree
 * just as well as on a full one. Independent steps run in parallel (a render is ~40 syscalls,
 * each a thread-pool round trip); every batch settles fully before the next step or a rollback.
 */
export async function buildGeneration(genDir: string, set: FileSet, options: ResolvedOptions): Promise<void> {
  // Not recursive: the generation dir must be new; a leftover with the same name is an error.
  await mkdirPrivate(genDir);
  for (const level of byDepth(set.dirs)) await settleAll(level.map((dir) => mkdirPrivate(join(genDir, dir))));
  const contentOf = (path: string): Buffer => set.contents.get(path) ?? Buffer.alloc(0);
  await settleAll(set.paths.map((path) => writeDurably(join(genDir, path), contentOf(path))));
  // Entries are durable before the link swap can make them reachable.
  await settleAll([genDir, ...set.dirs.map((dir) => join(genDir, dir))].map((dir) => syncDir(dir)));
  await applyOwnership(genDir, set, options);
  await applyModes(genDir, set, options);
}

async function mkdirPrivate(path: string): Promise<void> {
  await step('create directory', path, () => mkdir(path, { mode: 0o700 }));
}

/** Dirs grouped by depth, shallowest first (a dir is created after its parent). */
function byDepth(dirs: readonly string[]): string[][] {
  const levels: string[][] = [];
  for (const dir of dirs) {
    const depth = dir.split('/').length - 1;
    (levels[depth] ??= []).push(dir);
  }
  return levels.filter((level) => level !== undefined);
}

async function applyOwnership(genDir: string, set: FileSet, options: ResolvedOptions): Promise<void> {
  if (options.uid === undefined && options.gid === undefined) return;
  await settleAll(allPaths(genDir, set).map((path) => chownOne(path, options)));
}

async function chownOne(path: string, options: ResolvedOptions): Promise<void> {
  // -1 leaves that id unchanged (chown(2)), so uid and gid can be given independently.
  const uid = options.uid ?? -1;
  const gid = options.gid ?? -1;
  try {
    await chown(path, uid, gid);
  } catch (error: unknown) {
    const code = errorCode(error) ?? 'unknown error';
    const hint = code === 'EPERM' ? ' (setting uid/gid needs root or CAP_CHOWN)' : '';
    throw new OutputError(`cannot chown ${path} to ${String(options.uid)}:${String(options.gid)}: ${code}${hint}`, {
      cause: error,
    });
  }
}

async function applyModes(genDir: string, set: FileSet, options: ResolvedOptions): Promise<void> {
  const chmodOne = (path: string, mode: number): Promise<void> => step('chmod', path, () => chmod(path, mode));
  await settleAll(set.paths.map((path) => chmodOne(join(genDir, path), options.fileMode)));
  // Deepest level first and the generation dir last: a dir mode without owner x would otherwise
  // block reaching its children.
  for (const level of byDepth(set.dirs).reverse()) {
    await settleAll(level.map((dir) => chmodOne(join(genDir, dir), options.dirMode)));
  }
  await chmodOne(genDir, options.dirMode);
}

function allPaths(genDir: string, set: FileSet): string[] {
  return [genDir, ...set.dirs.map((d) => join(genDir, d)), ...set.paths.map((p) => join(genDir, p))];
}

/**
 * Whether `genDir` holds exactly the requested files with the requested bytes, modes and owner.
 * Any doubt (unreadable entry, unexpected type) answers false: a new generation is always safe.
 */
export async function generationMatches(genDir: string, set: FileSet, options: ResolvedOptions): Promise<boolean> {
  try {
    const listing = await listTree(genDir);
    if (listing.others.length > 0) return false;
    if (!sameList(listing.files, set.paths) || !sameList(listing.dirs, set.dirs)) return false;
    return (await dirsMatch(genDir, set, options)) && (await filesMatch(genDir, set, options));
  } catch {
    // Deliberately swallowed: a generation we cannot inspect is simply replaced.
    return false;
  }
}

async function dirsMatch(genDir: string, set: FileSet, options: ResolvedOptions): Promise<boolean> {
  const checks = ['', ...set.dirs].map((dir) => attributesMatch(join(genDir, dir), options.dirMode, options));
  return (await Promise.all(checks)).every(Boolean);
}

async function filesMatch(genDir: string, set: FileSet, options: ResolvedOptions): Promise<boolean> {
  const checks = set.paths.map((path) => fileMatches(join(genDir, path), set.contents.get(path), options));
  return (await Promise.all(checks)).every(Boolean);
}

async function fileMatches(path: string, expected: Buffer | undefined, options: ResolvedOptions): Promise<boolean> {
  if (expected === undefined || !(await attributesMatch(path, options.fileMode, options))) return false;
  return (await readFile(path)).equals(expected);
}

async function attributesMatch(path: string, mode: number, options: ResolvedOptions): Promise<boolean> {
  const stats = await lstat(path);
  if ((stats.mode & 0o7777) !== mode) return false;
  if (options.uid !== undefined && stats.uid !== options.uid) return false;
  return options.gid === undefined || stats.gid === options.gid;
}

function sameList(actual: readonly string[], expected: readonly string[]): boolean {
  if (actual.length !== expected.length) return false;
  const sorted = [...actual].sort();
  return sorted.every((value, i) => value === expected[i]);
}
