/**
 * A thin Kubernetes API client: GET, LIST, POST and WATCH of namespaced objects over node:https,
 * authenticated by a KubeAuth (auth.ts). Auth and TLS are re-applied to every request, so a
 * rotated service-account token or client certificate is picked up without a restart; the
 * connection pool is kept while the TLS material stays the same.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { KubeAccessError } from '../errors.js';
import type { KubeAuth } from './auth.js';
import { KubeApiError, KubeConnectionError, type KubeStatus } from './errors.js';
import { tunnelHttpAgent, tunnelHttpsAgent } from './proxy.js';
import { resourcePath, type ApiTarget, type ResourceType } from './resources.js';
import { openWatch, type WatchHandlers, type WatchStream } from './watch-stream.js';

export type { WatchEvent, WatchStream } from './watch-stream.js';

/** Lists and objects are small here (one Secret by field selector); anything bigger is a mistake. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/**
 * Requests here are short and few (watches have their own connections): queueing them on one
 * kept-alive connection costs less than another TLS handshake, ~3 ms of CPU on both ends at start.
 */
const MAX_SOCKETS = 1;

export interface KubeList<T> {
  readonly metadata?: { readonly resourceVersion?: string };
  readonly items: readonly T[];
}

export interface RequestOptions {
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  readonly signal?: AbortSignal;
}

interface Sent {
  readonly status: number;
  readonly body: Buffer;
}

export class KubeClient {
  readonly server: string;
  private readonly auth: KubeAuth;
  private readonly pool: AgentPool;
  /** Watches hold their connection for minutes: never queue them behind, or in front of, requests. */
  private readonly watchPool: AgentPool;

  /** `proxy`: an http:// proxy that every request and watch tunnels through (kubeconfig.ts decides). */
  constructor(auth: KubeAuth, server: string, proxy?: URL) {
    this.auth = auth;
    this.server = server.replace(/\/+$/, '');
    this.pool = new AgentPool({ keepAlive: true, maxSockets: MAX_SOCKETS }, proxy);
    this.watchPool = new AgentPool({ keepAlive: false }, proxy);
  }

  get<T>(resource: ResourceType, namespace: string, name: string, options: RequestOptions = {}): Promise<T> {
    return this.json<T>('GET', { verb: 'get', resource, namespace, name }, options);
  }

  list<T>(resource: ResourceType, namespace: string, options: RequestOptions = {}): Promise<KubeList<T>> {
    return this.json<KubeList<T>>('GET', { verb: 'list', resource, namespace }, options);
  }

  create<T>(resource: ResourceType, namespace: string, body: unknown, options: RequestOptions = {}): Promise<T> {
    return this.json<T>('POST', { verb: 'create', resource, namespace }, { ...options, body });
  }

  /** Starts a watch (the server ends it after `timeoutSeconds`); events and its end go to `handlers`. */
  async watch(resource: ResourceType, namespace: string, query: WatchQuery, handlers: WatchHandlers): Promise<WatchStream> {
    const target: ApiTarget = { verb: 'watch', resource, namespace };
    const { url, options } = await this.prepare('GET', target, { ...query, timeoutSeconds: String(query.timeoutSeconds), watch: 'true' }, this.watchPool);
    return openWatch({ url, options: { ...options, timeout: undefined }, server: this.server, target, timeoutSeconds: query.timeoutSeconds }, handlers);
  }

  /** Closes pooled connections; in-flight requests finish or fail. */
  close(): void {
    this.pool.close();
    this.watchPool.close();
  }

  private async json<T>(method: string, target: ApiTarget, options: RequestOptions): Promise<T> {
    const sent = await this.send(method, target, options);
    if (sent.status >= 200 && sent.status < 300) return JSON.parse(sent.body.toString('utf8')) as T;
    throw new KubeApiError(sent.status, target, parseStatus(sent.body));
  }

  private async send(method: string, target: ApiTarget, options: RequestOptions): Promise<Sent> {
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const { url, options: request } = await this.prepare(method, target, options.query ?? {}, this.pool);
    if (payload !== undefined) request.headers = { ...request.headers, 'Content-Type': 'application/json' };
    request.signal = options.signal;
    return exchange(url, request, payload).catch((err: unknown) => {
      throw new KubeConnectionError(this.server, target, err);
    });
  }

  /** URL and request options with auth and TLS applied now, so rotated credentials are used. */
  private async prepare(method: string, target: ApiTarget, query: Readonly<Record<string, string>>, pool: AgentPool): Promise<Prepared> {
    const url = new URL(this.server + resourcePath(target.resource, target.namespace, target.name));
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    const options: https.RequestOptions = { method, headers: { Accept: 'application/json' }, timeout: DEFAULT_REQUEST_TIMEOUT_MS };
    try {
      await this.auth.apply(options);
    } catch (err) {
      // Ours name an unreadable credential file: final. A failing auth plugin may recover.
      if (err instanceof KubeAccessError) throw err;
      throw new KubeConnectionError(this.server, target, err);
    }
    options.agent = pool.agentFor(options, url);
    return { url, options };
  }
}

interface Prepared {
  readonly url: URL;
  readonly options: https.RequestOptions;
}

/** Watch parameters; `timeoutSeconds` is required so the watchdog knows when to give up. */
export interface WatchQuery {
  readonly [key: string]: string | number;
  readonly timeoutSeconds: number;
}

function exchange(url: URL, options: https.RequestOptions, payload: Buffer | undefined): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const transport = url.protocol === 'http:' ? http : https;
    const req = transport.request(url, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) req.destroy(new Error(`response larger than ${MAX_BODY_BYTES} bytes`));
        else chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(payload);
  });
}

function parseStatus(body: Buffer): KubeStatus {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return {};
    const { code, reason, message } = parsed as Record<string, unknown>;
    return {
      code: typeof code === 'number' ? code : undefined,
      reason: typeof reason === 'string' ? reason : undefined,
      message: typeof message === 'string' ? message : undefined,
    };
  } catch {
    // Not a Status (a proxy's HTML page, "404 page not found"): the status code says enough.
    return {};
  }
}

/**
 * One keep-alive agent per set of TLS material, which is read again for every request: reusing
 * the agent keeps connections (and TLS sessions) across requests, and a changed certificate gets
 * a new pool.
 */
class AgentPool {
  private key = '';
  private agent: https.Agent | undefined;
  private plain: http.Agent | undefined;
  private readonly settings: https.AgentOptions;
  private readonly proxy: URL | undefined;

  constructor(settings: https.AgentOptions, proxy: URL | undefined) {
    this.settings = settings;
    this.proxy = proxy;
  }

  agentFor(options: https.RequestOptions, url: URL): http.Agent | undefined {
    // Plain http needs no TLS pool: node's global agent serves it, unless it must be tunnelled.
    if (url.protocol === 'http:') return this.proxy === undefined ? undefined : (this.plain ??= tunnelHttpAgent(this.proxy, this.settings));
    const key = [options.ca, options.cert, options.key, options.rejectUnauthorized, options.servername].map(fingerprint).join('|');
    if (this.agent === undefined || key !== this.key) {
      this.agent?.destroy();
      this.key = key;
      const make = this.proxy === undefined ? (o: https.AgentOptions): https.Agent => new https.Agent(o) : tunnelHttpsAgent.bind(undefined, this.proxy);
      this.agent = make({
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

  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
    this.plain?.destroy();
    this.plain = undefined;
  }
}

/** A digest, so the pool key holds no copy of a private key. */
function fingerprint(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (Array.isArray(value)) return value.map(fingerprint).join(',');
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value as string | boolean));
  return createHash('sha256').update(bytes).digest('base64');
}
