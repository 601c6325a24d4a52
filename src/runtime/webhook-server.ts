/**
 * The HTTP half of the admission handler (the deciding half is src/webhook/admission.ts): HTTPS on
 * `--listen`, `POST /mutate` only. It reads the body (bounded), parses JSON, hands the request to
 * review(), writes the answer and counts it; a body that is not an AdmissionReview v1 is a 400
 * with the reason, a bug in the mutation a 500 (the webhook's failurePolicy decides), and no
 * domain error is ever a 5xx.
 *
 *   startWebhookServer(options): Promise<WebhookServer>
 *     .setCertificate({cert, key})   new TLS connections use it; open ones keep theirs
 *     .close(graceMs)                stop accepting, finish the reviews in flight, then close
 *
 * Logs: a child of the root logger per request, with uid, namespace and name, and never the
 * object or an error message that could quote it (V8's JSON errors quote the input).
 */
import https from 'node:https';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import type { ListenAddress } from '../config/listen.js';
import type { Logger } from '../log.js';
import {
  AdmissionDecodeError,
  admissionReviewOf,
  parseAdmissionReview,
  requestFields,
  review,
  type AdmissionRequest,
  type MutateFn,
} from '../webhook/admission.js';
import { closeGracefully, type BoundAddress } from './http-server.js';
import type { ReviewMetricOutcome, WebhookMetrics } from './webhook-metrics.js';

/** A Pod's AdmissionReview is a few KiB; 3 MiB holds the biggest object etcd stores (1.5 MiB) twice. */
export const MAX_REVIEW_BYTES = 3 * 1024 * 1024;
/**
 * Longer than the idle timeout of the apiserver's client (Go's 90 s): the client, not we, closes
 * an idle connection, so a review is never sent on a connection we are closing at that moment.
 */
export const WEBHOOK_KEEP_ALIVE_MS = 120_000;
export const WEBHOOK_HEADERS_TIMEOUT_MS = 5_000;
export const MUTATE_PATH = '/mutate';

export interface WebhookServerOptions {
  readonly listen: ListenAddress;
  readonly mutate: MutateFn;
  readonly metrics: WebhookMetrics;
  /** The root logger. */
  readonly log: Logger;
  /** A review not answered within this gets a 503 (below the apiserver's timeoutSeconds). */
  readonly reviewTimeoutMs: number;
  readonly certificate: SecureContextOptions;
  readonly maxBodyBytes?: number;
}

export interface WebhookServer {
  readonly address: BoundAddress;
  /** `https://host:port` (IPv6 in brackets). */
  readonly url: string;
  setCertificate(certificate: SecureContextOptions): void;
  inFlight(): number;
  close(graceMs: number): Promise<void>;
}

interface Exchange {
  readonly request: http.IncomingMessage;
  readonly response: http.ServerResponse;
  readonly startedAt: number;
  timer: NodeJS.Timeout | undefined;
}

export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const log = options.log.child({ component: 'webhook' });
  const state = { closing: false, inFlight: 0 };
  const server = https.createServer(
    {
      ...options.certificate,
      minVersion: 'TLSv1.2',
      headersTimeout: Math.min(WEBHOOK_HEADERS_TIMEOUT_MS, options.reviewTimeoutMs),
      requestTimeout: options.reviewTimeoutMs + 1_000,
      keepAliveTimeout: WEBHOOK_KEEP_ALIVE_MS,
    },
    (request, response) => {
      if (state.closing) response.shouldKeepAlive = false;
      state.inFlight += 1;
      response.once('close', () => {
        state.inFlight -= 1;
        if (state.closing) setImmediate(() => server.closeIdleConnections());
      });
      route({ request, response, startedAt: performance.now(), timer: undefined }, options, log);
    },
  );
  server.keepAliveTimeout = WEBHOOK_KEEP_ALIVE_MS;
  server.on('tlsClientError', (err) => log.debug({ error: (err as NodeJS.ErrnoException).code ?? err.name }, 'TLS handshake failed'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.listen.port, host: options.listen.host, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const info = server.address() as AddressInfo;
  const address: BoundAddress = Object.freeze({ host: info.address, port: info.port, family: info.family === 'IPv6' ? 'IPv6' : 'IPv4' });
  return {
    address,
    url: `https://${address.family === 'IPv6' ? `[${address.host}]` : address.host}:${address.port}`,
    setCertificate: (certificate) => server.setSecureContext(certificate),
    inFlight: () => state.inFlight,
    close: (graceMs) => {
      state.closing = true;
      return closeGracefully(server, graceMs);
    },
  };
}

function route(exchange: Exchange, options: WebhookServerOptions, log: Logger): void {
  const { request, response } = exchange;
  const path = request.url === undefined ? '/' : request.url.split('?', 1)[0];
  if (path !== MUTATE_PATH) return answer(exchange, 404, `not found: AdmissionReviews go to POST ${MUTATE_PATH}\n`);
  if (request.method !== 'POST') return answer(exchange, 405, 'method not allowed: POST an AdmissionReview\n', { allow: 'POST' });
  const max = options.maxBodyBytes ?? MAX_REVIEW_BYTES;
  if (Number(request.headers['content-length'] ?? 0) > max) return refuse(exchange, options, 413, `body larger than ${max} bytes`);
  exchange.timer = setTimeout(() => onTimeout(exchange, options, log), options.reviewTimeoutMs);
  const chunks: Buffer[] = [];
  let size = 0;
  request.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= max) chunks.push(chunk);
  });
  request.on('end', () => {
    if (response.headersSent) return;
    if (size > max) return refuse(exchange, options, 413, `body larger than ${max} bytes`);
    handle(exchange, chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks), options, log);
  });
  request.on('error', () => clearTimeout(exchange.timer));
}

