/**
 * `bucket-agent webhook`: the mutating admission webhook. Assembles the TLS source (`self`:
 * webhook-tls-self.ts, `files`: webhook-tls-files.ts), the HTTPS admission server
 * (webhook-server.ts) that starts once a first certificate is there, and the plain-http health
 * server (/healthz, /readyz, /metrics). Runs until `signal` aborts (SIGTERM): /readyz fails at
 * once, reviews are still served for `shutdownDelayMs` (the endpoints drop the pod meanwhile),
 * then the server stops accepting and finishes the reviews in flight.
 */
import type { WebhookConfig, WebhookFacts } from '../config/webhook.js';
import { mutatePod } from '../inject/mutate.js';
import type { Logger } from '../log.js';
import type { MutateFn } from '../webhook/admission.js';
import { startHealthServer } from './health-server.js';
import type { RunningServer } from './http-server.js';
import type { ServingCertificate, TlsMaterialError } from './webhook-certificate.js';
import { createWebhookMetrics, type WebhookMetrics } from './webhook-metrics.js';
import { startWebhookServer, type WebhookServer } from './webhook-server.js';
import type { CertificateSource } from './webhook-tls-files.js';

/** What the health and TLS callbacks share. */
class WebhookState {
  server: WebhookServer | undefined;
  certificate: ServingCertificate | undefined;
  stopping = false;
  private firstCertificate: (() => void) | undefined;
  readonly hasCertificate = new Promise<void>((resolve) => (this.firstCertificate = resolve));

  loaded(certificate: ServingCertificate): void {
    this.certificate = certificate;
    this.server?.setCertificate({ cert: certificate.cert, key: certificate.key });
    this.firstCertificate?.();
  }
}

/** The one pure mutation `inject` uses too, with what the flags say about the cluster. */
export function mutationFor(facts: WebhookFacts): MutateFn {
  return (pod, context) => mutatePod(pod, facts, context);
}

/** `mutate` defaults to the real mutation; tests of the HTTP and TLS halves may pass another. */
export async function runWebhook(
  config: WebhookConfig,
  root: Logger,
  signal: AbortSignal,
  mutate: MutateFn = mutationFor(config.facts),
): Promise<void> {
  const log = root.child({ component: 'webhook' });
  const metrics = createWebhookMetrics();
  const state = new WebhookState();
  const health = await healthServer(config, state, metrics, root);
  let source: CertificateSource | undefined;
  try {
    source = await startTls(config, root, metrics, {
      onCertificate: (certificate) => {
        state.loaded(certificate);
        metrics.served(certificate.notAfterMs);
        metrics.certificateReloads.inc({ outcome: 'loaded' });
        log.info({ serial: certificate.serial, notAfter: new Date(certificate.notAfterMs).toISOString() }, 'serving certificate loaded');
      },
      onRejected: () => metrics.certificateReloads.inc({ outcome: 'rejected' }),
    });
    await Promise.race([state.hasCertificate, untilAborted(signal)]);
    if (signal.aborted || state.certificate === undefined) return;
    state.server = await startWebhookServer({
      listen: config.listen,
      mutate,
      metrics,
      log: root,
      reviewTimeoutMs: config.reviewTimeoutMs,
      certificate: { cert: state.certificate.cert, key: state.certificate.key },
    });
    log.info({ url: `${state.server.url}/mutate`, tls: config.tls.mode }, 'serving AdmissionReviews');
    await untilAborted(signal);
    state.stopping = true;
    log.info({ delaySeconds: config.shutdownDelayMs / 1000 }, 'stopping: /readyz fails, reviews still served until the delay is over');
    await sleep(config.shutdownDelayMs);
    await state.server.close(config.reviewTimeoutMs);
    log.info('stopped: every review in flight was answered');
  } finally {
    await Promise.allSettled([source?.close(), health.close()]);
  }
}

interface TlsCallbacks {
  onCertificate(certificate: ServingCertificate): void;
  onRejected(err: TlsMaterialError): void;
}

async function startTls(config: WebhookConfig, root: Logger, metrics: WebhookMetrics, callbacks: TlsCallbacks): Promise<CertificateSource> {
  const { tls } = config;
  if (tls.mode === 'files') {
    const { startFileCertificates } = await import('./webhook-tls-files.js');
    return startFileCertificates({ certFile: tls.certFile, keyFile: tls.keyFile, log: root, ...callbacks });
  }
  const { startSelfCertificates } = await import('./webhook-tls-self.js');
  return startSelfCertificates({ config: tls, namespace: config.namespace, service: config.service, log: root, metrics, ...callbacks });
}

function healthServer(config: WebhookConfig, state: WebhookState, metrics: WebhookMetrics, root: Logger): Promise<RunningServer> {
  return startHealthServer({
    listen: config.healthListen,
    health: () => ({ healthy: true }),
    ready: () => {
      const ready = !state.stopping && state.server !== undefined && state.certificate !== undefined;
      const certificate =
        state.certificate === undefined
          ? 'none yet'
          : { serial: state.certificate.serial, notAfter: new Date(state.certificate.notAfterMs).toISOString() };
      return { ready, detail: { stopping: state.stopping, listening: state.server !== undefined, certificate } };
    },
    metrics: () => metrics.render(),
    metricsContentType: metrics.contentType,
    log: root,
  });
}

function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
