/**
 * Names and rules of the output directory layout, and validation of what callers ask to write.
 * Pure: no IO. Everything here runs before the first byte touches the disk, so a bad request
 * fails without side effects.
 */
import { randomBytes } from 'node:crypto';
import { OutputError } from '../errors.js';
import type { RenderedFile } from '../render/types.js';

/** Symlink to the current generation; readers resolve it once for a consistent view. */
export const DATA_LINK = '..data';
/**
 * Symlink to the generation that was current before the last swap. It exists so that the
 * generation a slow reader resolved stays on disk until the next swap, and so that leftovers of a
 * crashed run can be told apart from it without guessing from timestamps.
 */
export const PREVIOUS_LINK = '..prev';
/** Every entry the writer owns in the output dir starts with this, as in the kubelet's layout. */
export const HIDDEN_PREFIX = '..';
const TEMP_PREFIX = '..tmp-';

export const DEFAULT_FILE_MODE = 0o440;
export const DEFAULT_DIR_MODE = 0o550;
/** Mode of the output dir when the writer creates it: readers of any uid must traverse it. */
export const DEFAULT_OUT_DIR_MODE = 0o755;
/**
 * How long a generation that stopped being current is kept even after it is no longer `..prev`.
 * Keeping only `..prev` gives a reader that resolved `..data` one render interval, which is
 * enough when renders are minutes apart but not in a burst: on a loaded node a reader thread can
 * be descheduled for tens of milliseconds in the middle of resolving `..data` (measured with the
 * concurrency test on a 2-CPU machine at load 10). A second covers any such stall.
 */
export const DEFAULT_RETIRED_GRACE_MS = 1000;

// Linux uid_t is 32 bits and (uid_t)-1 means "unchanged" in chown(2), so it is not a valid id.
const MAX_ID = 0xfffffffe;

export interface WriteOptions {
  /** Mode of every written file; default DEFAULT_FILE_MODE (0440). */
  fileMode?: number;
  /** Mode of every directory inside a generation; default DEFAULT_DIR_MODE (0550). */
  dirMode?: number;
  /** Owner to chown files and directories to; needs root or CAP_CHOWN. */
  uid?: number;
  gid?: number;
  /** See DEFAULT_RETIRED_GRACE_MS; 0 keeps only the current and the previous generation. */
  retiredGraceMs?: number;
}

export interface ResolvedOptions {
  readonly fileMode: number;
  readonly dirMode: number;
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  readonly retiredGraceMs: number;
}

/** A validated file set: contents as bytes, keyed by normalized relative path. */
export interface FileSet {
  /** Relative file paths, sorted. */
  readonly paths: readonly string[];
  readonly contents: ReadonlyMap<string, Buffer>;
  /** Relative directory paths needed by the files, sorted so parents come first. */
  readonly dirs: readonly string[];
  /** First path segments: the visible entries of the output dir, sorted. */
  readonly topLevel: readonly string[];
}

export function resolveOptions(options: WriteOptions): ResolvedOptions {
  const resolved = {
    fileMode: options.fileMode ?? DEFAULT_FILE_MODE,
    dirMode: options.dirMode ?? DEFAULT_DIR_MODE,
    uid: options.uid,
    gid: options.gid,
    retiredGraceMs: options.retiredGraceMs ?? DEFAULT_RETIRED_GRACE_MS,
  };
  checkMode('fileMode', resolved.fileMode);
  checkMode('dirMode', resolved.dirMode);
  checkId('uid', resolved.uid);
  checkId('gid', resolved.gid);
  if (!Number.isFinite(resolved.retiredGraceMs) || resolved.retiredGraceMs < 0) {
    throw new OutputError(`retiredGraceMs must be a non-negative number, got ${String(resolved.retiredGraceMs)}`);
  }
  return resolved;
}

function checkMode(name: string, mode: number): void {
  // Permission bits only: setuid/setgid/sticky on credentials files would be a mistake.
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) {
    throw new OutputError(`${name} must be a permission mode between 0 and 0o777, got ${String(mode)}`);
  }
}

function checkId(name: string, id: number | undefined): void {
  if (id !== undefined && (!Number.isInteger(id) || id < 0 || id > MAX_ID)) {
    throw new OutputError(`${name} must be an integer between 0 and ${MAX_ID}, got ${String(id)}`);
  }
}

/**
 * Splits a relative path into segments, refusing anything that could land outside the output dir
 * or on one of the writer's own hidden entries. The message quotes the path (never the content).
 */
export function splitRelativePath(path: string): string[] {
  const refuse = (why: string): never => {
    throw new OutputError(`refusing to write ${JSON.stringify(path)}: ${why}`);
  };
  if (path.length === 0) refuse('empty path');
  if (path.includes('\0')) refuse('path contains NUL');
  if (path.startsWith('/')) refuse('path must be relative to the output dir');
  const segments = path.split('/');
  for (const segment of segments) {
    if (segment === '') refuse('empty path segment');
    if (segment === '.' || segment === '..') refuse(`path segment "${segment}" is not allowed`);
  }
  if (segments[0]?.startsWith(HIDDEN_PREFIX)) refuse(`top-level names starting with "${HIDDEN_PREFIX}" are reserved`);
  return segments;
}

/** Validates a whole set: paths, duplicates, and a path used both as a file and as a directory. */
export function buildFileSet(files: readonly RenderedFile[]): FileSet {
  if (files.length === 0) {
    // An empty set would delete every credentials file; that is never what a render means.
    throw new OutputError('refusing to write an empty file set');
  }
  const contents = new Map<string, Buffer>();
  const dirs = new Set<string>();
  for (const file of files) {
    const segments = splitRelativePath(file.path);
    if (contents.has(file.path)) throw new OutputError(`refusing to write ${JSON.stringify(file.path)} twice`);
    contents.set(file.path, Buffer.from(file.content, 'utf8'));
    for (let i = 1; i < segments.length; i++) dirs.add(segments.slice(0, i).join('/'));
  }
  for (const dir of dirs) {
    if (contents.has(dir)) {
      throw new OutputError(`refusing to write ${JSON.stringify(dir)}: it is both a file and a directory`);
    }
  }
  const paths = [...contents.keys()].sort();
  const topLevel = [...new Set(paths.map((p) => p.split('/')[0] ?? p))].sort();
  return { paths, contents, dirs: [...dirs].sort(), topLevel };
}

/** Unique name of a new generation dir: `..<UTC timestamp>-<random>`, sortable by creation time. */
export function newGenerationName(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '');
  return `${HIDDEN_PREFIX}${stamp}-${randomBytes(6).toString('hex')}`;
}

/** Unique name for a temporary symlink that is renamed over its final name. */
export function newTempName(purpose: string): string {
  return `${TEMP_PREFIX}${purpose}-${randomBytes(6).toString('hex')}`;
}

/** Target of the visible link for a top-level name: always through `..data`, never a generation. */
export function topLevelTarget(name: string): string {
  return `${DATA_LINK}/${name}`;
}

/** Whether a `..data`/`..prev` target looks like one of our generation dirs (a sibling name). */
export function isGenerationName(name: string): boolean {
  return (
    name.startsWith(HIDDEN_PREFIX) &&
    !name.startsWith(TEMP_PREFIX) &&
    name !== DATA_LINK &&
    name !== PREVIOUS_LINK &&
    !name.includes('/') &&
    name.length > HIDDEN_PREFIX.length
  );
}
