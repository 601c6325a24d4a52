/**
 * `--tls self`: every replica serves the pair of one Secret, followed through the apiserver
 * (kube/watch-object.ts) and swapped in with setSecureContext, no restart. The replica holding
 * the Lease (webhook-lease.ts) also manages that Secret (webhook-certificate-manager.ts): it
 * creates the CA and the serving certificate, renews them (webhook/renewal.ts decides when and in
 * which order) and keeps the caBundle of the MutatingWebhookConfiguration trusting every CA of the
 * Secret. The holder writes and then follows its own write like everyone else, so one path loads
 * every certificate.
 *
 * Never logged: a key, the Secret's data. Errors name the object and the apiserver's reason.
 */
import { KubeClient } from '../kube/client.js';
import { loadKubeConfig } from '../kube/kubeconfig.js';
import { SECRETS } from '../kube/resources.js';
import { watchObject, type ObjectWatch } from '../kube/watch-object.js';
import type { Logger } from '../log.js';
import { secretText, TLS_CERT_KEY, TLS_KEY_KEY } from '../webhook/tls-secret.js';
import { loadServingPair, pairFingerprint, TlsMaterialError } from './webhook-certificate.js';
import { LeaseElector } from './webhook-lease.js';
import type { CertificateSource } from './webhook-tls-files.js';
import { CertificateManager, type SecretObject, type SelfCertificatesOptions } from './webhook-certificate-manager.js';

export { RECONCILE_EVERY_MS, RECONCILE_RETRY_MS, type SelfCertificatesOptions } from './webhook-certificate-manager.js';

export async function startSelfCertificates(options: SelfCertificatesOptions): Promise<CertificateSource> {
  const { config } = options;
  const log = options.log.child({ component: 'webhook-tls' });
  const kube = await loadKubeConfig(config.kube, options.namespace, { proxyEnv: config.proxyEnv });
  const client = new KubeClient(kube.auth, kube.server, { proxy: kube.proxy });
  const manager = new CertificateManager(client, options, log);
  const follower = followSecret(client, options, log, () => manager.kick());
  const elector = new LeaseElector({
    client,
    namespace: options.namespace,
    name: config.lease,
    identity: config.identity,
    log,
    onChange: (held) => {
      options.metrics.leader(held);
      manager.setHolder(held);
    },
    ...options.lease,
  });
  elector.start();
  log.info(
    {
      secret: `${options.namespace}/${config.secret}`,
      webhookConfig: config.webhookConfig,
      lease: config.lease,
      identity: config.identity,
    },
    'self-managed TLS: following the Secret; the lease holder manages it',
  );
  return {
    close: async () => {
      follower.stop();
      manager.setHolder(false);
      await elector.stop();
      await manager.idle();
      client.close();
    },
  };
}

/** Every replica: the Secret's serving pair, swapped in when it changes and usable. */
function followSecret(client: KubeClient, options: SelfCertificatesOptions, log: Logger, changed: () => void): ObjectWatch {
  let current: string | undefined;
  return watchObject({
    client,
    resource: SECRETS,
    namespace: options.namespace,
    name: options.config.secret,
    onState: (object) => {
      changed();
      const secret: SecretObject | undefined = object;
      const cert = secretText(secret, TLS_CERT_KEY);
      const key = secretText(secret, TLS_KEY_KEY);
      if (cert === '' && key === '') return;
      const fingerprint = pairFingerprint(cert, key);
      if (fingerprint === current) return;
      try {
        const loaded = loadServingPair(cert, key);
        current = fingerprint;
        options.onCertificate(loaded);
      } catch (err) {
        if (!(err instanceof TlsMaterialError)) throw err;
        log.warn(`Secret ${options.config.secret}: serving pair refused, keeping the previous one: ${err.message}`);
        options.onRejected(err);
      }
    },
    onFatal: (err) => log.error(`cannot follow Secret ${options.config.secret}: ${err.message}`),
    onRetry: (err, retryInMs) =>
      log.warn({ retryInMs }, `following Secret ${options.config.secret}: ${err instanceof Error ? err.message : 'failed'}`),
    retryDenied: true,
    onDenied: (err, retryInMs) => log.warn({ retryInMs }, err.message),
  });
}
