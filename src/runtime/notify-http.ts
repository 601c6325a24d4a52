/**
 * `--notify http:<METHOD>:<url>`: one request per attempt, each bounded by a timeout, retried with
 * doubling back-off; 2xx = delivered, anything else (3xx included: a reload hook that redirects is
 * misconfigured) = try again. POST/PUT/PATCH carry `{"event":"rendered","aliases":[...]}`.
 * node:https is loaded only for an https URL: it costs ~5 MiB of RSS a plain-http sidecar need not pay.
 *
 *   callHttp(action, options): Promise<HttpResult>   never rejects
 */
import http from 'node:http';
import type { HttpAction } from '../config/notify.js';

export interface HttpOptions {
  readonly timeoutMs: number;
  readonly attempts: number;
  /** Wait before the 2nd attempt; doubled for each one after. */
  readonly backoffMs: number;
  readonly aliases: readonly string[];
}

export interface HttpResult {
  readonly outcome: 'ok' | 'failed' | 'timeout';
  /** Status codes and error codes only: never the URL's userinfo or query, never a body. */
  readonly detail: string;
}

type Attempt =
  { readonly kind: 'status'; readonly status: number } | { readonly kind: 'timeout' } | { readonly kind: 'error'; readonly code: string };

const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

export async function callHttp(action: HttpAction, options: HttpOptions): Promise<HttpResult> {
  const tries: string[] = [];
  let last: Attempt = { kind: 'error', code: 'no attempt' };
  for (let attempt = 1; attempt <= Math.max(1, options.attempts); attempt += 1) {
    if (attempt > 1) await sleep(options.backoffMs * 2 ** (attempt - 2));
    last = await requestOnce(action, options);
    if (last.kind === 'status' && last.status >= 200 && last.status < 300) {
      return { outcome: 'ok', detail: [...tries, `HTTP ${last.status}`].join(', ') };
    }
    tries.push(
      last.kind === 'status' ? `HTTP ${last.status}` : last.kind === 'timeout' ? `timeout after ${options.timeoutMs} ms` : last.code,
    );
  }
  return { outcome: last.kind === 'timeout' ? 'timeout' : 'failed', detail: `${tries.length} attempt(s): ${tries.join(', ')}` };
}

async function requestOnce(action: HttpAction, options: HttpOptions): Promise<Attempt> {
  const url = new URL(action.url);
  const transport = url.protocol === 'https:' ? await import('node:https') : http;
  const body = WITH_BODY.has(action.method) ? JSON.stringify({ event: 'rendered', aliases: options.aliases }) : undefined;
  const headers: http.OutgoingHttpHeaders = { 'user-agent': 'bucket-agent', connection: 'close' };
  if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  return new Promise<Attempt>((resolve) => {
    // A timer over the whole exchange: the socket timeout alone would let a server that trickles
    // its response hold the action for ever.
    const timer = setTimeout(() => {
      resolve({ kind: 'timeout' });
      request.destroy();
    }, options.timeoutMs);
    const done = (attempt: Attempt): void => {
      clearTimeout(timer);
      resolve(attempt);
    };
    const request = transport.request(url, { method: action.method, headers }, (response) => {
      response.resume();
      response.on('end', () => done({ kind: 'status', status: response.statusCode ?? 0 }));
      response.on('error', (err) => done({ kind: 'error', code: errorCode(err) }));
    });
    request.on('error', (err) => done({ kind: 'error', code: errorCode(err) }));
    request.end(body);
  });
}

function errorCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'request error';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
