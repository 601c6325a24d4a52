/**
 * The kubelet's Secret volume writer, simulated on a real directory: the same on-disk steps, in
 * the same order, as its AtomicWriter (pkg/volume/util/atomic_writer.go), written from that
 * algorithm's description:
 *
 *   1. a new generation dir `..<UTC timestamp>.<random>` (mode 0755) gets every file of the payload;
 *   2. a `..data_tmp` symlink to it is renamed over `..data`: the one atomic step readers rely on;
 *   3. a visible link `key -> ..data/key` is created for each key that has none;
 *   4. visible links of keys the payload no longer has are removed;
 *   5. the previous generation dir is removed.
 *
 * The kubelet skips a payload identical to the current generation; `force` writes it anyway, as a
 * fresh generation, to check that readers do not report a swap that changed nothing.
 */
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  chmodSync,
} from 'node:fs';
import { join } from 'node:path';

export type VolumePayload = Readonly<Record<string, Buffer | string>>;

export interface VolumeWriteOptions {
  /** File mode of the keys; the kubelet's default (`defaultMode`) is 0644. */
  readonly mode?: number;
  /** Write a new generation even when the payload equals the current one. */
  readonly force?: boolean;
  /** Called right after the `..data` rename, the instant readers can see the new payload (benchmarks). */
  readonly onSwapped?: () => void;
}

const DATA_LINK = '..data';
const TEMP_LINK = '..data_tmp';

/** Makes `dir` hold exactly `data`, kubelet-style. Returns false when nothing had to change. */
export function writeSecretVolume(dir: string, data: VolumePayload, options: VolumeWriteOptions = {}): boolean {
  for (const key of Object.keys(data)) checkKey(key);
  mkdirSync(dir, { recursive: true });
  const previous = currentGeneration(dir);
  if (previous !== undefined && options.force !== true && sameContent(join(dir, previous), data)) return false;
  const generation = writeGeneration(dir, data, options.mode ?? 0o644);
  swapData(dir, generation);
  options.onSwapped?.();
  const keys = new Set(Object.keys(data));
  for (const key of keys) {
    if (lstatSync(join(dir, key), { throwIfNoEntry: false }) === undefined) symlinkSync(join(DATA_LINK, key), join(dir, key));
  }
  for (const name of readdirSync(dir)) {
    if (!name.startsWith('..') && !keys.has(name)) unlinkSync(join(dir, name));
  }
  if (previous !== undefined) rmSync(join(dir, previous), { recursive: true, force: true });
  return true;
}

/**
 * What the kubelet does to an `optional: true` Secret volume when the Secret is deleted (and what
 * it mounts when it never existed): an empty payload. The key files vanish, the dir stays.
 */
export function clearSecretVolume(dir: string): boolean {
  return writeSecretVolume(dir, {});
}

function checkKey(key: string): void {
  // The kubelet refuses these too: they would collide with its own entries or leave the dir.
  if (key === '' || key.startsWith('..') || key.includes('/') || key === '.') throw new Error(`invalid key ${JSON.stringify(key)}`);
}

function currentGeneration(dir: string): string | undefined {
  try {
    return readlinkSync(join(dir, DATA_LINK));
  } catch {
    return undefined;
  }
}

function sameContent(genDir: string, data: VolumePayload): boolean {
  const names = readdirSync(genDir).sort();
  const keys = Object.keys(data).sort();
  if (names.join('\0') !== keys.join('\0')) return false;
  return keys.every((key) => readFileSync(join(genDir, key)).equals(toBuffer(data[key] ?? '')));
}

function writeGeneration(dir: string, data: VolumePayload, mode: number): string {
  const genDir = mkdtempSync(join(dir, `${timestamp()}.`));
  chmodSync(genDir, 0o755);
  for (const [key, value] of Object.entries(data)) {
    const path = join(genDir, key);
    writeFileSync(path, toBuffer(value));
    chmodSync(path, mode);
  }
  return genDir.slice(dir.length + 1);
}

function swapData(dir: string, generation: string): void {
  // A leftover of a crashed writer would make symlink() fail.
  rmSync(join(dir, TEMP_LINK), { force: true });
  symlinkSync(generation, join(dir, TEMP_LINK));
  renameSync(join(dir, TEMP_LINK), join(dir, DATA_LINK));
}

/** `..2006_01_02_15_04_05.` as the kubelet formats it (UTC); mkdtemp adds the random part. */
function timestamp(): string {
  const iso = new Date().toISOString();
  return `..${iso.slice(0, 19).replace(/[-T:]/g, '_')}`;
}

function toBuffer(value: Buffer | string): Buffer {
  return typeof value === 'string' ? Buffer.from(value) : value;
}

/** Generation `i` of the consistency test: every key names `i`; the last key is added only in odd ones. */
export function hammerPayload(i: number): Record<string, string> {
  const payload: Record<string, string> = { accessKey: `AK${i}`, secretKey: `SK${i}`, endpoint: `https://s3-${i}.example` };
  if (i % 2 === 1) payload.region = `r${i}`;
  return payload;
}
