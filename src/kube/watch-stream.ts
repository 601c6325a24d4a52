/**
 * One watch request, streamed over node:https like every other request (client.ts), so a refused
 * watch gets the same typed error with the apiserver's Status message. A watchdog ends a watch
 * that neither sends nor ends: client-node 1.x watches can hang silently on a dead connection
 * (DESIGN.md "Facts"). The server is asked to end the watch after `timeoutSeconds`; no end by
 * then plus a grace period means the connection is dead.
 *
 * Not client-node's Watch: it goes through node-fetch, whose url.parse() call prints a
 * deprecation warning on Node >= 24 once bundled (the warning is only muted inside node_modules).
 */
import http from 'node:http';
import https from 'node:https';
import { KubeApiError, KubeConnectionError, type KubeStatus } from './errors.js';
import type { ApiTarget } from './resources.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent {
  readonly type: WatchEventType;
  readonly object: unknown;
}

export interface WatchHandlers {
  onEvent(event: WatchEvent): void;
  /** Called once: `undefined` when the server ended the watch (or stop()), the error otherwise. */
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
  readonly timeoutSeconds: number;
}

/** Extra time after `timeoutSeconds` before a silent watch is declared dead. */
export const WATCHDOG_GRACE_MS = 30_000;
const MAX_LINE_BYTES = 16 * 1024 * 1024;

export function openWatch(request: WatchRequest, handlers: WatchHandlers): WatchStream {
  let ended = false;
  let stopped = false;
  const end = (err: KubeApiError | KubeConnectionError | undefined): void => {
    if (ended) return;
    ended = true;
    clearTimeout(watchdog);
    req.destroy();
    handlers.onEnd(stopped ? undefined : err);
  };
  const transport = request.url.protocol === 'http:' ? http : https;
  const req = transport.request(request.url, request.options, (res) => {
    if (res.statusCode !== 200) return readStatus(res, (status) => end(new KubeApiError(res.statusCode ?? 0, request.target, status)));
    const lines = lineSplitter((line) => emit(line, handlers));
    res.on('data', (chunk: Buffer) => {
      if (!lines(chunk)) end(new KubeConnectionError(request.server, request.target, new Error('watch event larger than 16 MiB')));
    });
    res.on('end', () => end(undefined));
    res.on('error', (err) => end(new KubeConnectionError(request.server, request.target, err)));
  });
  const watchdog = setTimeout(() => {
    end(new KubeConnectionError(request.server, request.target, new Error('watch stalled: no data and no end from the apiserver')));
  }, request.timeoutSeconds * 1000 + WATCHDOG_GRACE_MS);
  req.on('error', (err) => end(new KubeConnectionError(request.server, request.target, err)));
  req.end();
  return {
    stop: () => {
      stopped = true;
      end(undefined);
    },
  };
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

function readStatus(res: http.IncomingMessage, done: (status: KubeStatus) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.length < 64 && chunks.push(chunk));
  res.on('error', () => done({}));
  res.on('end', () => {
    try {
      const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as KubeStatus;
      done({ reason: typeof parsed.reason === 'string' ? parsed.reason : undefined, message: typeof parsed.message === 'string' ? parsed.message : undefined });
    } catch {
      done({});
    }
  });
}
