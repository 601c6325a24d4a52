/**
 * The Lease holder's half of `--tls self` (webhook-tls-self.ts): it creates the CA and the serving
 * certificate in the Secret, renews them in the order webhook/renewal.ts decides, and keeps the
 * caBundle of the MutatingWebhookConfiguration trusting every CA of the Secret.
 */
import type { SelfTlsConfig } from '../config/webhook.js';
import type { KubeClient } from '../kube/client.js';
import { KubeApiError } from '../kube/errors.js';
import { CLUSTER_SCOPED, MUTATING_WEBHOOK_CONFIGURATIONS, SECRETS } from '../kube/resources.js';
import type { KubeObject } from '../kube/watch-object.js';
import type { Logger } from '../log.js';
import { mergeCaBundle } from '../webhook/ca-bundle.js';
import { planRenewal, type RenewalStep } from '../webhook/renewal.js';
import { caBundlePatch, type WebhookConfigLike } from '../webhook/webhook-config.js';
import { parseTlsSecret, TLS_SECRET_TYPE, tlsSecretData, type TlsMaterial, type TlsSecretState } from '../webhook/tls-secret.js';
import type { ServingCertificate, TlsMaterialError } from './webhook-certificate.js';
import type { WebhookMetrics } from './webhook-metrics.js';

/** The holder looks again at least this often: the caBundle may have been overwritten (a Helm upgrade). */
export const RECONCILE_EVERY_MS = 60_000;
/** A failed reconcile is tried again after this. */
export const RECONCILE_RETRY_MS = 5_000;
/** Steps in one reconcile before it yields (each step writes; more would be a bug looping). */
const MAX_STEPS = 6;

export interface SelfCertificatesOptions {
  readonly config: SelfTlsConfig;
  readonly namespace: string;
  readonly service: string;
  readonly log: Logger;
  readonly metrics: WebhookMetrics;
  onCertificate(certificate: ServingCertificate): void;
  onRejected(err: TlsMaterialError): void;
  /** Lease timings (tests). */
  readonly lease?: { readonly leaseDurationMs?: number; readonly renewDeadlineMs?: number; readonly retryMs?: number };
}

export interface SecretObject {
  readonly type?: string;
  readonly metadata?: KubeObject['metadata'] & {
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
  };
  readonly data?: Record<string, string> | null;
}

/** The lease holder's side: reconciles the Secret and the caBundle, then sleeps until the next step is due. */
export class CertificateManager {
  private holder = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  /** When this holder saw each CA (by DER) trusted by every entry of the caBundle. */
  private readonly trustedSince = new Map<string, number>();
  /** The webhook configuration is missing, or has no webhook of ours: looked for every RECONCILE_RETRY_MS, said once. */
  private caBundlePending = false;

  constructor(
    private readonly client: KubeClient,
    private readonly options: SelfCertificatesOptions,
    private readonly log: Logger,
  ) {}

  setHolder(held: boolean): void {
    this.holder = held;
    if (!held) {
      clearTimeout(this.timer);
      // A later holder (maybe us again) must see the CA trusted anew: the bundle may change meanwhile.
      this.trustedSince.clear();
    } else this.kick();
  }

  kick(): void {
    if (!this.holder) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.loop().finally(() => (this.running = undefined));
  }

  async idle(): Promise<void> {
    clearTimeout(this.timer);
    await this.running;
  }

  private async loop(): Promise<void> {
    let nextMs = Date.now() + RECONCILE_EVERY_MS;
    do {
      this.again = false;
      try {
        nextMs = Math.min(await this.reconcile(), Date.now() + RECONCILE_EVERY_MS);
      } catch (err) {
        this.log.warn(
          `managing the certificate failed, trying again in ${RECONCILE_RETRY_MS / 1000}s: ${err instanceof Error ? err.message : 'failed'}`,
        );
        nextMs = Date.now() + RECONCILE_RETRY_MS;
      }
    } while (this.again && this.holder);
    if (this.holder) this.timer = setTimeout(() => this.kick(), Math.max(50, nextMs - Date.now()));
  }

  /** Steps until nothing is due; returns when to look again. */
  private async reconcile(): Promise<number> {
    for (let step = 0; step < MAX_STEPS && this.holder; step++) {
      const secret = await this.getSecret();
      const now = Date.now();
      const state = parseTlsSecret(secret, this.options.config, now);
      if (state.caBundle !== '') await this.ensureTrusted(state, now);
      const plan = planRenewal(
        {
          signer: state.signer && { notAfterMs: state.signer.notAfterMs, trustedSinceMs: this.trustedSince.get(state.signer.der) },
          serving: state.serving,
        },
        this.options.config,
        now,
      );
      // A webhook configuration not there yet (applied after the webhook, or re-created) is looked
      // for again soon: until it has the caBundle, every labelled pod fails TLS at the apiserver.
      if (plan.kind === 'idle') return this.caBundlePending ? Math.min(plan.nextMs, Date.now() + RECONCILE_RETRY_MS) : plan.nextMs;
      if (plan.kind === 'await-trust') {
        this.log.info(
          { inSeconds: Math.round((plan.untilMs - now) / 1000) },
          'new CA in the caBundle: its serving certificate waits until every apiserver trusts it',
        );
        return plan.untilMs;
      }
      await this.act(plan, state, secret, now);
    }
    return Date.now() + RECONCILE_RETRY_MS;
  }

