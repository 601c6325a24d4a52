/**
 * One watch request, streamed over node:http(s) like every other request (client.ts), so a refused
 * watch gets the same typed error with the apiserver's Status message.
 *
 * Liveness comes from the stream itself: the apiserver sends a BOOKMARK about every minute on a
 * watch that asked for them (`allowWatchBookmarks`; the watch cache's heartbeat), so a watch that
 * sends no byte for longer than `idleTimeoutMs` is dead, whatever the socket says. A half-open
 * connection (a crashed peer, a lost NAT entry) otherwise goes unnoticed until the server-side
 * `timeoutSeconds` would have ended it, and client-node 1.x watches can hang on one forever
 * (DESIGN.md "Facts"). TCP keepalive on the socket lets the kernel find a dead peer too, and keeps
 * idle NAT and conntrack entries alive between bookmarks.
 *
 * Not client-node's Watch: it goes through node-fetch, whose url.parse() call prints a
 * deprecation warning on Node >= 24 once bundled (the warning is only muted inside node_modules).
 */
import http from 'node:http';
import https from 'node:https';
import { KubeApiError, KubeConnectionError, parseStatus, WatchStalledError } from './errors.js';
import type { ApiTarget } from './resources.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent {
  readonly type: WatchEventType;
  readonly object: unknown;
}

export interface WatchHandlers {
  onEvent(event: WatchEvent): void;
  /** Called once: `undefined` when the server ended the watch (or it was stopped), the error otherwise. */
  onEnd(err: KubeApiError | KubeConnectionError | undefined): void;
}

export interface WatchStream {
  /** Ends the watch; onEnd is called with `undefined`. */
  stop(): void;
}

export interface WatchRequest {
  readonly url: URL;
  readonly options: https.RequestOptions;
  readonly server: string;
  readonly target: ApiTarget;
  /** No byte for this long (headers, events, bookmarks) ends the watch with a WatchStalledError. */
  readonly idleTimeoutMs: number;
  /** Aborting it stops the watch, as stop() does. */
  readonly signal?: AbortSignal;
}

/**
 * Bookmarks come about every 60 s; half as much again leaves room for a busy apiserver before a
 * healthy watch is taken for dead (issue 9: a stall is noticed within ~90 s at most).
 */
export const DEFAULT_WATCH_IDLE_TIMEOUT_MS = 90_000;
/** Idle time before the first TCP keepalive probe on a watch connection. */
export const WATCH_KEEPALIVE_DELAY_MS = 30_000;
const MAX_LINE_BYTES = 16 * 1024 * 1024;

export function openWatch(request: WatchRequest, handlers: WatchHandlers): WatchStream {
  const { signal } = request;
  if (signal?.aborted === true) {
    queueMicrotask(() => handlers.onEnd(undefined));
    return { stop: () => undefined };
  }
  let ended = false;
  const end = (err: KubeApiError | KubeConnectionError | undefined): void => {
    if (ended) return;
    ended = true;
    clearTimeout(idle);
    // Removed here, on every way out: the signal usually outlives many watches.
    signal?.removeEventListener('abort', stop);
    req.destroy();
    handlers.onEnd(err);
  };
  const stop = (): void => end(undefined);
  const broken = (err: unknown): void => end(new KubeConnectionError(request.server, request.target, err));
  const transport = request.url.protocol === 'http:' ? http : https;
  const req = transport.request(request.url, request.options, (res) => {
    idle.refresh();
    if (res.statusCode !== 200) return readApiError(res, request.target, end);
    const lines = lineSplitter((line) => emit(line, handlers));
    res.on('data', (chunk: Buffer) => {
      idle.refresh();
      if (!lines(chunk)) broken(new Error('watch event larger than 16 MiB'));
    });
    res.on('end', () => end(undefined));
    res.on('error', broken);
    // A connection cut mid-stream: 'close' without 'end'.
    res.on('close', () => broken(new Error('connection closed during the watch')));
  });
  const idle = setTimeout(() => end(new WatchStalledError(request.server, request.target, request.idleTimeoutMs)), request.idleTimeoutMs);
  req.on('socket', (socket) => socket.setKeepAlive(true, WATCH_KEEPALIVE_DELAY_MS));
  req.on('error', broken);
  signal?.addEventListener('abort', stop, { once: true });
  req.end();
  return { stop };
}

function emit(line: string, handlers: WatchHandlers): void {
  let event: { type?: unknown; object?: unknown };
  try {
    event = JSON.parse(line) as { type?: unknown; object?: unknown };
  } catch {
    // A torn line can only come from a broken stream, which ends the watch anyway.
    return;
  }
  if (typeof event.type === 'string') handlers.onEvent({ type: event.type as WatchEventType, object: event.object });
}

/** Feeds newline-delimited JSON to `onLine`; returns false when a line grows past the limit. */
function lineSplitter(onLine: (line: string) => void): (chunk: Buffer) => boolean {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  return (chunk) => {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      const line = Buffer.concat([...pending, chunk.subarray(start, nl)]).toString('utf8');
      pending = [];
      pendingBytes = 0;
      start = nl + 1;
      if (line.trim() !== '') onLine(line);
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
    }
    return pendingBytes <= MAX_LINE_BYTES;
  };
}

/** The refusal of a watch (403, 410, 429, ...) as the typed error a request would get. */
function readApiError(res: http.IncomingMessage, target: ApiTarget, done: (err: KubeApiError) => void): void {
  const chunks: Buffer[] = [];
  const status = res.statusCode ?? 0;
  const retryAfter = res.headers['retry-after'];
  const finish = (body: Buffer): void => done(new KubeApiError(status, target, parseStatus(body, retryAfter)));
  res.on('data', (chunk: Buffer) => chunks.length < 64 && chunks.push(chunk));
  res.on('end', () => finish(Buffer.concat(chunks)));
  // Cut before the end: the status code alone (`done` is called once; these come after 'end' too).
  res.on('error', () => finish(Buffer.alloc(0)));
  res.on('close', () => finish(Buffer.alloc(0)));
}
