/**
 * Opens the SecretSource `--source` asks for (DESIGN.md "Sidecar contract"):
 * - `api`: the cluster credentials (kubeconfig or in-cluster) and the candidates watched through
 *   the apiserver;
 * - `volume`: the kubelet-mounted Secret volumes under `--secrets-dir`; no apiserver, no RBAC;
 * - `auto`: api when the service account may list the first candidate Secret, else volume, said
 *   once in the log.
 */
import type { InitConfig } from '../config/init.js';
import { secretCandidates } from '../credentials/index.js';
import { KubeAccessError } from '../errors.js';
import { KubeClient } from '../kube/client.js';
import { KubeApiError } from '../kube/errors.js';
import { loadKubeConfig } from '../kube/kubeconfig.js';
import { describeProxy } from '../kube/proxy.js';
import { SECRETS } from '../kube/resources.js';
import type { RereadOutcome, RestartReason, WatchTimings } from '../kube/watch-object.js';
import type { Logger } from '../log.js';
import { createApiSource } from './secret-source-api.js';
import type { SecretSource } from './secret-source.js';

export interface SourceConfig extends Pick<InitConfig, 'kube' | 'namespace' | 'buckets' | 'user' | 'source' | 'secretsDir' | 'proxyEnv'> {
  /** api source: the safety re-read of each candidate; undefined = none (init exits soon anyway). */
  readonly resyncMs?: number;
  /** api source: keep retrying a denied candidate (the sidecar outlives a broken RoleBinding). */
  readonly retryDenied?: boolean;
  /** api source: silence after which a watch is taken for dead; undefined keeps the default (90 s). */
  readonly watchIdleTimeoutMs?: number;
  /** api source: the server-side length of one watch; undefined keeps the default (240 s). */
  readonly watchTimeoutSeconds?: number;
  onRestart?(reason: RestartReason): void;
  onReread?(outcome: RereadOutcome): void;
}

export interface OpenedSource {
  readonly source: SecretSource;
  /** The apiserver client (api source), also used for the Bucket status and Events. */
  readonly client: KubeClient | undefined;
  /** The Buckets' namespace: the flag, the kubeconfig context's, the pod's; `default` without any. */
  readonly namespace: string;
  /** Also closes this when the source is closed. */
  onClose(close: () => void): void;
  close(): void;
}

export async function openSource(config: SourceConfig, log: Logger): Promise<OpenedSource> {
  if (config.source === 'volume') return openVolume(config);
  const kube = await loadKubeConfig(config.kube, config.namespace, { proxyEnv: config.proxyEnv }).catch((err: unknown) => {
    if (config.source === 'auto' && err instanceof KubeAccessError) return err;
    throw err;
  });
  if (kube instanceof KubeAccessError) {
    log.info(`--source auto: no cluster credentials (${kube.message}); reading Secret volumes under ${config.secretsDir}`);
    return openVolume(config);
  }
  const client = new KubeClient(kube.auth, kube.server, { proxy: kube.proxy });
  if (config.source === 'auto' && !(await maySecrets(client, kube.namespace, config))) {
    client.close();
    log.info(
      `--source auto: this service account may not list the Secrets in ${kube.namespace}; reading Secret volumes under ${config.secretsDir}`,
    );
    return openVolume({ ...config, namespace: kube.namespace });
  }
  log.info(
    { server: kube.server, namespace: kube.namespace },
    `using ${kube.description}${kube.proxy === undefined ? '' : ` through proxy ${describeProxy(kube.proxy)}`}`,
  );
  const timings: Partial<WatchTimings> = {
    ...(config.watchIdleTimeoutMs === undefined ? {} : { idleTimeoutMs: config.watchIdleTimeoutMs }),
    ...(config.watchTimeoutSeconds === undefined ? {} : { watchTimeoutSeconds: config.watchTimeoutSeconds }),
  };
  const source = createApiSource({
    client,
    namespace: kube.namespace,
    resyncMs: config.resyncMs,
    retryDenied: config.retryDenied,
    timings,
    onRestart: (reason) => config.onRestart?.(reason),
    onReread: (outcome) => config.onReread?.(outcome),
  });
  return opened(source, client, kube.namespace);
}

async function openVolume(config: SourceConfig): Promise<OpenedSource> {
  // Loaded only here: chokidar and the volume reader cost memory the api source never needs.
  const { createVolumeSource } = await import('../files/secret-volume.js');
  return opened(createVolumeSource({ dir: config.secretsDir }), undefined, config.namespace ?? 'default');
}

/** One LIST of the first candidate, as the api source would send it: allowed, or 403. */
async function maySecrets(client: KubeClient, namespace: string, config: SourceConfig): Promise<boolean> {
  const first = config.buckets[0];
  if (first === undefined) return true;
  const name = secretCandidates(first.name, config.user)[0] ?? '';
  try {
    await client.list(SECRETS, namespace, { query: { fieldSelector: `metadata.name=${name}` } });
    return true;
  } catch (err) {
    // Anything but a denial (the apiserver is down, a timeout) is the api source's to ride out.
    return !(err instanceof KubeApiError && err.denied);
  }
}

function opened(source: SecretSource, client: KubeClient | undefined, namespace: string): OpenedSource {
  const closers: (() => void)[] = [];
  return {
    source,
    client,
    namespace,
    onClose: (close) => closers.push(close),
    close: () => {
      client?.close();
      for (const close of closers.splice(0)) close();
    },
  };
}
