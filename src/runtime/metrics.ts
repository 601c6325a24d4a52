/**
 * The sidecar's metrics, `bucket_agent_` prefix, Prometheus naming (DESIGN.md "Sidecar contract").
 * One private registry per call: no global state, so tests and a second sidecar in-process never
 * share counts. Every label value comes from a fixed vocabulary typed here or from an alias
 * (a DNS-1123 label the user chose): no error text, no key, ever.
 *
 *   createSidecarMetrics(options?): SidecarMetrics
 *     .rotations.inc({alias})                   keys changed (new access key id) and were rendered
 *     .renders.inc({})                           renders that rewrote files
 *     .badUpdates.inc({alias, reason})           updates refused, last good files kept
 *     .verifyFailures.inc({alias, reason})       new keys S3 refused (rendered all the same)
 *     .watchRestarts.inc({reason})
 *     .rereads.inc({outcome})                    safety re-reads (one GET per candidate per --resync)
 *     .notify.inc({kind, outcome}) / .notifyDuration.observe({kind}, seconds)  or recordNotify(outcome)
 *     .credentialsRequests.inc({code})           the container-credentials endpoint's answers
 *     .rendered(atMs?)                           sets last render time
 *     .keysObserved(alias, sinceMs)              the current keys' first sight; age computed at scrape
 *     .render(): string, .contentType
 */
import type { NotifyKind } from '../config/notify.js';
import type { RereadOutcome, RestartReason } from '../kube/watch-object.js';
import type { NotifyOutcome, NotifyOutcomeKind } from './notify.js';
import { CallbackGauge, PROMETHEUS_CONTENT_TYPE, Registry, type Counter, type Gauge, type Histogram } from './prometheus-text.js';

export const METRIC_PREFIX = 'bucket_agent_';

/** Why an update was refused: the CredentialsError's class of fault, never its message. */
export const BAD_UPDATE_REASONS = ['malformed', 'missing-field', 'invalid-value', 'unsupported', 'write-failed'] as const;
export type BadUpdateReason = (typeof BAD_UPDATE_REASONS)[number];

/** VerifyError.reason (src/errors.ts). */
export const VERIFY_REASONS = ['unknown-key', 'bad-signature', 'no-bucket', 'access-denied', 'tls', 'dns', 'connection', 'other'] as const;
export type VerifyReason = (typeof VERIFY_REASONS)[number];

/** kube/watch-object.ts RestartReason: gone = 410 then relist; stall = silent watch cut; timeout = routine end. */
export const WATCH_RESTART_REASONS = ['gone', 'stall', 'error', 'timeout', 'denied'] as const satisfies readonly RestartReason[];
export type WatchRestartReason = (typeof WATCH_RESTART_REASONS)[number];

/** kube/watch-object.ts RereadOutcome: changed = the watch had missed a change, now delivered. */
export const REREAD_OUTCOMES = ['unchanged', 'changed', 'superseded', 'failed'] as const satisfies readonly RereadOutcome[];

export const CREDENTIALS_CODES = ['200', '400', '401', '403', '404', '405', '500'] as const;
export type CredentialsCode = (typeof CREDENTIALS_CODES)[number];

/** Notify actions take from milliseconds (a signal) to 30 s (an exec at its timeout). */
export const NOTIFY_DURATION_BUCKETS: readonly number[] = [0.001, 0.005, 0.025, 0.1, 0.25, 1, 2.5, 5, 10, 30];

export interface SidecarMetrics {
  readonly rotations: Counter<{ alias: string }>;
  readonly renders: Counter;
  readonly badUpdates: Counter<{ alias: string; reason: BadUpdateReason }>;
  readonly verifyFailures: Counter<{ alias: string; reason: VerifyReason }>;
  readonly watchRestarts: Counter<{ reason: WatchRestartReason }>;
  readonly rereads: Counter<{ outcome: RereadOutcome }>;
  readonly notify: Counter<{ kind: NotifyKind; outcome: NotifyOutcomeKind }>;
  readonly notifyDuration: Histogram<{ kind: NotifyKind }>;
  readonly credentialsRequests: Counter<{ code: CredentialsCode }>;
  readonly lastRender: Gauge;
  rendered(atMs?: number): void;
  keysObserved(alias: string, sinceMs: number): void;
  recordNotify(outcome: Pick<NotifyOutcome, 'kind' | 'outcome' | 'durationMs'>): void;
  render(): string;
  readonly contentType: string;
}

