/**
 * Reads one kubelet-mounted Secret volume `<dir>/<name>/` as a Secret object, consistently.
 *
 * The kubelet's atomic writer (pkg/volume/util/atomic_writer.go) lays a Secret volume out as
 *
 *   ..2025_01_02_03_04_05.123456789/   one generation: the real files, never modified once linked
 *   ..data -> ..2025_01_02_...         the current generation, swapped by rename(2)
 *   accessKey -> ..data/accessKey      one visible link per key
 *
 * and after the swap it adds links for new keys, removes links of gone keys and deletes the old
 * generation. Reading through the visible links could mix two generations (or miss a new key whose
 * link is not there yet), so `..data` is resolved once and the keys are listed and read from that
 * generation dir. If the kubelet deletes the generation under us (ENOENT), the read starts over.
 *
 * Synchronous on purpose, like the atomic writer: a Secret volume is a tmpfs holding a few small
 * files, so a read is a dozen syscalls of microseconds each, cheaper than the thread-pool round
 * trips of fs/promises, and no other callback can run between resolving `..data` and the last read.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SecretObject } from '../credentials/index.js';
import { UsageError } from '../errors.js';
import { errorCode } from '../errors.js';

/** The kubelet's link to the current generation. */
export const DATA_LINK = '..data';
/** Names the kubelet reserves for itself (generations, `..data`, `..data_tmp`); keys never start so. */
export const RESERVED_PREFIX = '..';
/** Start-overs when the generation being read is deleted under us; each one means a new swap happened. */
export const READ_ATTEMPTS = 5;

export type VolumeState = { readonly kind: 'absent' } | { readonly kind: 'present'; readonly secret: SecretObject; readonly hash: string };

const ABSENT: VolumeState = { kind: 'absent' };

/**
 * The Secret mounted at `candidateDir` (named `name`), or absent when the dir is missing or holds
 * no key (an `optional` Secret volume whose Secret does not exist, or was deleted: the kubelet then
 * writes an empty generation). Throws UsageError when the path exists but is not a directory
 * (a file: typically a `subPath` mount, which the kubelet never updates), and the fs error
 * (EACCES, EIO, ENOENT after READ_ATTEMPTS swaps) for anything the caller should retry.
 */
export function readSecretVolume(candidateDir: string, name: string): VolumeState {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return readOnce(candidateDir, name);
    } catch (error: unknown) {
      // Only a generation vanishing mid-read is retried here; the dir itself vanishing reads as absent.
      if (errorCode(error) !== 'ENOENT' || attempt >= READ_ATTEMPTS) throw error;
    }
  }
}

function readOnce(candidateDir: string, name: string): VolumeState {
  const stats = statCandidate(candidateDir);
  if (stats === undefined) return ABSENT;
  if (!stats.isDirectory()) {
    throw new UsageError(
      `${candidateDir} is not a directory: mount the Secret ${name} as a whole volume there (a subPath mount is never updated)`,
    );
  }
  const generation = resolveGeneration(candidateDir);
  const files = generation === undefined ? readPlainDir(candidateDir) : readGeneration(generation);
  // A generation is never changed while linked, only deleted after a swap, so if `..data` still
  // points at it, every read above saw it whole. Otherwise it may have been emptied under us
  // (readdir can list a generation half-deleted): start over, as for ENOENT.
  if (generation !== undefined && resolveGeneration(candidateDir) !== generation) throw swappedDuringRead(candidateDir);
  return files.size === 0 ? ABSENT : present(name, files);
}

function swappedDuringRead(candidateDir: string): Error {
  return Object.assign(new Error(`${candidateDir}: ${DATA_LINK} was swapped during the read`), { code: 'ENOENT' });
}

function statCandidate(candidateDir: string): Stats | undefined {
  try {
    // Not `throwIfNoEntry: false`: newer Node (24) then hides ENOTDIR as well, which is no absence.
    return statSync(candidateDir);
  } catch (error: unknown) {
    if (errorCode(error) === 'ENOENT') return undefined;
    if (errorCode(error) !== 'ENOTDIR') throw error;
    throw new UsageError(`cannot read ${candidateDir}: ${dirname(candidateDir)} is not a directory (the secrets dir must be one)`);
  }
}

/** The real path of the current generation, or undefined when the dir has no `..data` (not a kubelet volume, or empty). */
function resolveGeneration(candidateDir: string): string | undefined {
  const link = join(candidateDir, DATA_LINK);
  if (lstatSync(link, { throwIfNoEntry: false }) === undefined) return undefined;
  // ENOENT here (a dangling `..data`: its generation was just replaced) propagates and is retried.
  return realpathSync(link);
}

/** Every regular file of one generation, by key. Nested dirs (Secret `items` with a path) carry no key of ours. */
function readGeneration(genDir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const entry of readdirSync(genDir, { withFileTypes: true })) {
    if (entry.name.startsWith(RESERVED_PREFIX) || !entry.isFile()) continue;
    files.set(entry.name, readFileSync(join(genDir, entry.name)));
  }
  return files;
}

/**
 * A dir without `..data` (filled by something other than the kubelet): its visible regular files,
 * links followed. Not atomic against its writer; a later event re-reads it.
 */
function readPlainDir(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const entryName of readdirSync(dir)) {
    if (entryName.startsWith(RESERVED_PREFIX)) continue;
    const path = join(dir, entryName);
    // A dangling link (`key -> ..data/key` before `..data` exists) is no key yet.
    if (statSync(path, { throwIfNoEntry: false })?.isFile() !== true) continue;
    files.set(entryName, readFileSync(path));
  }
  return files;
}

/**
 * As the apiserver would serve it: `data` base64, so decodeSecret's checks (UTF-8, ...) apply
 * unchanged. resourceVersion is a content hash: a volume has no version of its own, and the hash
 * is what tells a real change from a swap that rewrote the same bytes.
 */
function present(name: string, files: ReadonlyMap<string, Buffer>): VolumeState {
  const keys = [...files.keys()].sort();
  const hash = createHash('sha256');
  const data: Record<string, string> = {};
  for (const key of keys) {
    const bytes = files.get(key) ?? Buffer.alloc(0);
    // Length-prefixed, so no two different key sets can hash alike by shifting bytes between fields.
    hash.update(`${key.length}:${key}:${bytes.length}:`).update(bytes);
    data[key] = bytes.toString('base64');
  }
  const digest = hash.digest('hex').slice(0, 32);
  return { kind: 'present', hash: digest, secret: { kind: 'Secret', metadata: { name, resourceVersion: `sha256:${digest}` }, data } };
}
