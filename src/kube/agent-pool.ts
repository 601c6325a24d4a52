/**
 * The connection pools of the Kubernetes client (client.ts): one node agent per set of TLS
 * material, through the proxy when one is configured.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { tunnelHttpAgent, tunnelHttpsAgent } from './proxy.js';

/**
 * One agent per set of TLS material, which is read again for every request: reusing the agent
 * keeps connections (and TLS sessions) across requests, and a changed certificate gets a new
 * pool. The old one is retired, not destroyed: open watches and requests in flight finish on it.
 */
export class AgentPool {
  private key = '';
  private agent: http.Agent | undefined;
  private readonly settings: https.AgentOptions;
  private readonly proxy: URL | undefined;

  constructor(settings: https.AgentOptions, proxy: URL | undefined) {
    this.settings = settings;
    this.proxy = proxy;
  }

  agentFor(options: https.RequestOptions, url: URL): http.Agent {
    // Plain http (kubectl proxy) gets a pool of its own too, for the same connection limits.
    const plain = url.protocol === 'http:';
    const key = plain
      ? 'http'
      : [options.ca, options.cert, options.key, options.rejectUnauthorized, options.servername].map(fingerprint).join('|');
    if (this.agent === undefined || key !== this.key) {
      if (this.agent !== undefined) retire(this.agent);
      this.key = key;
      this.agent = plain
        ? this.plainAgent()
        : this.tlsAgent({
            ...this.settings,
            ca: options.ca,
            cert: options.cert,
            key: options.key,
            rejectUnauthorized: options.rejectUnauthorized,
            servername: options.servername,
          });
    }
    return this.agent;
  }

  /** Closes the idle connections and starts a new pool; requests in flight finish on the old one. */
  reset(): void {
    if (this.agent !== undefined) retire(this.agent);
    this.agent = undefined;
  }

  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }

  /** With a proxy, node's own agents with CONNECT tunnels as their connections (proxy.ts). */
  private plainAgent(): http.Agent {
    return this.proxy === undefined ? new http.Agent(this.settings) : tunnelHttpAgent(this.proxy, this.settings);
  }

  private tlsAgent(options: https.AgentOptions): https.Agent {
    return this.proxy === undefined ? new https.Agent(options) : tunnelHttpsAgent(this.proxy, options);
  }
}

/** Closes its idle connections now, and each busy one when its request or watch is done. */
function retire(agent: http.Agent): void {
  // Node's agent reads `keepAlive` when a connection comes back: off, it closes it (not in @types/node).
  (agent as { keepAlive?: boolean }).keepAlive = false;
  for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
}

/** A digest, so the pool key holds no copy of a private key. */
function fingerprint(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (Array.isArray(value)) return value.map(fingerprint).join(',');
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value as string | boolean));
  return createHash('sha256').update(bytes).digest('base64');
}