export interface MetricsOptions {
  /** Aliases known at start: their series show 0 before the first event. */
  readonly aliases?: readonly string[];
  /** Wall clock in ms (tests). */
  readonly now?: () => number;
  /** process_* metrics (RSS, CPU, start time); on by default, computed at scrape. */
  readonly processMetrics?: boolean;
}

export function createSidecarMetrics(options: MetricsOptions = {}): SidecarMetrics {
  const now = options.now ?? Date.now;
  const registry = new Registry();
  const name = (suffix: string): string => METRIC_PREFIX + suffix;
  const keysSince = new Map<string, number>();

  const rotations = registry.counter<{ alias: string }>(
    name('rotations_total'),
    'Key rotations rendered (a new access key id), by bucket alias',
    ['alias'],
  );
  const renders = registry.counter(name('renders_total'), 'Renders that replaced the output files');
  const badUpdates = registry.counter<{ alias: string; reason: BadUpdateReason }>(
    name('bad_updates_total'),
    'Credential updates refused (last good files kept), by alias and reason',
    ['alias', 'reason'],
  );
  const verifyFailures = registry.counter<{ alias: string; reason: VerifyReason }>(
    name('verify_failures_total'),
    'New keys S3 refused when verified (rendered all the same), by alias and reason',
    ['alias', 'reason'],
  );
  const watchRestarts = registry.counter<{ reason: WatchRestartReason }>(
    name('watch_restarts_total'),
    'Restarts of a credentials watch, by reason',
    ['reason'],
  );
  const rereads = registry.counter<{ outcome: RereadOutcome }>(
    name('rereads_total'),
    'Safety re-reads of a credentials Secret beside its watch (changed: an event had been lost), by outcome',
    ['outcome'],
  );
  const notify = registry.counter<{ kind: NotifyKind; outcome: NotifyOutcomeKind }>(
    name('notify_total'),
    'Notify actions run, by kind and outcome',
    ['kind', 'outcome'],
  );
  const notifyDuration = registry.histogram<{ kind: NotifyKind }>(
    name('notify_duration_seconds'),
    'Time a notify action took, retries included',
    ['kind'],
    NOTIFY_DURATION_BUCKETS,
  );
  const lastRender = registry.gauge(name('last_render_timestamp_seconds'), 'Unix time of the last render that replaced the files');
  registry.register(
    new CallbackGauge<{ alias: string }>(name('keys_age_seconds'), 'Seconds since the current keys of each alias were first seen', () =>
      [...keysSince].map(([alias, since]) => [{ alias }, Math.max(0, (now() - since) / 1000)] as const),
    ),
  );
  const credentialsRequests = registry.counter<{ code: CredentialsCode }>(
    name('credentials_requests_total'),
    'Answers of the AWS container-credentials endpoint, by HTTP status',
    ['code'],
  );
  if (options.processMetrics !== false) registerProcessMetrics(registry, now);

  for (const alias of options.aliases ?? []) rotations.init({ alias });
  for (const reason of WATCH_RESTART_REASONS) watchRestarts.init({ reason });
  for (const outcome of REREAD_OUTCOMES) rereads.init({ outcome });
  renders.init({});

  return {
    rotations,
    renders,
    badUpdates,
    verifyFailures,
    watchRestarts,
    rereads,
    notify,
    notifyDuration,
    credentialsRequests,
    lastRender,
    rendered: (atMs = now()) => lastRender.set({}, atMs / 1000),
    keysObserved: (alias, sinceMs) => void keysSince.set(alias, sinceMs),
    recordNotify: (outcome) => {
      notify.inc({ kind: outcome.kind, outcome: outcome.outcome });
      notifyDuration.observe({ kind: outcome.kind }, outcome.durationMs / 1000);
    },
    render: () => registry.render(),
    contentType: PROMETHEUS_CONTENT_TYPE,
  };
}

/** The standard process_* names (no prefix, as every Prometheus client library writes them). */
export function registerProcessMetrics(registry: Registry, now: () => number): void {
  const startSeconds = (now() - performance.now()) / 1000;
  registry.register(
    new CallbackGauge('process_resident_memory_bytes', 'Resident memory size in bytes', () => [[{}, process.memoryUsage.rss()]]),
  );
  registry.register(
    new CallbackGauge(
      'process_cpu_seconds_total',
      'User and system CPU time spent in seconds',
      () => {
        const usage = process.cpuUsage();
        return [[{}, (usage.user + usage.system) / 1e6]];
      },
      'counter',
    ),
  );
  registry.register(
    new CallbackGauge('process_start_time_seconds', 'Start time of the process since the Unix epoch in seconds', () => [
      [{}, Math.round(startSeconds)],
    ]),
  );
}

export type { NotifyKind, NotifyOutcomeKind };