  private async act(
    plan: Exclude<RenewalStep, { kind: 'idle' | 'await-trust' }>,
    state: TlsSecretState,
    secret: SecretObject | undefined,
    now: number,
  ): Promise<void> {
    const { generateCa, issueServing } = await import('../webhook/certificates.js');
    const { config } = this.options;
    const names = { dnsNames: config.dnsNames, ipAddresses: config.ipAddresses, validityMs: config.certValidityMs, nowMs: now };
    let material: TlsMaterial;
    if (plan.kind === 'issue-serving' && state.signer !== undefined) {
      const serving = await issueServing(state.signer, names);
      material = { servingCert: serving.cert, servingKey: serving.key, caBundle: state.caBundle, caKey: state.signer.key };
      this.log.info({ why: plan.why }, 'issued a serving certificate');
      this.options.metrics.certificateIssued.inc({ kind: 'serving' });
    } else {
      const ca = await generateCa({
        commonName: `${this.options.service}-ca@${Math.floor(now / 1000)}`,
        validityMs: config.caValidityMs,
        nowMs: now,
      });
      const caBundle = mergeCaBundle([state.caBundle, ca.cert], now);
      this.options.metrics.certificateIssued.inc({ kind: 'ca' });
      // Staged: the serving pair stays until the new CA is trusted; with nothing served, issue at once.
      const serving = plan.kind === 'stage-ca' && state.serving !== undefined ? state.serving : await issueServing(ca, names);
      if (serving !== state.serving) this.options.metrics.certificateIssued.inc({ kind: 'serving' });
      material = { servingCert: serving.cert, servingKey: serving.key, caBundle, caKey: ca.key };
      this.log.info(
        { step: plan.kind },
        plan.kind === 'bootstrap' ? 'created a CA and a serving certificate' : 'new CA added to the trusted bundle',
      );
    }
    await this.writeSecret(secret, material);
  }

  private async ensureTrusted(state: TlsSecretState, now: number): Promise<void> {
    const { config } = this.options;
    const target = { service: this.options.service, namespace: this.options.namespace, hosts: [...config.dnsNames, ...config.ipAddresses] };
    const wasPending = this.caBundlePending;
    const mwc = await this.getWebhookConfig(wasPending);
    this.caBundlePending = mwc === undefined;
    if (mwc === undefined) return;
    const patch = caBundlePatch(mwc, target, state.caBundle, now);
    this.caBundlePending = patch.ours.length === 0;
    if (patch.ours.length === 0) {
      if (!wasPending)
        this.log.warn(
          `MutatingWebhookConfiguration ${config.webhookConfig}: no webhook calls service ${target.namespace}/${target.service} or a URL with one of the certificate's names; nothing to patch`,
        );
      return;
    }
    if (patch.operations.length > 0) {
      await this.client.jsonPatch(
        MUTATING_WEBHOOK_CONFIGURATIONS,
        { namespace: CLUSTER_SCOPED, name: config.webhookConfig },
        patch.operations,
      );
      this.log.info({ webhooks: patch.ours.length }, `caBundle of MutatingWebhookConfiguration ${config.webhookConfig} updated`);
    }
    if (state.signer !== undefined && patch.trustsAll(state.signer.cert) && !this.trustedSince.has(state.signer.der)) {
      this.trustedSince.set(state.signer.der, now);
    }
  }

  private async getSecret(): Promise<SecretObject | undefined> {
    try {
      return await this.client.get<SecretObject>(SECRETS, this.options.namespace, this.options.config.secret);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  private async getWebhookConfig(quiet: boolean): Promise<WebhookConfigLike | undefined> {
    try {
      return await this.client.get<WebhookConfigLike>(MUTATING_WEBHOOK_CONFIGURATIONS, CLUSTER_SCOPED, this.options.config.webhookConfig);
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
      if (!quiet)
        this.log.warn(
          `MutatingWebhookConfiguration ${this.options.config.webhookConfig} not found: looking for it every ${RECONCILE_RETRY_MS / 1000}s to give it the caBundle`,
        );
      return undefined;
    }
  }

  /** Create, or update at the resourceVersion read: a 409 means another write won; the next step re-reads. */
  private async writeSecret(secret: SecretObject | undefined, material: TlsMaterial): Promise<void> {
    const { namespace } = this.options;
    const name = this.options.config.secret;
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: secret?.type ?? TLS_SECRET_TYPE,
      metadata: metadataFor(secret, name, namespace),
      data: tlsSecretData(material),
    };
    try {
      if (secret === undefined) await this.client.create(SECRETS, namespace, body);
      else await this.client.update(SECRETS, { namespace, name }, body);
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 409)) throw err;
      this.log.info(`Secret ${name} changed meanwhile; reading it again`);
    }
  }
}

/** An update keeps what others put on the Secret (labels, annotations) and its resourceVersion. */
function metadataFor(secret: SecretObject | undefined, name: string, namespace: string): object {
  const { labels, annotations, resourceVersion } = secret?.metadata ?? {};
  return JSON.parse(JSON.stringify({ name, namespace, labels, annotations, resourceVersion })) as object;
}
