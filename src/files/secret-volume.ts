/**
 * The `volume` Secret source: kubelet-mounted Secret volumes under `--secrets-dir`, the Secret
 * named S at `<dir>/S/` (DESIGN.md "Sidecar contract"). Needs no RBAC at all.
 *
 * One chokidar watcher per source, on `dir` with depth 1: that is one inotify watch on `dir`
 * (so a Secret dir that appears later is seen) and one per Secret dir. The kubelet's visible
 * entries are symlinks, which chokidar with `followSymlinks: false` tracks from the dir watch
 * alone, and its hidden generation dirs are ignored, so no watch is spent per key or per
 * generation. No polling: idle costs nothing but the safety re-read.
 *
 * A change is read the moment it is seen, then further events for that Secret are coalesced for
 * `debounceMs` and read once more at the end of the window (a kubelet update is a burst: the
 * `..data` swap, then key links, then the old generation's removal). Reading at the leading edge
 * costs no latency, since a read resolves `..data` and so is consistent at any instant
 * (secret-volume-read.ts); the trailing read makes the last state of a burst always delivered.
 * Reads are hash-compared: a follower reports only a state that differs from the last one.
 *
 * Events that matter are taken from chokidar's `raw` stream (fs.watch as it happens, filtered to
 * `..data` and key names): the rename of `..data` is read about a millisecond after it happened
 * (bench/volume-latency). Chokidar's normalized events come a readdir later; they are read too
 * (they alone tell of files made in a new Secret dir before its watch existed) but open no window.
 * A Secret dir that is itself a symlink (never so from the kubelet) is not descended into, so
 * changes in it arrive by the safety re-read only. A lost event can never stick: every `resyncMs` each followed Secret is re-read anyway (that is
 * also the liveness heartbeat), a handful of syscalls per Secret.
 *
 * Errors: `onUnreadable` (and the follower stops) only for what no retry can fix while the pod
 * lives, since its mounts do not change: the secrets dir or a Secret's path is not a directory
 * (a `subPath` mount, which the kubelet never updates), or the name is not a Secret name. Any
 * other read failure (EACCES from a `defaultMode` the agent's uid may not read, EIO) is
 * `onRetry` with back-off, and the follower keeps reading. A missing secrets dir is not an error:
 * its Secrets are absent until it appears.
 */
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type { FSWatcher } from 'chokidar';
import { UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import type { FollowOptions, SecretFollower, SecretHandlers, SecretSource } from '../runtime/secret-source.js';
import { DATA_LINK, RESERVED_PREFIX } from './secret-volume-read.js';
import { VolumeFollower, type FollowerTiming } from './secret-volume-follower.js';

export { readSecretVolume, type VolumeState } from './secret-volume-read.js';

/** Coalescing window after a read; small, since a read costs microseconds and latency is the point. */
export const DEFAULT_DEBOUNCE_MS = 20;
/** Safety re-read of every followed Secret; a healthy follower's lastProgressAt is never older. */
export const DEFAULT_RESYNC_MS = 60_000;
export const DEFAULT_RETRY_INITIAL_MS = 1_000;
export const DEFAULT_RETRY_MAX_MS = 60_000;

export interface VolumeSourceOptions {
  /** `--secrets-dir`: the Secret named S is mounted at `<dir>/S/`. */
  readonly dir: string;
  readonly log?: Logger;
  readonly debounceMs?: number;
  readonly resyncMs?: number;
  /** Back-off after a failed read (EACCES, EIO): first delay, doubled up to the max. */
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
}

/** Secret names are DNS-1123 subdomains, which also keeps a name from escaping `dir`. */
const SECRET_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function createVolumeSource(options: VolumeSourceOptions): SecretSource {
  return new VolumeSource(options);
}

class VolumeSource implements SecretSource {
  readonly kind = 'volume' as const;
  readonly description: string;
  private readonly root: string;
  private readonly log: Logger | undefined;
  private readonly timing: FollowerTiming;
  private readonly resyncMs: number;
  private readonly followers = new Map<string, Set<VolumeFollower>>();
  private watcher: FSWatcher | undefined;
  /** Settles once the current watcher has scanned `dir` (or failed to start): first reads wait for it. */
  private watching: Promise<void> | undefined;
  /** Bumped whenever the watcher is dropped, so a watcher still starting knows it is not wanted. */
  private epoch = 0;
  private closing: Promise<void> = Promise.resolve();
  private resyncTimer: NodeJS.Timeout | undefined;
  private rootMissing = false;
  /** `dir` with links resolved when the watcher opened: chokidar does not descend into a link it does not follow. */
  private watchedRoot: string;
  private lastWatchError: string | undefined;

  constructor(options: VolumeSourceOptions) {
    this.root = resolve(options.dir);
    this.watchedRoot = this.root;
    this.description = `Secret volumes under ${this.root}`;
    this.log = options.log?.child({ component: 'secret-volume' });
    this.resyncMs = options.resyncMs ?? DEFAULT_RESYNC_MS;
    this.timing = {
      debounceMs: options.debounceMs ?? DEFAULT_DEBOUNCE_MS,
      retryInitialMs: options.retryInitialMs ?? DEFAULT_RETRY_INITIAL_MS,
      retryMaxMs: options.retryMaxMs ?? DEFAULT_RETRY_MAX_MS,
    };
  }

  /**
   * `options.beforeWatch` is not called: the file watch has to exist before the first read (so
   * that no change between the two is lost), and it opens no connection to spare.
   */
  follow(name: string, handlers: SecretHandlers, _options?: FollowOptions): SecretFollower {
    const follower = new VolumeFollower(name, join(this.root, name), handlers, this.timing);
    if (!SECRET_NAME.test(name)) {
      queueMicrotask(() =>
        follower.fail(new UsageError(`cannot read Secret ${JSON.stringify(name.slice(0, 60))} from ${this.root}: not a valid Secret name`)),
      );
      return follower;
    }
    let set = this.followers.get(name);
    if (set === undefined) this.followers.set(name, (set = new Set()));
    set.add(follower);
    follower.onStopped = () => this.forget(follower);
    this.resyncTimer ??= setInterval(() => this.resync(), this.resyncMs);
    void this.ensureWatcher().then(() => follower.start());
    return follower;
  }

  async close(): Promise<void> {
    for (const follower of this.all()) follower.stop();
    this.dropWatcher();
    await this.closing;
  }

  private forget(follower: VolumeFollower): void {
    const set = this.followers.get(follower.name);
    set?.delete(follower);
    if (set?.size === 0) this.followers.delete(follower.name);
    // Nothing followed, nothing held: a caller that stopped every follower can exit without close().
    if (this.followers.size === 0) this.dropWatcher();
  }

  private ensureWatcher(): Promise<void> {
    this.watching ??= this.openWatcher(this.epoch).catch((err: unknown) => {
      // Without a watcher changes still arrive, by the safety re-read: degraded, not broken.
      this.log?.warn(`cannot watch ${this.root}, changes are read every ${this.resyncMs} ms instead: ${errorWords(err)}`);
    });
    return this.watching;
  }

  private async openWatcher(epoch: number): Promise<void> {
    // Loaded on first use: the api source never pays for chokidar.
    const { watch } = await import('chokidar');
    await this.closing;
    if (epoch !== this.epoch) return;
    const rootMissing = !(await isDirectory(this.root));
    const watchedRoot = rootMissing ? this.root : await realpath(this.root).catch(() => this.root);
    if (epoch !== this.epoch) return;
    this.rootMissing = rootMissing;
    this.watchedRoot = watchedRoot;
    if (rootMissing)
      this.log?.warn(`${this.root} does not exist (yet): its Secrets count as absent; looked for again every ${this.resyncMs} ms`);
    const watcher = watch(watchedRoot, {
      persistent: true,
      ignoreInitial: true,
      followSymlinks: false,
      depth: 1,
      usePolling: false,
      // `atomic` would hold unlink events back 100 ms to merge them with a re-add.
      atomic: false,
      ignored: (path: string) => path !== watchedRoot && isReserved(basename(path)),
    });
    this.watcher = watcher;
    watcher.on('all', (event, path) => {
      // Gone (and maybe back later): watched again by the safety re-read once it is there.
      if (event === 'unlinkDir' && path === watchedRoot) this.rootMissing = true;
      this.route(path);
    });
    watcher.on('raw', (_event, file, details) => this.routeRaw(file, details));
    watcher.on('error', (err) => this.watchError(err));
    await new Promise<void>((ready) => watcher.once('ready', ready));
  }

  private dropWatcher(): void {
    this.epoch += 1;
    this.watching = undefined;
    if (this.resyncTimer !== undefined && this.followers.size === 0) {
      clearInterval(this.resyncTimer);
      this.resyncTimer = undefined;
    }
    const watcher = this.watcher;
    this.watcher = undefined;
    if (watcher === undefined) return;
    const previous = this.closing;
    this.closing = previous
      .then(() => watcher.close())
      .catch((err: unknown) => {
        this.log?.debug(`closing the file watcher failed: ${errorWords(err)}`);
      });
  }

  /**
   * A normalized chokidar event: the Secret dir it is in, or every Secret for `dir` itself. Mostly
   * a late copy of a raw event, but the only news of files made in a new Secret dir before
   * chokidar had its watch on it.
   */
  private route(path: string): void {
    const rel = relative(this.watchedRoot, path);
    const targets = rel === '' || rel.startsWith('..') ? this.all() : (this.followers.get(rel.split(sep)[0] ?? rel) ?? []);
    for (const follower of targets) follower.recheck();
  }

  /**
   * An fs.watch event as it happens. In a Secret dir only `..data` and key names count: the new
   * generation and `..data_tmp` come before the swap, and reading then would open the coalescing
   * window just before the change that matters.
   */
  private routeRaw(file: string | null, details: unknown): void {
    const watched = (details as { watchedPath?: unknown } | undefined)?.watchedPath;
    if (typeof watched !== 'string') return;
    const dir = resolve(watched);
    if (dir === this.watchedRoot) return file === null ? this.notifyAll() : this.notify(file);
    if (dirname(dir) !== this.watchedRoot) return;
    if (file === null || file === DATA_LINK || !file.startsWith(RESERVED_PREFIX)) this.notify(basename(dir));
  }

  private notify(name: string): void {
    for (const follower of this.followers.get(name) ?? []) follower.changed();
  }

  private notifyAll(): void {
    for (const follower of this.all()) follower.changed();
  }

  private all(): VolumeFollower[] {
    return [...this.followers.values()].flatMap((set) => [...set]);
  }

  private watchError(err: unknown): void {
    const words = errorWords(err);
    if (words === this.lastWatchError) return;
    this.lastWatchError = words;
    this.log?.warn(`watching ${this.root} failed, changes are read every ${this.resyncMs} ms meanwhile: ${words}`);
  }

  private resync(): void {
    // `dir` created after the watcher started: chokidar only follows the creation of a missing
    // path's parent, so a new watcher is what picks up the Secret dirs inside it.
    if (this.rootMissing && this.watcher !== undefined) void this.reopenIfRootAppeared();
    for (const follower of this.all()) follower.recheck();
  }

  private async reopenIfRootAppeared(): Promise<void> {
    if (!(await isDirectory(this.root)) || this.followers.size === 0) return;
    this.dropWatcher();
    await this.ensureWatcher();
    this.notifyAll();
  }
}

function isReserved(name: string): boolean {
  return name.startsWith(RESERVED_PREFIX) && name !== DATA_LINK;
}

function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (stats) => stats.isDirectory(),
    () => false,
  );
}

function errorWords(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
