/**
 * Follows one named object: LIST with `fieldSelector=metadata.name=<name>` (what RBAC rules with
 * `resourceNames` allow), then WATCH from the list's resourceVersion. 410 Gone -> relist; a watch
 * that goes silent (watch-stream.ts) or any other transient failure -> back off and start again;
 * a denial or an unserved resource is reported once and ends the loop, unless `retryDenied` asks
 * to outlive a briefly broken RoleBinding or token. It never stops silently, and says how it is
 * doing (liveness) for a sidecar's `/healthz`.
 *
 * The safety re-read (DESIGN.md: at most one GET per object per 10 minutes) is a GET beside the
 * running watch, not a relist: a lost event cannot stick, and a healthy watch is not cut for it.
 */
import { Backoff, sleep } from '../backoff.js';
import type { KubeClient, WatchEvent } from './client.js';
import { KubeApiError, KubeConnectionError, statusFrom, WatchStalledError } from './errors.js';
import type { ResourceType } from './resources.js';
import {
  DEFAULT_WATCH_TIMINGS,
  MAX_RETRY_AFTER_MS,
  type Liveness,
  type RereadOutcome,
  type RestartReason,
  type WatchTimings,
} from './watch-timings.js';

export * from './watch-timings.js';

export interface ObjectWatchOptions {
  readonly client: KubeClient;
  readonly resource: ResourceType;
  readonly namespace: string;
  readonly name: string;
  /** After every list and every change: the object, or undefined when it does not exist (now). */
  onState(object: KubeObject | undefined): void;
  /** A denial (without `retryDenied`), or a resource this apiserver does not serve: the loop has stopped. */
  onFatal(err: KubeApiError | KubeConnectionError): void;
  /** A transient failure; the loop starts again after `retryInMs`. */
  onRetry(err: unknown, retryInMs: number): void;
  /**
   * Awaited after each list before watching: lets the caller decide from the lists of several
   * objects (and stop) before any watch connection is opened.
   */
  beforeWatch?(): Promise<void>;
  /** 401/403 do not end the loop: each goes to onDenied (else onRetry) and is retried on `deniedRetry`. */
  readonly retryDenied?: boolean;
  onDenied?(err: KubeApiError, retryInMs: number): void;
  /** Each time a watch is opened again or the loop lists again, with why. */
  onRestart?(reason: RestartReason): void;
  /** After each safety re-read. */
  onReread?(outcome: RereadOutcome): void;
  readonly timings?: Partial<WatchTimings>;
}

export interface KubeObject {
  readonly metadata?: { readonly name?: string; readonly uid?: string; readonly resourceVersion?: string };
}

export interface ObjectWatch {
  stop(): void;
  liveness(): Liveness;
}

export function watchObject(options: ObjectWatchOptions): ObjectWatch {
  const controller = new AbortController();
  const follower = new Follower(options, controller.signal);
  void follower.run();
  return { stop: () => controller.abort(), liveness: () => follower.liveness() };
}

type WatchOutcome = { readonly relist: 'gone' } | { readonly relist?: undefined; readonly resourceVersion: string };

class Follower {
  private readonly options: ObjectWatchOptions;
  private readonly timings: WatchTimings;
  private readonly signal: AbortSignal;
  private readonly retry: Backoff;
  private readonly deniedRetry: Backoff;
  private state: Liveness['state'] = 'starting';
  private lastProgressAt = performance.now();
  /** The resourceVersion last handed to onState ('' for absent), for the re-read to compare with. */
  private delivered: string | undefined;
  /** Bumped by every state the list or watch delivers, so a re-read can tell it was overtaken. */
  private deliveries = 0;

  constructor(options: ObjectWatchOptions, signal: AbortSignal) {
    this.options = options;
    this.timings = { ...DEFAULT_WATCH_TIMINGS, ...options.timings };
    this.signal = signal;
    this.retry = new Backoff(this.timings.retry.initialMs, this.timings.retry.maxMs);
    this.deniedRetry = new Backoff(this.timings.deniedRetry.initialMs, this.timings.deniedRetry.maxMs);
  }

