/**
 * A thin Kubernetes API client: GET, LIST, POST and WATCH of namespaced objects over node:https,
 * authenticated by a KubeAuth (auth.ts). Auth and TLS are re-applied to every request, so a
 * rotated service-account token or client certificate is picked up without a restart; the
 * connection pool is kept while the TLS material stays the same.
 *
 * Connections: requests share a few kept-alive ones (request-spread.ts decides when another is
 * opened), each watch has its own, and a request's deadline runs from the call, so a hung request
 * delays no other and waits no longer than its timeout even while queued for a connection.
 */
import http from 'node:http';
import https from 'node:https';
import { KubeAccessError } from '../errors.js';
import { userAgent } from '../version.js';
import { AgentPool } from './agent-pool.js';
import type { KubeAuth } from './auth.js';
import { KubeApiError, KubeConnectionError, parseStatus, WatchStalledError } from './errors.js';
import { RequestSpread } from './request-spread.js';
import { resourcePath, type ApiTarget, type ResourceType } from './resources.js';
import { DEFAULT_WATCH_IDLE_TIMEOUT_MS, openWatch, type WatchHandlers, type WatchStream } from './watch-stream.js';

export type { WatchEvent, WatchStream } from './watch-stream.js';

/** Lists and objects are small here (one Secret by field selector); anything bigger is a mistake. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** From the call to the last byte of the answer, waiting for a connection included. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/**
 * Requests are short and few (watches have their own connections), so they mostly share one
 * kept-alive connection: another TLS handshake costs ~3 ms of CPU on both ends. A few more exist
 * for when one request hangs.
 */
export const DEFAULT_MAX_SOCKETS = 4;

export interface KubeClientOptions {
  /** Overall deadline of one request (DEFAULT_REQUEST_TIMEOUT_MS). */
  readonly requestTimeoutMs?: number;
  /** Connections requests may use at once (DEFAULT_MAX_SOCKETS); watches do not count. */
  readonly maxSockets?: number;
  /** How long a request waits for a busy connection before another may be opened (request-spread.ts). */
  readonly spreadAfterMs?: number;
  /** `bucket-agent/<version>` unless set. */
  readonly userAgent?: string;
  /** An http:// proxy that every request and watch tunnels through (kubeconfig.ts decides). */
  readonly proxy?: URL;
}

export interface KubeList<T> {
  readonly metadata?: { readonly resourceVersion?: string };
  readonly items: readonly T[];
}

export interface RequestOptions {
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  readonly signal?: AbortSignal;
  /** This request's deadline instead of the client's `requestTimeoutMs` (a long-poll, a big list). */
  readonly timeoutMs?: number;
  /** The body's type (`application/json` unless told). */
  readonly contentType?: string;
}

const JSON_PATCH_TYPE = 'application/json-patch+json';

/** One object: namespace '' (CLUSTER_SCOPED) for a cluster-scoped resource. */
export interface ObjectRef {
  readonly namespace: string;
  readonly name: string;
}

interface Sent {
  readonly status: number;
  readonly body: Buffer;
  readonly retryAfter: string | undefined;
}

export class KubeClient {
  readonly server: string;
  private readonly auth: KubeAuth;
  private readonly pool: AgentPool;
  /** Watches hold their connection for minutes: never queue them behind, or in front of, requests. */
  private readonly watchPool: AgentPool;
  private readonly spread: RequestSpread;
  private readonly requestTimeoutMs: number;
  private readonly userAgent: string | undefined;

