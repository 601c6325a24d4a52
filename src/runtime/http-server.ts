/**
 * What the sidecar's two small HTTP servers share: limits against slow or greedy clients, listening
 * on a parsed HOST:PORT (IPv4, IPv6, every interface), and a graceful close.
 *
 *   listen(handler, address, limits?): Promise<RunningServer>
 *   RunningServer: { address: {host, port, family}, url, close(): Promise<void> }
 *
 * close(): stops accepting, lets in-flight requests finish for up to CLOSE_GRACE_MS, drops idle
 * keep-alive sockets at once and the rest after the grace.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ListenAddress } from '../config/listen.js';

/** Kubelet probes and scrapers send a few hundred bytes of headers; a slow-loris sends them forever. */
export const HEADERS_TIMEOUT_MS = 5_000;
export const REQUEST_TIMEOUT_MS = 10_000;
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;
export const MAX_HEADER_BYTES = 16 * 1024;
export const CLOSE_GRACE_MS = 1_000;
/** How often Node checks the two timeouts above (its default, 30 s, would let a slow-loris stay 30 s). */
export const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

export interface ServerLimits {
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly closeGraceMs: number;
  readonly checkIntervalMs: number;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = Object.freeze({
  headersTimeoutMs: HEADERS_TIMEOUT_MS,
  requestTimeoutMs: REQUEST_TIMEOUT_MS,
  keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
  closeGraceMs: CLOSE_GRACE_MS,
  checkIntervalMs: TIMEOUT_CHECK_INTERVAL_MS,
});

export interface BoundAddress {
  readonly host: string;
  readonly port: number;
  readonly family: 'IPv4' | 'IPv6';
}

export interface RunningServer {
  readonly address: BoundAddress;
  /** `http://host:port` with IPv6 in brackets: what a client would use. */
  readonly url: string;
  close(): Promise<void>;
}

export type Handler = (request: http.IncomingMessage, response: http.ServerResponse) => void;

export async function listen(handler: Handler, address: ListenAddress, overrides: Partial<ServerLimits> = {}): Promise<RunningServer> {
  const limits = { ...DEFAULT_SERVER_LIMITS, ...overrides };
  const state = { closing: false };
  const server = http.createServer(
    {
      maxHeaderSize: MAX_HEADER_BYTES,
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: limits.checkIntervalMs,
    },
    (request, response) => {
      // While closing, a keep-alive socket goes as soon as its answer is out, not at the grace's end.
      if (state.closing) response.shouldKeepAlive = false;
      response.on('finish', () => {
        if (state.closing) setImmediate(() => server.closeIdleConnections());
      });
      handler(request, response);
    },
  );
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  // A socket that sends nothing at all (no request started) is cut too.
  server.timeout = limits.requestTimeoutMs;
  server.maxHeadersCount = 64;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: address.port, host: address.host, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const info = server.address() as AddressInfo;
  const bound: BoundAddress = Object.freeze({ host: info.address, port: info.port, family: info.family === 'IPv6' ? 'IPv6' : 'IPv4' });
  return Object.freeze({
    address: bound,
    url: `http://${bound.family === 'IPv6' ? `[${bound.host}]` : bound.host}:${bound.port}`,
    close: () => {
      state.closing = true;
      return closeGracefully(server, limits.closeGraceMs);
    },
  });
}

/** What closing needs of a server, http or https. */
type Closable = Pick<http.Server, 'close' | 'closeAllConnections' | 'closeIdleConnections'>;

/** Stops accepting, lets requests in flight finish, and cuts what is left after `graceMs`. */
export function closeGracefully(server: Closable, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    // Node >= 19 does this in close(); Node 20.19 (the engines floor) too, but say it for clarity.
    server.closeIdleConnections();
  });
}

/** A small response with the headers every answer here carries. */
export function send(response: http.ServerResponse, status: number, body: string, headers: http.OutgoingHttpHeaders = {}): void {
  const payload = response.req.method === 'HEAD' ? '' : body;
  response.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  response.end(payload);
}
