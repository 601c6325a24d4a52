import { connect, type Socket } from 'node:net';
import { createServer, type Server } from 'node:tls';
import type { KeyPair } from './kube-pki.js';

/**
 * TLS in front of SeaweedFS's plain-HTTP S3 port, with a certificate from the test CA. Real TLS,
 * real S3 behind it: what clients meet when an endpoint has no scheme (Cozystack's flat Secret
 * means https) and what `init --ca-file` / TLS-failure tests need.
 */
export interface TlsProxy {
  readonly port: number;
  close(): Promise<void>;
}

export async function startTlsProxy(target: { host: string; port: number }, cert: KeyPair): Promise<TlsProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer({ cert: cert.certPem, key: cert.keyPem }, (client) => {
    const upstream = connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('TLS proxy has no address');
  return {
    port: address.port,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