function handle(exchange: Exchange, body: Buffer, options: WebhookServerOptions, log: Logger): void {
  let request: AdmissionRequest;
  try {
    request = parseAdmissionReview(parseJson(body));
  } catch (err) {
    const message = err instanceof AdmissionDecodeError ? err.message : 'body is not valid JSON';
    return refuse(exchange, options, 400, message);
  }
  const reviewed = review(request, options.mutate);
  // The child (uid, namespace, name) is made only for a line that is written: pino's child()
  // re-applies the redaction paths, a measurable share of a review at thousands per second.
  const requestLog = (): Logger => log.child(requestFields(request));
  if (reviewed.outcome === 'error') {
    const err = reviewed.error;
    requestLog().error({ error: err instanceof Error ? err.name : typeof err, stack: stackOf(err) }, 'the mutation failed: answered 500');
    return finish(exchange, options, 'error', () => answer(exchange, 500, 'internal error in the bucket-agent webhook; see its log\n'));
  }
  if (reviewed.outcome === 'refused')
    requestLog().info({ dryRun: request.dryRun === true }, `refused: ${reviewed.response.status?.message}`);
  else if (log.isLevelEnabled('debug')) requestLog().debug({ dryRun: request.dryRun === true, outcome: reviewed.outcome }, 'admitted');
  const payload = JSON.stringify(admissionReviewOf(reviewed.response));
  finish(exchange, options, reviewed.outcome, () => answer(exchange, 200, payload, { 'content-type': 'application/json' }));
}

function refuse(exchange: Exchange, options: WebhookServerOptions, status: number, message: string): void {
  finish(exchange, options, 'bad-request', () => answer(exchange, status, `${message}\n`));
}

function onTimeout(exchange: Exchange, options: WebhookServerOptions, log: Logger): void {
  if (exchange.response.headersSent) return;
  log.warn({ timeoutMs: options.reviewTimeoutMs }, 'a review was not received in time: answered 503');
  finish(exchange, options, 'timeout', () => answer(exchange, 503, 'review timed out\n', { connection: 'close' }));
  exchange.request.destroy();
}

function finish(exchange: Exchange, options: WebhookServerOptions, outcome: ReviewMetricOutcome, send: () => void): void {
  clearTimeout(exchange.timer);
  send();
  options.metrics.reviews.inc({ outcome });
  options.metrics.duration.observe({}, (performance.now() - exchange.startedAt) / 1000);
}

function answer(exchange: Exchange, status: number, body: string, headers: http.OutgoingHttpHeaders = {}): void {
  exchange.response.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  exchange.response.end(body);
}

function parseJson(body: Buffer): unknown {
  return JSON.parse(body.toString('utf8'));
}

/** A bug's stack names our code, not the pod; the message could quote the pod, so it is left out. */
function stackOf(err: unknown): string | undefined {
  if (!(err instanceof Error) || err.stack === undefined) return undefined;
  return err.stack.split('\n').slice(1, 8).join('\n');
}
