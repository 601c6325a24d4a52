/**
 * `bucket-agent sidecar` flags (DESIGN.md "Sidecar contract"): init's bucket selection and output
 * flags unchanged, plus the source, the HTTP listeners and the notify actions. Every flag is also
 * BUCKET_AGENT_<FLAG>.
 */
import type { Options } from 'yargs';
import { UsageError } from '../errors.js';
import { INIT_OPTIONS, initConfigFrom, parseDuration, type InitArgs, type InitConfig } from './init.js';
import { parseListen, parseLoopbackListen, type ListenAddress } from './listen.js';
import { parseNotifyActions, type NotifyAction } from './notify.js';

/** Every interface: kubelet probes come to the pod IP, over IPv4 or IPv6. */
export const DEFAULT_LISTEN = ':8080';
/**
 * How long the source may go without progress (a list, watch event, bookmark, re-read or file
 * event) before /healthz says the loop is stuck. The apiserver sends a bookmark about every
 * minute, a stalled watch is cut after 90 s without a byte and is relisted at once, so a healthy
 * loop never stays this long without progress.
 */
export const DEFAULT_STUCK_AFTER = '5m';
/** Safety re-read of each candidate (api source): one GET, so a lost event cannot stick. */
export const DEFAULT_RESYNC = '10m';
/**
 * How soon after a fetch an SDK using the credentials endpoint should fetch again: Expiration is
 * set this far beyond the SDK's refresh window (credentials-endpoint.ts). Rotated keys reach the
 * app within this; the cost is one loopback GET per app per period.
 */
export const DEFAULT_CREDENTIALS_REFRESH = '10s';

// Only what the sidecar does differently from init: it never gives up, so it has no --timeout.
const { timeout, ...INIT_SHARED } = INIT_OPTIONS;

export const SIDECAR_OPTIONS = {
  ...INIT_SHARED,
  listen: { type: 'string', default: DEFAULT_LISTEN, describe: '/healthz, /readyz and /metrics on HOST:PORT ([::]:8080 for IPv6)' },
  'credentials-listen': {
    type: 'string',
    describe: 'Serve the AWS container-credentials endpoint on HOST:PORT (loopback only, e.g. 127.0.0.1:9911)',
  },
  notify: {
    type: 'string',
    array: true,
    describe:
      'After each change: signal:<SIG>:<process name>, signal:<SIG>:pidfile:<path>, http:<METHOD>:<url> or exec:<command>; repeatable',
  },
  'stuck-after': {
    type: 'string',
    default: DEFAULT_STUCK_AFTER,
    describe: '/healthz fails when the source makes no progress for this long',
  },
  resync: {
    type: 'string',
    default: DEFAULT_RESYNC,
    describe: 'api source: re-read each Secret candidate this often, in case an event was lost',
  },
  'credentials-refresh': {
    type: 'string',
    default: DEFAULT_CREDENTIALS_REFRESH,
    describe: 'How soon an SDK using the credentials endpoint fetches again (it picks up rotated keys within this)',
  },
  // Seldom worth changing: the apiserver sends a bookmark about every 60 s, so a value below that
  // cuts healthy watches now and then. It exists for networks that drop idle connections sooner,
  // and for the fault tests, which stall a connection and must not wait 90 s for it to be noticed.
  // No default here: kube/watch-stream.ts owns it (DEFAULT_WATCH_IDLE_TIMEOUT_MS, 90 s).
  'watch-idle-timeout': {
    type: 'string',
    describe:
      'api source: a watch silent this long (not even a bookmark, sent about every 60s) is taken for dead and reopened (default 90s; keep it above 60s)',
  },
  // Also seldom worth changing: each watch asks the apiserver to end it after this long and is
  // then resumed from its last resourceVersion (which also re-reads a rotated token file). The
  // fault tests shorten it to make a resume from an expired resourceVersion (a real 410) happen.
  'watch-timeout': {
    type: 'string',
    describe: 'api source: each watch is ended by the apiserver after this long and resumed (default 4m)',
  },
} as const satisfies Record<string, Options>;

export interface SidecarArgs extends Omit<InitArgs, 'timeout'> {
  readonly listen: string;
  readonly 'credentials-listen'?: string;
  readonly notify?: readonly string[];
  readonly 'stuck-after': string;
  readonly resync: string;
  readonly 'credentials-refresh': string;
  readonly 'watch-idle-timeout'?: string;
  readonly 'watch-timeout'?: string;
}

export interface SidecarConfig extends Omit<InitConfig, 'timeoutMs'> {
  readonly listen: ListenAddress;
  readonly credentialsListen: ListenAddress | undefined;
  readonly notify: readonly NotifyAction[];
  readonly stuckAfterMs: number;
  readonly resyncMs: number;
  readonly credentialsRefreshMs: number;
  /** api source: silence after which a watch is taken for dead; undefined: kube/watch-stream.ts's default. */
  readonly watchIdleTimeoutMs: number | undefined;
  /** api source: the server-side length of one watch; undefined: kube/watch-object.ts's default. */
  readonly watchTimeoutSeconds: number | undefined;
  /** The sidecar's own environment: the base of an exec notify action's. */
  readonly env: NodeJS.ProcessEnv;
}

export function sidecarConfigFrom(args: SidecarArgs, stderrIsTTY: boolean, env: NodeJS.ProcessEnv = process.env): SidecarConfig {
  const { timeoutMs, ...init } = initConfigFrom({ ...args, timeout: '1s' }, stderrIsTTY, env);
  const credentialsListen =
    args['credentials-listen'] === undefined ? undefined : parseLoopbackListen(args['credentials-listen'], 'credentials-listen');
  return Object.freeze({
    ...init,
    listen: parseListen(args.listen, 'listen'),
    credentialsListen,
    notify: parseNotifyActions(args.notify ?? []),
    stuckAfterMs: parseDuration(args['stuck-after'], 'stuck-after'),
    resyncMs: parseDuration(args.resync, 'resync'),
    credentialsRefreshMs: parseDuration(args['credentials-refresh'], 'credentials-refresh'),
    watchIdleTimeoutMs:
      args['watch-idle-timeout'] === undefined ? undefined : parseDuration(args['watch-idle-timeout'], 'watch-idle-timeout'),
    watchTimeoutSeconds: args['watch-timeout'] === undefined ? undefined : watchTimeoutSeconds(args['watch-timeout']),
    env,
  });
}

/** Whole seconds (the apiserver's `timeoutSeconds`), at least the 1 s a watch must run to count as healthy. */
function watchTimeoutSeconds(value: string): number {
  const ms = parseDuration(value, 'watch-timeout');
  if (ms < 2000) throw new UsageError(`--watch-timeout: "${value}" is too short; give at least 2s`);
  return Math.round(ms / 1000);
}
