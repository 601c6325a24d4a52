/**
 * One followed Secret of the volume source: reads on change (leading edge, then once more at the
 * end of a coalescing window), reports only states whose content hash differs from the last one,
 * backs off on read failures and tells `/healthz` when it last made progress.
 */
import { BucketAgentError } from '../errors.js';
import { Backoff } from '../backoff.js';
import type { Liveness, SecretFollower, SecretHandlers } from '../runtime/secret-source.js';
import { readSecretVolume, type VolumeState } from './secret-volume-read.js';

export interface FollowerTiming {
  readonly debounceMs: number;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
}

/** Nothing reported yet: distinct from every hash and from absent (undefined). */
const UNREPORTED = Symbol('unreported');

export class VolumeFollower implements SecretFollower {
  readonly name: string;
  /** Called once by stop(): the source drops the follower (and its watcher when it was the last). */
  onStopped: (() => void) | undefined;
  private readonly dir: string;
  private readonly handlers: SecretHandlers;
  private readonly timing: FollowerTiming;
  private readonly backoff: Backoff;
  private state: Liveness['state'] = 'starting';
  private lastProgressAt = performance.now();
  private lastHash: string | undefined | typeof UNREPORTED = UNREPORTED;
  private started = false;
  private window: NodeJS.Timeout | undefined;
  private dirty = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(name: string, dir: string, handlers: SecretHandlers, timing: FollowerTiming) {
    this.name = name;
    this.dir = dir;
    this.handlers = handlers;
    this.timing = timing;
    this.backoff = new Backoff(timing.retryInitialMs, timing.retryMaxMs);
  }

  liveness(): Liveness {
    return { lastProgressAt: this.lastProgressAt, state: this.state };
  }

  stop(): void {
    if (this.state === 'stopped') return;
    this.halt();
    this.onStopped?.();
  }

  /** The watcher is in place: the first read, reported whatever it finds. */
  start(): void {
    if (this.state === 'stopped' || this.started) return;
    this.started = true;
    this.read();
  }

  /** Something changed in this Secret's dir, seen as it happened (an fs.watch event). */
  changed(): void {
    this.lastProgressAt = performance.now();
    // Before start() the first read is still to come and will see this change.
    if (!this.started || this.state === 'stopped') return;
    if (this.window !== undefined) {
      this.dirty = true;
      return;
    }
    this.read();
    this.openWindow();
  }

  /**
   * Something may have changed, as seen late (chokidar's normalized events, a readdir after the
   * raw ones) or not at all (the safety re-read, which also keeps lastProgressAt fresh): read, but
   * open no window. Such a late event would otherwise open one a few ms after a burst, and the
   * next change, if it came within it, would wait for its end.
   */
  recheck(): void {
    this.lastProgressAt = performance.now();
    if (!this.started || this.state === 'stopped') return;
    if (this.window !== undefined) this.dirty = true;
    else this.read();
  }

  /** A permanent problem: reported once, then the follower stops (it counts as absent). */
  fail(err: BucketAgentError): void {
    if (this.state === 'stopped') return;
    this.stop();
    this.handlers.onUnreadable(err);
  }

  /**
   * The trailing read closes the window rather than opening another: the next change is then read
   * at once again, and an endless stream of events still costs at most two reads per window.
   */
  private openWindow(): void {
    this.window = setTimeout(() => {
      this.window = undefined;
      if (!this.dirty) return;
      this.dirty = false;
      this.read();
    }, this.timing.debounceMs);
  }

  private read(): void {
    if (this.state === 'stopped') return;
    this.lastProgressAt = performance.now();
    let next: VolumeState;
    try {
      next = readSecretVolume(this.dir, this.name);
    } catch (err: unknown) {
      return this.readFailed(err);
    }
    this.recovered();
    const hash = next.kind === 'present' ? next.hash : undefined;
    if (hash === this.lastHash) return;
    this.lastHash = hash;
    this.handlers.onState(next.kind === 'present' ? next.secret : undefined);
  }

  private readFailed(err: unknown): void {
    // A UsageError (not a directory) will not heal by retrying; anything else (EACCES, EIO) may.
    if (err instanceof BucketAgentError) return this.fail(err);
    this.state = 'backing-off';
    if (this.retryTimer !== undefined) return;
    const delay = this.backoff.next();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.read();
    }, delay);
    this.handlers.onRetry(err, delay);
  }

  private recovered(): void {
    this.state = 'watching';
    this.backoff.reset();
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private halt(): void {
    this.state = 'stopped';
    if (this.window !== undefined) clearTimeout(this.window);
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.window = undefined;
    this.retryTimer = undefined;
  }
}
