import { once } from 'node:events';
import http from 'node:http';
import { connect, type Socket } from 'node:net';

/**
 * A real forward proxy on loopback, as squid or a corporate proxy serves kubectl: HTTP CONNECT
 * host:port, then bytes both ways (TLS passes through untouched). It counts the tunnels it opened,
 * so a test can prove that traffic went through it, and it resolves names through `hosts` first:
 * a server name that only the proxy can resolve (`kubernetes.default.svc`) proves the same from
 * the other side, since a client that bypasses the proxy cannot connect at all.
 */
export interface HttpProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Tunnels opened (2xx answered), in order, as the `host:port` the client asked for. */
  readonly tunnels: readonly string[];
  /** CONNECTs refused (bad credentials, unknown target), as `host:port status`. */
  readonly refused: readonly string[];
  close(): Promise<void>;
}

export interface HttpProxyOptions {
  /** Name -> address the proxy connects to instead of resolving the name. */
  readonly hosts?: Readonly<Record<string, string>>;
  /** When set, CONNECT needs `Proxy-Authorization: Basic base64(user:password)`, else 407. */
  readonly credentials?: { readonly user: string; readonly password: string };
}

export async function startHttpProxy(options: HttpProxyOptions = {}): Promise<HttpProxy> {
  const tunnels: string[] = [];
  const refused: string[] = [];
  const open = new Set<Socket>();
  const server = http.createServer((_req, res) => {
    // Only tunnels: the apiservers under test speak https.
    res.writeHead(405, { Connection: 'close' }).end('CONNECT only\n');
  });
  server.on('connect', (req: http.IncomingMessage, client: Socket, head: Buffer) => {
    const target = req.url ?? '';
    const refuse = (status: number, extra: Record<string, string> = {}): void => {
      refused.push(`${target} ${status}`);
      client.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\n${headerLines(extra)}Connection: close\r\n\r\n`);
    };
    if (!authorized(req, options.credentials)) return refuse(407, { 'Proxy-Authenticate': 'Basic realm="test"' });
    const split = /^\[?([^\]]+?)\]?:(\d+)$/.exec(target);
    if (split === null) return refuse(400);
    const host = options.hosts?.[split[1] ?? ''] ?? split[1] ?? '';
    const upstream = connect(Number(split[2]), host);
    for (const s of [client, upstream]) {
      open.add(s);
      s.once('close', () => open.delete(s));
    }
    upstream.once('connect', () => {
      tunnels.push(target);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.once('error', () => (tunnels.includes(target) ? client.destroy() : refuse(502)));
    client.once('error', () => upstream.destroy());
    client.once('close', () => upstream.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('http proxy has no TCP address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    tunnels,
    refused,
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function authorized(req: http.IncomingMessage, credentials: HttpProxyOptions['credentials']): boolean {
  if (credentials === undefined) return true;
  const expected = `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`;
  return req.headers['proxy-authorization'] === expected;
}

function headerLines(headers: Record<string, string>): string {
  return Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
}
