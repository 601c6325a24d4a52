/**
 * `--listen HOST:PORT`: `/healthz`, `/readyz` and `/metrics` for the kubelet and Prometheus. Not
 * loopback-only (kubelet probes reach the pod IP), so it serves nothing secret: the callbacks'
 * details are states and reason codes the caller builds, never key values.
 *
 *   startHealthServer(options): Promise<RunningServer>   ({address, url, close()}, http-server.ts)
 *
 * GET or HEAD only (405 otherwise, with Allow); unknown paths 404. /healthz and /readyz answer 200
 * or 503 with `{"status":"ok"|"unhealthy"|"ready"|"not-ready","detail":...}`; a callback that
 * throws is a 503 (probe) or 500 (metrics) and a warning in the log, with the error's name only.
 */
import type http from 'node:http';
import type { ListenAddress } from '../config/listen.js';
import type { Logger } from '../log.js';
import { listen, send, type RunningServer, type ServerLimits } from './http-server.js';

/** What JSON.stringify writes as it is: the details are plain data. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue | undefined };

export interface HealthReport {
  readonly healthy: boolean;
  readonly detail?: JsonValue;
}

export interface ReadyReport {
  readonly ready: boolean;
  /** e.g. `{ buckets: { backup: { state: 'rendered', lastBadUpdate: 'missing-field' } } }` */
  readonly detail?: JsonValue;
}

export interface HealthServerOptions {
  readonly listen: ListenAddress;
  health(): HealthReport;
  ready(): ReadyReport;
  /** The exposition text (metrics.render) and its content type. */
  metrics(): string | Promise<string>;
  readonly metricsContentType: string;
  readonly log: Logger;
  /** Tests shorten the timeouts; production keeps DEFAULT_SERVER_LIMITS. */
  readonly limits?: Partial<ServerLimits>;
}

const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' };

export async function startHealthServer(options: HealthServerOptions): Promise<RunningServer> {
  const log = options.log.child({ component: 'health-server' });
  const routes: Readonly<Record<string, (response: http.ServerResponse) => Promise<void> | void>> = {
    '/healthz': (response) =>
      probe(
        response,
        () => {
          const report = options.health();
          return { ok: report.healthy, status: report.healthy ? 'ok' : 'unhealthy', detail: report.detail };
        },
        log,
      ),
    '/readyz': (response) =>
      probe(
        response,
        () => {
          const report = options.ready();
          return { ok: report.ready, status: report.ready ? 'ready' : 'not-ready', detail: report.detail };
        },
        log,
      ),
    '/metrics': async (response) => {
      try {
        send(response, 200, await options.metrics(), { 'content-type': options.metricsContentType });
      } catch (err) {
        log.warn({ error: errorName(err) }, 'metrics could not be rendered');
        send(response, 500, 'metrics unavailable\n');
      }
    },
  };
  const server = await listen(
    (request, response) => {
      const route = routes[pathOf(request)];
      if (route === undefined) return send(response, 404, 'not found: try /healthz, /readyz or /metrics\n');
      if (request.method !== 'GET' && request.method !== 'HEAD') return send(response, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
      void route(response);
    },
    options.listen,
    options.limits,
  );
  log.info({ url: server.url }, 'serving /healthz, /readyz and /metrics');
  return server;
}

function probe(
  response: http.ServerResponse,
  check: () => { ok: boolean; status: string; detail: JsonValue | undefined },
  log: Logger,
): void {
  let result: { ok: boolean; status: string; detail: JsonValue | undefined };
  try {
    result = check();
  } catch (err) {
    log.warn({ error: errorName(err) }, 'health check failed');
    result = { ok: false, status: 'error', detail: 'the check failed; see the log' };
  }
  const body = JSON.stringify(result.detail === undefined ? { status: result.status } : { status: result.status, detail: result.detail });
  send(response, result.ok ? 200 : 503, `${body}\n`, JSON_TYPE);
}

/** The path without query: probes may add one (`/readyz?verbose`). */
function pathOf(request: http.IncomingMessage): string {
  const url = request.url ?? '/';
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}
