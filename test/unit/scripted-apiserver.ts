/**
 * A real node:http(s) server on loopback that answers Kubernetes-shaped requests the way each test
 * scripts it: lists, watch streams that send, stall or end, refusals with a Status. The client
 * under test is the real KubeClient; only the server's behaviour is chosen by the test, to reach
 * the timings and failures a real apiserver would take minutes to show.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

export interface Seen {
  readonly kind: 'list' | 'watch' | 'get' | 'create';
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: http.IncomingHttpHeaders;
  /** performance.now() when the request arrived. */
  readonly at: number;
  /** The n-th request of this kind, from 0. */
  readonly n: number;
}

export type Handler = (seen: Seen, res: http.ServerResponse) => void;

export interface ScriptedApiserver {
  readonly url: string;
  readonly seen: Seen[];
  /** TCP connections accepted so far. */
  connections(): number;
  /** Seen requests of one kind. */
  of(kind: Seen['kind']): Seen[];
  /** Resolves when `count` requests of `kind` have arrived. */
  waitFor(kind: Seen['kind'], count: number, timeoutMs?: number): Promise<Seen>;
  close(): Promise<void>;
}

export interface Tls {
  readonly cert: string;
  readonly key: string;
}

export async function startScriptedApiserver(handler: Handler, tls?: Tls): Promise<ScriptedApiserver> {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  const waiters = new Set<() => void>();
  let connections = 0;
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    const kind = kindOf(req.method ?? 'GET', url);
    const entry: Seen = {
      kind,
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      at: performance.now(),
      n: seen.filter((s) => s.kind === kind).length,
    };
    seen.push(entry);
    for (const wake of waiters) wake();
    req.resume();
    handler(entry, res);
  };
  const server = tls === undefined ? http.createServer(onRequest) : https.createServer({ cert: tls.cert, key: tls.key }, onRequest);
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const of = (kind: Seen['kind']): Seen[] => seen.filter((s) => s.kind === kind);
  const waitFor = (kind: Seen['kind'], count: number, timeoutMs = 20_000): Promise<Seen> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`only ${of(kind).length} ${kind} requests of ${count} within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = (): void => {
        const found = of(kind)[count - 1];
        if (found === undefined) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(found);
      };
      waiters.add(check);
      check();
    });
  return {
    url: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    seen,
    connections: () => connections,
    of,
    waitFor,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function kindOf(method: string, url: URL): Seen['kind'] {
  if (method === 'POST') return 'create';
  if (url.searchParams.get('watch') === 'true') return 'watch';
  return /\/secrets$|\/events$|\/buckets$/.test(url.pathname) ? 'list' : 'get';
}

export function secret(name: string, resourceVersion: string, data: Record<string, string> = {}): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion }, data };
}

export function sendList(res: http.ServerResponse, resourceVersion: string, items: readonly unknown[] = []): void {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ kind: 'SecretList', apiVersion: 'v1', metadata: { resourceVersion }, items }));
}

export function sendJson(res: http.ServerResponse, object: unknown): void {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(object));
}

/** Starts a watch response; write events with sendEvent, end with res.end(). */
export function startWatch(res: http.ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
}

export function sendEvent(res: http.ServerResponse, type: string, object: unknown): void {
  res.write(`${JSON.stringify({ type, object })}\n`);
}

export function bookmark(resourceVersion: string): Record<string, unknown> {
  return { kind: 'Secret', apiVersion: 'v1', metadata: { resourceVersion } };
}

export function sendStatus(
  res: http.ServerResponse,
  code: number,
  headers: Record<string, string> = {},
  details?: Record<string, unknown>,
): void {
  res.writeHead(code, { 'Content-Type': 'application/json', ...headers });
  res.end(
    JSON.stringify({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      code,
      reason: code === 403 ? 'Forbidden' : 'TooManyRequests',
      message: `scripted ${code}`,
      details,
    }),
  );
}
