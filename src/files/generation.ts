/**
 * Writes one complete generation dir and compares a generation with a requested file set.
 * A generation is never modified after it is linked as `..data`: that is what lets a reader
 * that resolved the link read several files of one render.
 */
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorCode, OutputError } from '../errors.js';
import { listTree, step, syncDir, writeNewFile } from './fs-ops.js';
import type { FileSet, ResolvedOptions } from './layout.js';

/**
 * Builds `genDir` from scratch. Contents are written (and fsynced when `fsync` is set) while
 * everything is private (0700 dirs, 0600 files); ownership and then the final modes come last,
 * because a 0550 dir can no longer be written into by a non-root owner and a chown would be
 * refused on a half-built tree just as well as on a full one.
 */
export function buildGeneration(genDir: string, set: FileSet, options: ResolvedOptions, fsync: boolean): void {
  const dirs = [genDir, ...set.dirs.map((dir) => join(genDir, dir))];
  // Not recursive: the generation dir must be new; a leftover with the same name is an error.
  // set.dirs is sorted, so a parent comes before its children.
  for (const dir of dirs) step('create directory', dir, () => mkdirSync(dir, { mode: 0o700 }));
  for (const path of set.paths) writeNewFile(join(genDir, path), set.contents.get(path) ?? Buffer.alloc(0), fsync);
  // Entries are durable before the link swap can make them reachable.
  if (fsync) for (const dir of dirs) syncDir(dir);
  applyOwnership([...dirs, ...set.paths.map((path) => join(genDir, path))], options);
  applyModes(genDir, set, options);
}

/** chown as --uid/--gid say (nothing when neither is given); EPERM explained. */
export function applyOwnership(paths: readonly string[], options: ResolvedOptions): void {
  if (options.uid === undefined && options.gid === undefined) return;
  // -1 leaves that id unchanged (chown(2)), so uid and gid can be given independently.
  const uid = options.uid ?? -1;
  const gid = options.gid ?? -1;
  for (const path of paths) {
    try {
      chownSync(path, uid, gid);
    } catch (error: unknown) {
      const code = errorCode(error) ?? 'unknown error';
      const hint = code === 'EPERM' ? ' (setting uid/gid needs root or CAP_CHOWN)' : '';
      const owner = `${String(options.uid)}:${String(options.gid)}`;
      throw new OutputError(`cannot chown ${path} to ${owner}: ${code}${hint}`, { cause: error });
    }
  }
}

function applyModes(genDir: string, set: FileSet, options: ResolvedOptions): void {
  const chmodOne = (path: string, mode: number): void => step('chmod', path, () => chmodSync(path, mode));
  for (const path of set.paths) chmodOne(join(genDir, path), options.fileMode);
  // Children before parents and the generation dir last: a dir mode without owner x would
  // otherwise block reaching what is below it.
  for (const dir of [...set.dirs].reverse()) chmodOne(join(genDir, dir), options.dirMode);
  chmodOne(genDir, options.dirMode);
}

/**
 * Whether `genDir` holds exactly the requested files with the requested bytes, modes and owner.
 * Any doubt (unreadable entry, unexpected type) answers false: a new generation is always safe.
 */
export function generationMatches(genDir: string, set: FileSet, options: ResolvedOptions): boolean {
  try {
    const listing = listTree(genDir);
    if (listing.others.length > 0) return false;
    if (!sameList(listing.files, set.paths) || !sameList(listing.dirs, set.dirs)) return false;
    const dirsMatch = ['', ...set.dirs].every((dir) => attributesMatch(join(genDir, dir), options.dirMode, options));
    return dirsMatch && set.paths.every((path) => fileMatches(join(genDir, path), set.contents.get(path), options));
  } catch {
    // Deliberately swallowed: a generation we cannot inspect is simply replaced.
    return false;
  }
}

function fileMatches(path: string, expected: Buffer | undefined, options: ResolvedOptions): boolean {
  if (expected === undefined || !attributesMatch(path, options.fileMode, options)) return false;
  return readFileSync(path).equals(expected);
}

function attributesMatch(path: string, mode: number, options: ResolvedOptions): boolean {
  const stats = lstatSync(path);
  if ((stats.mode & 0o7777) !== mode) return false;
  if (options.uid !== undefined && stats.uid !== options.uid) return false;
  return options.gid === undefined || stats.gid === options.gid;
}

function sameList(actual: readonly string[], expected: readonly string[]): boolean {
  if (actual.length !== expected.length) return false;
  const sorted = [...actual].sort();
  return sorted.every((value, i) => value === expected[i]);
}
