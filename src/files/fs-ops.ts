/**
 * Small filesystem steps shared by the writer, each turning a failure into an OutputError that
 * names the path and the errno code. Messages never include file contents: they are credentials.
 * All synchronous: see the module comment of atomic-writer.ts for why.
 */
import { chmodSync, closeSync, fsyncSync, lstatSync, openSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorCode, OutputError } from '../errors.js';

/** Wraps any failure of `action` on `path`; an OutputError raised deeper is passed through. */
export function toOutputError(action: string, path: string, error: unknown): OutputError {
  if (error instanceof OutputError) return error;
  const code = errorCode(error) ?? 'unknown error';
  return new OutputError(`cannot ${action} ${path}: ${code}`, { cause: error });
}

/** Runs one filesystem step, wrapping its failure (see toOutputError). */
export function step<T>(action: string, path: string, run: () => T): T {
  try {
    return run();
  } catch (error: unknown) {
    throw toOutputError(action, path, error);
  }
}

// statfs(2) f_type of the memory-backed filesystems (linux/magic.h).
const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;

/**
 * Whether fsync is worth its cost in `dir`: not on tmpfs or ramfs (a memory emptyDir, /dev/shm),
 * whose content does not survive a crash whatever we sync; on a disk it is what makes a swapped-in
 * generation survive one. When statfs cannot tell, fsync is kept: that is the safe side.
 */
export function needsFsync(dir: string): boolean {
  try {
    const { type } = statfsSync(dir);
    return type !== TMPFS_MAGIC && type !== RAMFS_MAGIC;
  } catch {
    return true;
  }
}

/**
 * Creates `path` exclusively (a leftover with the same name is an error, never reused), writes it
 * and, when `fsync` is set, fsyncs it, so the bytes are durable before any link can point at them.
 */
export function writeNewFile(path: string, content: Buffer, fsync: boolean): void {
  step('write', path, () => {
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeFileSync(fd, content);
      if (fsync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  });
}

/** fsyncs a directory so the entries created or renamed in it survive a crash. */
export function syncDir(path: string): void {
  step('fsync', path, () => {
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  });
}

/**
 * Removes a tree the writer made. Its dirs may be 0550 (or less), which a non-root owner cannot
 * delete entries from, so owner rwx is restored on every dir first. Symlinks are never followed.
 */
export function removeTree(path: string): void {
  step('remove', path, () => {
    restoreOwnerAccess(path);
    rmSync(path, { recursive: true, force: true });
  });
}

function restoreOwnerAccess(path: string): void {
  const stats = lstatSync(path, { throwIfNoEntry: false });
  if (stats === undefined || !stats.isDirectory()) return;
  // Only the owner bits are added; group/other stay as they were until the tree is gone.
  chmodSync(path, (stats.mode & 0o777) | 0o700);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isDirectory()) restoreOwnerAccess(join(path, entry.name));
  }
}

/** Entries of a generation dir, relative, without following symlinks. */
export interface TreeListing {
  readonly files: string[];
  readonly dirs: string[];
  /** Anything that is neither a regular file nor a dir (symlinks, fifos...): never ours. */
  readonly others: string[];
}

export function listTree(root: string): TreeListing {
  const listing: TreeListing = { files: [], dirs: [], others: [] };
  walk(root, '', listing);
  return listing;
}

function walk(root: string, prefix: string, listing: TreeListing): void {
  for (const entry of readdirSync(join(root, prefix), { withFileTypes: true })) {
    const relative = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) {
      listing.dirs.push(relative);
      walk(root, relative, listing);
    } else if (entry.isFile()) {
      listing.files.push(relative);
    } else {
      listing.others.push(relative);
    }
  }
}
