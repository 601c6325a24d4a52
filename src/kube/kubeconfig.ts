/**
 * Loading the cluster credentials: a kubeconfig file, a directory holding one (a mounted Secret),
 * the pod's own service account, or kubectl's default lookup, at parity with kubectl
 * (kubeconfig-checks.ts, proxy-env.ts). Read here rather than by client-node's KubeConfig, which
 * agrees with kubectl on fewer kubeconfigs (27 of the 38 of test/env/kubeconfig-corpus.ts against
 * 38 of 38, bench/kubeconfig-parity.ts) and whose bundle chunk costs ~120 ms more at start;
 * client-node is imported only for exec and auth-provider plugins (auth-plugin.ts).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { join } from 'node:path';
import { KubeAccessError } from '../errors.js';
import { credentialsAuth, readError, type KubeAuth } from './auth.js';
import { resolveCurrentContext } from './kubeconfig-context.js';
import { readKubeconfig, readMergedKubeconfig } from './kubeconfig-file.js';
import { NO_PROXY_ENVIRONMENT, proxyFromEnvironment, type ProxyEnvironment } from './proxy-env.js';

/**
 * Where the cluster credentials come from; src/config/ fills in what it reads from the
 * environment (KUBERNETES_SERVICE_HOST/PORT, KUBECONFIG, HOME).
 */
export type KubeSource =
  | { readonly kind: 'kubeconfig'; readonly path: string }
  | { readonly kind: 'in-cluster'; readonly host: string; readonly port: string }
  /** KUBECONFIG's files in order, else `~/.kube/config`; empty when neither is set. */
  | { readonly kind: 'default'; readonly paths: readonly string[] };

/** Key names a kubeconfig Secret is commonly mounted with (Cluster API, Kamaji, Cozystack, k3s). */
export const KUBECONFIG_SECRET_KEYS = ['kubeconfig', 'value', 'config'] as const;

/** Where the kubelet mounts a pod's service-account token, CA bundle and namespace. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface LoadedKubeConfig {
  readonly auth: KubeAuth;
  readonly server: string;
  /** The namespace to use: the flag, else the context's (in a pod: its own), else `default`. */
  readonly namespace: string;
  /** For logs: `in-cluster service account`, `kubeconfig /path (context x)`. */
  readonly description: string;
  /** The http:// proxy every request and watch goes through; undefined: direct. */
  readonly proxy: URL | undefined;
}

export interface LoadOptions {
  /** HTTPS_PROXY, NO_PROXY, ... as src/config/ read them; none by default. */
  readonly proxyEnv?: ProxyEnvironment;
  readonly serviceAccountDir?: string;
}

type Found = Omit<LoadedKubeConfig, 'namespace' | 'proxy'> & { readonly namespace: string | undefined; readonly proxyUrl?: URL };

export async function loadKubeConfig(
  source: KubeSource,
  namespaceFlag: string | undefined,
  options: LoadOptions = {},
): Promise<LoadedKubeConfig> {
  const { proxyUrl, ...found } = await load(source, options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
  // As client-go: the cluster's proxy-url for everything, else http.ProxyFromEnvironment (in a pod too).
  const proxy = proxyUrl ?? proxyFromEnvironment(options.proxyEnv ?? NO_PROXY_ENVIRONMENT, new URL(found.server));
  if (proxy !== undefined && proxy.protocol !== 'http:') {
    throw new KubeAccessError(
      `the environment's proxy for ${found.server} is a ${proxy.protocol.slice(0, -1)}:// proxy (HTTPS_PROXY/HTTP_PROXY): kubectl supports it, bucket-agent only http:// proxies`,
    );
  }
  return { ...found, proxy, namespace: namespaceFlag ?? found.namespace ?? 'default' };
}

function load(source: KubeSource, serviceAccountDir: string): Promise<Found> {
  if (source.kind === 'in-cluster') return inCluster(source, serviceAccountDir);
  if (source.kind === 'default') return fromDefault(source.paths);
  return fromFlag(source.path);
}

async function fromFlag(path: string): Promise<Found> {
  const file = await kubeconfigFile(path);
  const { name, ...context } = await resolveCurrentContext(await readKubeconfig(file), `--kubeconfig ${file}`);
  return { ...context, description: `kubeconfig ${file} (context ${name})` };
}

async function fromDefault(paths: readonly string[]): Promise<Found> {
  const merged = await readMergedKubeconfig(paths);
  if (merged === undefined)
    throw new KubeAccessError('no Kubernetes credentials: not in a pod, no KUBECONFIG, no ~/.kube/config; pass --kubeconfig');
  const where = `kubeconfig ${merged.files.join(':')}`;
  const { name, ...context } = await resolveCurrentContext(merged.config, where);
  return { ...context, description: `default ${where} (context ${name})` };
}

/** As client-go's InClusterConfig: https to the service host and port, the mounted token and CA. */
async function inCluster(source: { readonly host: string; readonly port: string }, dir: string): Promise<Found> {
  if (source.port === '')
    throw new KubeAccessError('in a pod (KUBERNETES_SERVICE_HOST is set) but KUBERNETES_SERVICE_PORT is not: pass --kubeconfig');
  const auth = await credentialsAuth({
    ca: { what: 'service-account CA bundle', file: join(dir, 'ca.crt') },
    token: { what: 'service-account token', file: join(dir, 'token') },
    insecure: false,
  });
  const host = isIPv6(source.host) ? `[${source.host}]` : source.host;
  return { auth, server: `https://${host}:${source.port}`, namespace: await podNamespace(dir), description: 'in-cluster service account' };
}

async function podNamespace(dir: string): Promise<string | undefined> {
  const file = join(dir, 'namespace');
  const text = await readFile(file, 'utf8').catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw readError('service-account namespace', file, err);
  });
  return text.trim() === '' ? undefined : text.trim();
}

/** The file itself, or the one kubeconfig key inside a directory (a mounted Secret). */
async function kubeconfigFile(path: string): Promise<string> {
  const info = await stat(path).catch((err: unknown) => {
    throw new KubeAccessError(`--kubeconfig ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
  });
  if (!info.isDirectory()) return path;
  const entries = (await readdir(path)).filter((entry) => !entry.startsWith('.'));
  const key = KUBECONFIG_SECRET_KEYS.find((candidate) => entries.includes(candidate));
  if (key === undefined) {
    const found = entries.length === 0 ? 'it is empty' : `it holds ${entries.slice(0, 10).join(', ')}`;
    throw new KubeAccessError(
      `--kubeconfig ${path} is a directory without a kubeconfig key (${KUBECONFIG_SECRET_KEYS.join(', ')}): ${found}`,
    );
  }
  return join(path, key);
}