  liveness(): Liveness {
    return { lastProgressAt: this.lastProgressAt, state: this.signal.aborted ? 'stopped' : this.state };
  }

  async run(): Promise<void> {
    const reread = this.timings.resyncMs > 0 ? setInterval(() => void this.reread(), this.timings.resyncMs) : undefined;
    reread?.unref();
    this.signal.addEventListener('abort', () => clearInterval(reread), { once: true });
    while (!this.signal.aborted) {
      try {
        await this.listAndWatch();
      } catch (err) {
        if (this.signal.aborted) break;
        const delay = this.failed(err);
        if (delay === undefined) break;
        await this.pause(delay);
      }
    }
    this.state = 'stopped';
  }

  /** Reports a failure; returns the wait before the next attempt, or undefined when the loop ends. */
  private failed(err: unknown): number | undefined {
    const { options } = this;
    if (err instanceof KubeApiError && err.denied && options.retryDenied === true) {
      const delay = honourRetryAfter(this.deniedRetry.next(), err);
      options.onRestart?.('denied');
      if (options.onDenied !== undefined) options.onDenied(err, delay);
      else options.onRetry(err, delay);
      return delay;
    }
    if (isFinal(err)) return this.final(err);
    const delay = honourRetryAfter(this.retry.next(), err);
    options.onRestart?.(err instanceof WatchStalledError ? 'stall' : 'error');
    options.onRetry(err, delay);
    return delay;
  }

  /**
   * A failure no retry mends ends the loop; with `retryDenied` (the sidecar), an untrusted
   * apiserver or a proxy's 403/407 is retried slowly like a denial, since the kubeconfig's CA or
   * the proxy may be fixed while it runs.
   */
  private final(err: KubeApiError | KubeConnectionError): number | undefined {
    if (err instanceof KubeConnectionError && this.options.retryDenied === true) {
      const delay = this.deniedRetry.next();
      this.options.onRestart?.('error');
      this.options.onRetry(err, delay);
      return delay;
    }
    this.options.onFatal(err);
    return undefined;
  }

  /** One list and the watches that follow it, until a relist is due. */
  private async listAndWatch(): Promise<void> {
    const { options, signal } = this;
    this.state = 'listing';
    const list = await options.client.list<KubeObject>(options.resource, options.namespace, { query: selector(options.name), signal });
    if (signal.aborted) return;
    this.progress();
    this.retry.reset();
    this.deniedRetry.reset();
    this.deliver(list.items.find((item) => item.metadata?.name === options.name));
    await options.beforeWatch?.();
    const from = list.metadata?.resourceVersion;
    // No resourceVersion to watch from (not an apiserver's answer): list again, but not in a tight loop.
    if (from === undefined) return this.pause(this.retry.next());
    await this.watchUntilRelist(from);
  }

  /** Watch after watch from the last resourceVersion seen, until a relist is due or the loop stops. */
  private async watchUntilRelist(from: string): Promise<void> {
    let resourceVersion = from;
    while (!this.signal.aborted) {
      const started = performance.now();
      const outcome = await this.watchFrom(resourceVersion);
      if (this.signal.aborted) return;
      this.options.onRestart?.(outcome.relist ?? 'timeout');
      if (outcome.relist !== undefined) return;
      resourceVersion = outcome.resourceVersion;
      // A watch that ran its course proves the connection: earlier short ones no longer count.
      if (performance.now() - started >= this.timings.minHealthyWatchMs) this.retry.reset();
      else await this.pause(this.retry.next());
    }
  }

