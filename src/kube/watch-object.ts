/**
 * Follows one named object: LIST with `fieldSelector=metadata.name=<name>` (what RBAC rules with
 * `resourceNames` allow), then WATCH from the list's resourceVersion. 410 Gone -> relist; any
 * other transient failure -> back off and start again; a denial or an unserved resource is
 * reported once and ends the loop. It never stops silently.
 */
import { Backoff, sleep } from '../backoff.js';
import type { KubeClient, WatchEvent, WatchStream } from './client.js';
import { KubeApiError, type KubeStatus } from './errors.js';
import type { ResourceType } from './resources.js';

export interface ObjectWatchOptions {
  readonly client: KubeClient;
  readonly resource: ResourceType;
  readonly namespace: string;
  readonly name: string;
  /** After every list and every change: the object, or undefined when it does not exist (now). */
  onState(object: KubeObject | undefined): void;
  /** A denial, or a resource this apiserver does not serve: the loop has stopped. */
  onFatal(err: KubeApiError): void;
  /** A transient failure; the loop starts again after `retryInMs`. */
  onRetry(err: unknown, retryInMs: number): void;
  /**
   * Awaited after each list before watching: lets the caller decide from the lists of several
   * objects (and stop) before any watch connection is opened.
   */
  beforeWatch?(): Promise<void>;
}

export interface KubeObject {
  readonly metadata?: { readonly name?: string; readonly uid?: string; readonly resourceVersion?: string };
}

export interface ObjectWatch {
  stop(): void;
}

/** Server-side watch length; a fresh watch each time also re-reads a rotated token. */
export const WATCH_TIMEOUT_SECONDS = 240;
/** A watch that ends sooner than this without an error is treated as trouble, to avoid a tight loop. */
const MIN_HEALTHY_WATCH_MS = 1_000;

export function watchObject(options: ObjectWatchOptions): ObjectWatch {
  const controller = new AbortController();
  void followLoop(options, controller.signal);
  return { stop: () => controller.abort() };
}

async function followLoop(options: ObjectWatchOptions, signal: AbortSignal): Promise<void> {
  const backoff = new Backoff();
  while (!signal.aborted) {
    try {
      await followOnce(options, signal, backoff);
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof KubeApiError && !err.transient) return options.onFatal(err);
      const delay = backoff.next();
      options.onRetry(err, delay);
      await sleep(delay, signal);
    }
  }
}

/** One list and the watches that follow it, until a relist is needed. */
async function followOnce(options: ObjectWatchOptions, signal: AbortSignal, backoff: Backoff): Promise<void> {
  const list = await options.client.list<KubeObject>(options.resource, options.namespace, { query: selector(options.name), signal });
  if (signal.aborted) return;
  options.onState(list.items.find((item) => item.metadata?.name === options.name));
  backoff.reset();
  await options.beforeWatch?.();
  let resourceVersion = list.metadata?.resourceVersion;
  while (resourceVersion !== undefined && !signal.aborted) {
    const started = Date.now();
    resourceVersion = await watchFrom(options, resourceVersion, signal);
    if (resourceVersion !== undefined && Date.now() - started < MIN_HEALTHY_WATCH_MS) await sleep(backoff.next(), signal);
  }
}

/** Resolves with the resourceVersion to resume from, or undefined when a relist is needed (410). */
function watchFrom(options: ObjectWatchOptions, from: string, signal: AbortSignal): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let resourceVersion = from;
    let failure: KubeApiError | 'gone' | undefined;
    let stream: WatchStream | undefined;
    let stopWanted = false;
    const stop = (): void => {
      stopWanted = true;
      stream?.stop();
    };
    const onEvent = (event: WatchEvent): void => {
      if (event.type === 'ERROR') {
        failure = statusFailure(event.object, options);
        return stop();
      }
      resourceVersion = (event.object as KubeObject | null)?.metadata?.resourceVersion ?? resourceVersion;
      if (event.type === 'ADDED' || event.type === 'MODIFIED') options.onState(event.object as KubeObject);
      else if (event.type === 'DELETED') options.onState(undefined);
    };
    const onEnd = (err: Error | undefined): void => {
      signal.removeEventListener('abort', stop);
      const outcome = failure ?? err;
      if (outcome === 'gone' || (outcome instanceof KubeApiError && outcome.status === 410)) resolve(undefined);
      else if (outcome !== undefined) reject(outcome);
      else resolve(resourceVersion);
    };
    signal.addEventListener('abort', stop, { once: true });
    const query = { ...selector(options.name), resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: WATCH_TIMEOUT_SECONDS };
    options.client.watch(options.resource, options.namespace, { query }, { onEvent, onEnd }).then((opened) => {
      stream = opened;
      if (stopWanted) opened.stop();
    }, reject);
  });
}

/** An ERROR event carries a Status: 410 means relist, anything else is a failure to retry. */
function statusFailure(object: unknown, options: ObjectWatchOptions): KubeApiError | 'gone' {
  const status = (object ?? {}) as KubeStatus;
  if (status.code === 410) return 'gone';
  return new KubeApiError(status.code ?? 500, { verb: 'watch', resource: options.resource, namespace: options.namespace }, status);
}

function selector(name: string): Record<string, string> {
  return { fieldSelector: `metadata.name=${name}` };
}
