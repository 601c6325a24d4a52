import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP forwarder in front of the apiserver. Clients reach the apiserver only through it (the
 * kubeconfig points here), so tests can break their connections the ways networks do, without
 * touching the apiserver. TLS passes through untouched: the serving certificate names 127.0.0.1.
 */
export interface ConnProxy {
  readonly port: number;
  /** Closes every open connection (both sides); new connections work. Returns how many were cut. */
  dropConnections(): number;
  /**
   * Silently stops forwarding on every open connection, leaving the sockets open: what a dead
   * NAT entry or a crashed peer behind a load balancer looks like. Watches hang with no error,
   * which is what a watchdog must catch. New connections work. Returns how many were stalled.
   */
  stallConnections(): number;
  /** Number of open client connections. */
  openConnections(): number;
  close(): Promise<void>;
}

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
}

function forward(client: Socket, target: { host: string; port: number }, pairs: Set<Pair>): void {
  const upstream = connect(target.port, target.host);
  const pair: Pair = { client, upstream };
  pairs.add(pair);
  // Either side ending or failing ends both: the client must see what a real network drop shows.
  const cut = (): void => {
    pairs.delete(pair);
    client.destroy();
    upstream.destroy();
  };
  for (const s of [client, upstream]) {
    s.setNoDelay(true);
    s.once('close', cut);
    s.on('error', cut);
  }
  client.pipe(upstream);
  upstream.pipe(client);
}

function stall(pair: Pair): void {
  pair.client.unpipe(pair.upstream);
  pair.upstream.unpipe(pair.client);
  // Keep reading and discarding, so neither peer sees back-pressure or a closed socket.
  pair.client.on('data', () => undefined);
  pair.upstream.on('data', () => undefined);
}

/** Listens on `listenHost`:`listenPort` (0 = any) and forwards to `target`. */
export async function startConnProxy(target: { host: string; port: number }, listenPort = 0, listenHost = '127.0.0.1'): Promise<ConnProxy> {
  const pairs = new Set<Pair>();
  const server: Server = createServer((client) => forward(client, target, pairs));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, listenHost, () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('proxy has no TCP address');
  const dropConnections = (): number => {
    const n = pairs.size;
    for (const p of [...pairs]) {
      p.client.destroy();
      p.upstream.destroy();
    }
    pairs.clear();
    return n;
  };
  const stalled = new Set<Pair>();
  const stallConnections = (): number => {
    const n = pairs.size;
    for (const p of pairs) {
      stall(p);
      stalled.add(p);
    }
    // Moved aside, not closed: a later dropConnections() must not end them either, or a hung
    // watch would get the clean error the test is checking it can live without.
    pairs.clear();
    return n;
  };
  const close = async (): Promise<void> => {
    dropConnections();
    for (const p of stalled) {
      p.client.destroy();
      p.upstream.destroy();
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { port: addr.port, dropConnections, stallConnections, openConnections: () => pairs.size, close };
}
