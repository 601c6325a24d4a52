/**
 * The webhook's metrics, `bucket_agent_webhook_` prefix, Prometheus naming; one private registry
 * per call (runtime/metrics.ts's pattern). Labels come from fixed vocabularies only.
 *
 *   createWebhookMetrics(options?): WebhookMetrics
 *     .reviews.inc({outcome})                     AdmissionReviews answered, by outcome
 *     .duration.observe({}, seconds)              body read -> answer written
 *     .certificateReloads.inc({outcome})          serving certificates loaded or refused
 *     .certificateIssued.inc({kind})              self mode, lease holder: CA or serving issued
 *     .served(notAfterMs) / .leader(boolean)      expiry of the served certificate; lease held
 *     .render(), .contentType
 */
import { METRIC_PREFIX, registerProcessMetrics } from './metrics.js';
import { CallbackGauge, PROMETHEUS_CONTENT_TYPE, Registry, type Counter, type Gauge, type Histogram } from './prometheus-text.js';

export const WEBHOOK_METRIC_PREFIX = `${METRIC_PREFIX}webhook_`;

/** admission.ts ReviewOutcome plus what the HTTP half decides itself. */
export const REVIEW_OUTCOMES = ['mutated', 'unchanged', 'refused', 'skipped', 'error', 'bad-request', 'timeout'] as const;
export type ReviewMetricOutcome = (typeof REVIEW_OUTCOMES)[number];

export const RELOAD_OUTCOMES = ['loaded', 'rejected'] as const;
export type ReloadOutcome = (typeof RELOAD_OUTCOMES)[number];

export const ISSUED_KINDS = ['ca', 'serving'] as const;
export type IssuedKind = (typeof ISSUED_KINDS)[number];

/** A review takes ~0.1 ms of CPU; the apiserver gives up at its timeoutSeconds (10 s by default). */
export const REVIEW_DURATION_BUCKETS: readonly number[] = [0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5, 10];

export interface WebhookMetrics {
  readonly reviews: Counter<{ outcome: ReviewMetricOutcome }>;
  readonly duration: Histogram<Record<never, string>>;
  readonly certificateReloads: Counter<{ outcome: ReloadOutcome }>;
  readonly certificateIssued: Counter<{ kind: IssuedKind }>;
  readonly leaseHeld: Gauge;
  served(notAfterMs: number): void;
  leader(held: boolean): void;
  render(): string;
  readonly contentType: string;
}

export interface WebhookMetricsOptions {
  readonly now?: () => number;
  readonly processMetrics?: boolean;
}

export function createWebhookMetrics(options: WebhookMetricsOptions = {}): WebhookMetrics {
  const now = options.now ?? Date.now;
  const registry = new Registry();
  const name = (suffix: string): string => WEBHOOK_METRIC_PREFIX + suffix;
  let notAfterMs: number | undefined;
  const reviews = registry.counter<{ outcome: ReviewMetricOutcome }>(name('reviews_total'), 'AdmissionReviews answered, by outcome', [
    'outcome',
  ]);
  const duration = registry.histogram<Record<never, string>>(
    name('review_duration_seconds'),
    'Time from the request body read to the answer written',
    [],
    REVIEW_DURATION_BUCKETS,
  );
  const certificateReloads = registry.counter<{ outcome: ReloadOutcome }>(
    name('certificate_reloads_total'),
    'Serving certificates loaded (swapped in without a restart) or refused (the previous one kept)',
    ['outcome'],
  );
  const certificateIssued = registry.counter<{ kind: IssuedKind }>(
    name('certificates_issued_total'),
    'Self-managed TLS: certificates this replica issued as the lease holder, by kind',
    ['kind'],
  );
  const leaseHeld = registry.gauge(
    name('lease_held'),
    'Self-managed TLS: 1 while this replica holds the lease and manages the certificate',
  );
  registry.register(
    new CallbackGauge(name('certificate_expiry_seconds'), 'Seconds until the served certificate expires', () =>
      notAfterMs === undefined ? [] : [[{}, Math.round((notAfterMs - now()) / 1000)] as const],
    ),
  );
  if (options.processMetrics !== false) registerProcessMetrics(registry, now);
  for (const outcome of REVIEW_OUTCOMES) reviews.init({ outcome });
  for (const outcome of RELOAD_OUTCOMES) certificateReloads.init({ outcome });
  for (const kind of ISSUED_KINDS) certificateIssued.init({ kind });
  leaseHeld.set({}, 0);
  return {
    reviews,
    duration,
    certificateReloads,
    certificateIssued,
    leaseHeld,
    served: (ms) => void (notAfterMs = ms),
    leader: (held) => leaseHeld.set({}, held ? 1 : 0),
    render: () => registry.render(),
    contentType: PROMETHEUS_CONTENT_TYPE,
  };
}