  /** Resolves with the resourceVersion to resume from, or a relist (410); rejects on failure. */
  private watchFrom(from: string): Promise<WatchOutcome> {
    const { options } = this;
    return new Promise((resolve, reject) => {
      let resourceVersion = from;
      let failure: KubeApiError | 'gone' | undefined;
      // Per watch, so nothing is left on the loop's signal, however the watch ends or fails to open.
      const own = new AbortController();
      const onEvent = (event: WatchEvent): void => {
        this.progress();
        if (event.type === 'ERROR') {
          failure = statusFailure(event.object, options);
          return own.abort();
        }
        resourceVersion = (event.object as KubeObject | null)?.metadata?.resourceVersion ?? resourceVersion;
        if (event.type === 'ADDED' || event.type === 'MODIFIED') this.deliver(event.object as KubeObject);
        else if (event.type === 'DELETED') this.deliver(undefined);
      };
      const onEnd = (err: Error | undefined): void => {
        const outcome = failure ?? err;
        if (outcome === 'gone' || (outcome instanceof KubeApiError && outcome.status === 410)) resolve({ relist: 'gone' });
        else if (outcome !== undefined) reject(outcome);
        else resolve({ resourceVersion });
      };
      this.state = 'watching';
      const query = {
        ...selector(options.name),
        resourceVersion,
        allowWatchBookmarks: 'true',
        timeoutSeconds: this.timings.watchTimeoutSeconds,
      };
      const signal = AbortSignal.any([this.signal, own.signal]);
      options.client
        .watch(options.resource, options.namespace, { query, idleTimeoutMs: this.timings.idleTimeoutMs, signal }, { onEvent, onEnd })
        .catch(reject);
    });
  }

  private deliver(object: KubeObject | undefined): void {
    this.deliveries++;
    this.delivered = object?.metadata?.resourceVersion ?? '';
    this.options.onState(object);
  }

  /**
   * The safety re-read: one GET beside the watch. A different resourceVersion than last delivered
   * means an event was lost, and the GET's answer is delivered; an event that arrived meanwhile is
   * newer than the answer, which is then dropped. A failure is only counted: the watch loop has
   * its own retries, and the next re-read comes anyway.
   */
  private async reread(): Promise<void> {
    const { options, signal } = this;
    if (this.state !== 'watching' || this.delivered === undefined) return;
    const before = this.deliveries;
    let outcome: RereadOutcome;
    try {
      const object = await options.client.get<KubeObject>(options.resource, options.namespace, options.name, { signal });
      outcome = this.settleReread(object, before);
    } catch (err) {
      if (signal.aborted) return;
      outcome = err instanceof KubeApiError && err.status === 404 ? this.settleReread(undefined, before) : 'failed';
    }
    if (outcome !== 'failed') this.progress();
    options.onReread?.(outcome);
  }

  private settleReread(object: KubeObject | undefined, deliveriesBefore: number): RereadOutcome {
    if (this.signal.aborted || this.deliveries !== deliveriesBefore) return 'superseded';
    if ((object?.metadata?.resourceVersion ?? '') === this.delivered) return 'unchanged';
    this.deliver(object);
    return 'changed';
  }

  private async pause(ms: number): Promise<void> {
    this.state = 'backing-off';
    await sleep(ms, this.signal);
  }

  private progress(): void {
    this.lastProgressAt = performance.now();
  }
}

/** Not worth a retry: a denial, an unserved resource, an untrusted apiserver, a proxy's 403/407 (errors.ts). */
function isFinal(err: unknown): err is KubeApiError | KubeConnectionError {
  return (err instanceof KubeApiError || err instanceof KubeConnectionError) && !err.transient;
}

/** Waits at least as long as the apiserver asked (429, 503, a watch ERROR's retryAfterSeconds). */
function honourRetryAfter(delay: number, err: unknown): number {
  const asked = err instanceof KubeApiError ? err.retryAfterMs : undefined;
  return asked === undefined ? delay : Math.max(delay, Math.min(asked, MAX_RETRY_AFTER_MS));
}

/** An ERROR event carries a Status: 410 means relist, anything else is a failure to retry. */
function statusFailure(object: unknown, options: ObjectWatchOptions): KubeApiError | 'gone' {
  const status = statusFrom(object);
  if (status.code === 410) return 'gone';
  return new KubeApiError(status.code ?? 500, { verb: 'watch', resource: options.resource, namespace: options.namespace }, status);
}

function selector(name: string): Record<string, string> {
  return { fieldSelector: `metadata.name=${name}` };
}
