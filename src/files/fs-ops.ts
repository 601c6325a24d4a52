/**
 * Small filesystem steps shared by the writer, each turning a failure into an OutputError that
 * names the path and the errno code. Messages never include file contents: they are credentials.
 */
import { chmod, lstat, open, readdir, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { OutputError } from '../errors.js';

/** `code` of a Node system error, if it is one. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    return typeof error.code === 'string' ? error.code : undefined;
  }
  return undefined;
}

/** Wraps any failure of `action` on `path`; an OutputError raised deeper is passed through. */
export function toOutputError(action: string, path: string, error: unknown): OutputError {
  if (error instanceof OutputError) return error;
  const code = errorCode(error) ?? 'unknown error';
  return new OutputError(`cannot ${action} ${path}: ${code}`, { cause: error });
}

/** Runs one filesystem step, wrapping its failure (see toOutputError). */
export async function step<T>(action: string, path: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error: unknown) {
    throw toOutputError(action, path, error);
  }
}

/**
 * Waits for every promise to settle, then throws the first failure. Unlike Promise.all, nothing
 * is still running when the caller reacts to an error (a rollback racing an in-flight write
 * could leave a file behind in a dir it is deleting).
 */
export async function settleAll(tasks: ReadonlyArray<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(tasks);
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

/**
 * Creates `path` exclusively (a leftover with the same name is an error, never reused), writes it
 * and fsyncs it, so the bytes are durable before any link can point at them.
 */
export async function writeDurably(path: string, content: Buffer): Promise<void> {
  await step('write', path, async () => {
    const handle = await open(path, 'wx', 0o600);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
}

/** fsyncs a directory so the entries created or renamed in it survive a crash. */
export async function syncDir(path: string): Promise<void> {
  await step('fsync', path, async () => {
    const handle: FileHandle = await open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
}

/**
 * Removes a tree the writer made. Its dirs may be 0550 (or less), which a non-root owner cannot
 * delete entries from, so owner rwx is restored on every dir first. Symlinks are never followed.
 */
export async function removeTree(path: string): Promise<void> {
  await step('remove', path, async () => {
    await restoreOwnerAccess(path);
    await rm(path, { recursive: true, force: true });
  });
}

async function restoreOwnerAccess(path: string): Promise<void> {
  const stats = await lstat(path).catch((error: unknown) => {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  });
  if (stats === undefined || !stats.isDirectory()) return;
  // Only the owner bits are added; group/other stay as they were until the tree is gone.
  await chmod(path, (stats.mode & 0o777) | 0o700);
  for (const entry of await readdir(path, { withFileTypes: true })) {
    if (entry.isDirectory()) await restoreOwnerAccess(join(path, entry.name));
  }
}

/** Entries of a generation dir, relative, without following symlinks. */
export interface TreeListing {
  readonly files: string[];
  readonly dirs: string[];
  /** Anything that is neither a regular file nor a dir (symlinks, fifos...): never ours. */
  readonly others: string[];
}

export async function listTree(root: string): Promise<TreeListing> {
  const listing: TreeListing = { files: [], dirs: [], others: [] };
  await walk(root, '', listing);
  return listing;
}

async function walk(root: string, prefix: string, listing: TreeListing): Promise<void> {
  for (const entry of await readdir(join(root, prefix), { withFileTypes: true })) {
    const relative = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) {
      listing.dirs.push(relative);
      await walk(root, relative, listing);
    } else if (entry.isFile()) {
      listing.files.push(relative);
    } else {
      listing.others.push(relative);
    }
  }
}