  constructor(auth: KubeAuth, server: string, options: KubeClientOptions = {}) {
    this.auth = auth;
    this.server = server.replace(/\/+$/, '');
    this.pool = new AgentPool({ keepAlive: true, maxSockets: options.maxSockets ?? DEFAULT_MAX_SOCKETS }, options.proxy);
    this.watchPool = new AgentPool({ keepAlive: false }, options.proxy);
    this.spread = new RequestSpread(options.spreadAfterMs);
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.userAgent = options.userAgent;
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

  /** PUT: the body carries `metadata.resourceVersion`, so a concurrent change is a 409, not lost. */
  update<T>(resource: ResourceType, ref: ObjectRef, body: unknown, options: RequestOptions = {}): Promise<T> {
    return this.json<T>('PUT', { verb: 'update', resource, ...ref }, { ...options, body });
  }

  /** PATCH with a JSON patch (RFC 6902); a failed `test` operation is a 422. */
  jsonPatch<T>(resource: ResourceType, ref: ObjectRef, operations: readonly object[], options: RequestOptions = {}): Promise<T> {
    return this.json<T>('PATCH', { verb: 'patch', resource, ...ref }, { ...options, body: operations, contentType: JSON_PATCH_TYPE });
  }

  /**
   * Starts a watch on its own connection (the server ends it after `timeoutSeconds`); events and
   * its end go to `handlers`. Rejects only when the request cannot be made (auth); a refusal or a
   * broken stream goes to `onEnd`.
   */
  async watch(resource: ResourceType, namespace: string, watch: WatchOptions, handlers: WatchHandlers): Promise<WatchStream> {
    const target: ApiTarget = { verb: 'watch', resource, namespace };
    const query = Object.fromEntries(Object.entries(watch.query).map(([key, value]) => [key, String(value)]));
    const { url, options } = await this.prepare('GET', target, { ...query, watch: 'true' }, this.watchPool);
    const idleTimeoutMs = watch.idleTimeoutMs ?? DEFAULT_WATCH_IDLE_TIMEOUT_MS;
    const onEnd: WatchHandlers['onEnd'] = (err) => {
      // A silent watch means the path to the apiserver went dead without a word (a lost NAT or
      // conntrack entry, a hung proxy): keep-alive connections idle in the pool went over that
      // path too, and a request sent on one would wait out its whole timeout (30 s) for nothing.
      // The relist that follows the stall must get a fresh connection.
      if (err instanceof WatchStalledError) this.pool.reset();
      handlers.onEnd(err);
    };
    return openWatch(
      { url, options, server: this.server, target, idleTimeoutMs, signal: watch.signal },
      { onEvent: (event) => handlers.onEvent(event), onEnd },
    );
  }

  /** Closes pooled connections; in-flight requests finish or fail. */
  close(): void {
    this.pool.close();
    this.watchPool.close();
  }

  private async json<T>(method: string, target: ApiTarget, options: RequestOptions): Promise<T> {
    const sent = await this.send(method, target, options);
    if (sent.status >= 200 && sent.status < 300) return JSON.parse(sent.body.toString('utf8')) as T;
    throw new KubeApiError(sent.status, target, parseStatus(sent.body, sent.retryAfter));
  }

  private async send(method: string, target: ApiTarget, options: RequestOptions): Promise<Sent> {
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    // Started before anything waits, so the wait for a connection counts against it too.
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = options.signal === undefined ? deadline : AbortSignal.any([options.signal, deadline]);
    const { url, options: request } = await this.prepare(method, target, options.query ?? {}, this.pool);
    if (payload !== undefined) request.headers = { ...request.headers, 'Content-Type': options.contentType ?? 'application/json' };
    request.signal = signal;
    const release = await this.spread.acquire(signal);
    try {
      signal.throwIfAborted();
      return await exchange(url, request, payload);
    } catch (err) {
      throw new KubeConnectionError(this.server, target, deadline.aborted ? timedOut(timeoutMs) : err);
    } finally {
      release();
    }
  }

  /** URL and request options with auth and TLS applied now, so rotated credentials are used. */
  private async prepare(method: string, target: ApiTarget, query: Readonly<Record<string, string>>, pool: AgentPool): Promise<Prepared> {
    const url = new URL(this.server + resourcePath(target.resource, target.namespace, target.name));
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    const options: https.RequestOptions = { method, headers: { Accept: 'application/json', 'User-Agent': this.userAgent ?? userAgent() } };
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

/** Watch parameters; `timeoutSeconds` is required: the server ends the watch then, and a fresh one re-reads the token. */
export interface WatchQuery {
  readonly [key: string]: string | number;
  readonly timeoutSeconds: number;
}

export interface WatchOptions {
  readonly query: WatchQuery;
  /** Silence that ends the watch as stalled (DEFAULT_WATCH_IDLE_TIMEOUT_MS): see watch-stream.ts. */
  readonly idleTimeoutMs?: number;
  /** Aborting it stops the watch. */
  readonly signal?: AbortSignal;
}

function timedOut(ms: number): Error {
  return Object.assign(new Error(`no answer within ${ms / 1000} s`), { code: 'ETIMEDOUT' });
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
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), retryAfter: res.headers['retry-after'] }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}
