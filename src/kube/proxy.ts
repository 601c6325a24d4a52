/**
 * Connections to the apiserver through an http:// proxy: CONNECT host:port over node:http, then
 * TLS over the tunnel's socket (or plain HTTP for an http:// server), as Go's transport does for
 * https. The agents are node's own, with `createConnection` replaced, so keep-alive pooling, TLS
 * session reuse and the client's per-TLS-material pools work unchanged (client.ts).
 *
 * Only http:// proxies: client-go also speaks https:// proxies (TLS to the proxy with the
 * cluster's own CA) and socks5://; those are refused when the kubeconfig is loaded, naming the field.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import tls from 'node:tls';

/** How long the proxy may take to answer CONNECT; the request's own timeout covers the rest. */
const CONNECT_TIMEOUT_MS = 30_000;

/** A CONNECT the proxy refused: `status` tells a denial (403, 407) from trouble (502, 503). */
export class ProxyConnectError extends Error {
  readonly code = 'EPROXYCONNECT';
  readonly status: number;

  constructor(status: number, proxy: string) {
    super(`proxy ${proxy} refused the tunnel: HTTP ${status}`);
    this.status = status;
  }
}

/** The proxy without userinfo, for messages and logs: `http://proxy.corp:3128`. */
export function describeProxy(proxy: URL): string {
  return `${proxy.protocol}//${proxy.host}`;
}

/** An agent for an https:// apiserver that tunnels every connection through `proxy`. */
export function tunnelHttpsAgent(proxy: URL, options: https.AgentOptions): https.Agent {
  const agent = new https.Agent(options);
  // Node's Agent calls createConnection(options, callback) and waits for the callback when it
  // returns nothing: the tunnel is asynchronous.
  Object.assign(agent, {
    createConnection: (target: tls.ConnectionOptions, done: (err: Error | null, socket?: Socket) => void): undefined => {
      openTunnel(proxy, target).then(
        (socket) => {
          const secure = tls.connect({ ...target, socket, servername: target.servername ?? serverName(target.host) });
          secure.once('secureConnect', () => done(null, secure));
          secure.once('error', (err: Error) => done(err));
        },
        (err: unknown) => done(err as Error),
      );
      return undefined;
    },
  });
  return agent;
}

/** An agent for an http:// apiserver (tests, local setups): the tunnel's socket carries HTTP. */
export function tunnelHttpAgent(proxy: URL, options: http.AgentOptions): http.Agent {
  const agent = new http.Agent(options);
  Object.assign(agent, {
    createConnection: (
      target: { host?: string; port?: number | string },
      done: (err: Error | null, socket?: Socket) => void,
    ): undefined => {
      openTunnel(proxy, target).then(
        (socket) => done(null, socket),
        (err: unknown) => done(err as Error),
      );
      return undefined;
    },
  });
  return agent;
}

/** CONNECT host:port; resolves with the raw socket once the proxy answers 2xx. */
export function openTunnel(proxy: URL, target: { host?: string | null; port?: number | string | null }): Promise<Socket> {
  const host = target.host ?? 'localhost';
  const authority = `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${String(target.port ?? 443)}`;
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: proxy.hostname.replace(/^\[|\]$/g, ''),
      port: proxy.port === '' ? 80 : Number(proxy.port),
      method: 'CONNECT',
      path: authority,
      headers: { Host: authority, ...proxyAuthorization(proxy) },
      timeout: CONNECT_TIMEOUT_MS,
      // The tunnel's socket is handed over: never pooled, never reused for another CONNECT.
      agent: false,
    });
    req.once('connect', (res, socket) => {
      if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) return resolve(socket);
      socket.destroy();
      reject(new ProxyConnectError(res.statusCode ?? 0, describeProxy(proxy)));
    });
    req.once('timeout', () =>
      req.destroy(Object.assign(new Error(`proxy ${describeProxy(proxy)} did not answer CONNECT`), { code: 'ETIMEDOUT' })),
    );
    req.once('error', reject);
    req.end();
  });
}

/** Basic credentials from the proxy URL's userinfo, as Go sends them on CONNECT. */
function proxyAuthorization(proxy: URL): Record<string, string> {
  if (proxy.username === '' && proxy.password === '') return {};
  const pair = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return { 'Proxy-Authorization': `Basic ${Buffer.from(pair, 'utf8').toString('base64')}` };
}

/** SNI carries names only, never an address (RFC 6066). */
function serverName(host: string | null | undefined): string | undefined {
  if (host === undefined || host === null || host === '') return undefined;
  return /^[\d.]+$/.test(host) || host.includes(':') ? undefined : host;
}
