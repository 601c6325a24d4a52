/**
 * Loading a kubeconfig: a file, a directory holding one (a mounted Secret), the pod's own service
 * account, or kubectl's default lookup. Only KubeConfig is imported, from its own module: the
 * package index pulls in every generated API (~1.3 s, ~110 MB); 1.4.x has no `exports` map, so
 * the deep import is allowed.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { KubeAccessError } from '../errors.js';

/** Where the cluster credentials come from. */
export type KubeSource =
  | { readonly kind: 'kubeconfig'; readonly path: string }
  | { readonly kind: 'in-cluster' }
  | { readonly kind: 'default' };

/** Key names a kubeconfig Secret is commonly mounted with (Cluster API, Kamaji, Cozystack, k3s). */
export const KUBECONFIG_SECRET_KEYS = ['kubeconfig', 'value', 'config'] as const;

export interface LoadedKubeConfig {
  readonly kc: KubeConfig;
  readonly server: string;
  /** The namespace to use: the flag, else the context's (in a pod: its own), else `default`. */
  readonly namespace: string;
  /** For logs: `in-cluster service account`, `kubeconfig /path (context x)`. */
  readonly description: string;
}

export async function loadKubeConfig(source: KubeSource, namespaceFlag: string | undefined): Promise<LoadedKubeConfig> {
  const { kc, description } = await load(source);
  const server = kc.getCurrentCluster()?.server;
  if (server === undefined || server === '') throw new KubeAccessError(`${description}: the current context names no cluster server`);
  const contextNamespace = kc.getContextObject(kc.getCurrentContext())?.namespace?.trim();
  const namespace = namespaceFlag ?? (contextNamespace === undefined || contextNamespace === '' ? 'default' : contextNamespace);
  return { kc, server, namespace, description };
}

async function load(source: KubeSource): Promise<{ kc: KubeConfig; description: string }> {
  const kc = new KubeConfig();
  if (source.kind === 'in-cluster') {
    // Its token is read through client-node's file authenticator, which re-reads the file after
    // 60 s: bound service-account tokens rotate without a restart.
    kc.loadFromCluster();
    return { kc, description: 'in-cluster service account' };
  }
  if (source.kind === 'default') {
    kc.loadFromDefault();
    // client-node falls back to an unauthenticated localhost:8080 when it finds nothing at all.
    if (kc.getCurrentCluster()?.server === 'http://localhost:8080' && kc.getCurrentUser()?.name === 'user') {
      throw new KubeAccessError('no Kubernetes credentials: not in a pod, no KUBECONFIG, no ~/.kube/config; pass --kubeconfig');
    }
    return { kc, description: `default kubeconfig (context ${kc.getCurrentContext()})` };
  }
  const file = await kubeconfigFile(source.path);
  try {
    kc.loadFromFile(file);
  } catch (err) {
    // js-yaml's message quotes the offending line, which may hold a token: report its kind only.
    const what = err instanceof Error ? err.name : 'error';
    throw new KubeAccessError(`--kubeconfig ${file}: not a valid kubeconfig (${what})`, { cause: err });
  }
  return { kc, description: `kubeconfig ${file} (context ${kc.getCurrentContext()})` };
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
    throw new KubeAccessError(`--kubeconfig ${path} is a directory without a kubeconfig key (${KUBECONFIG_SECRET_KEYS.join(', ')}): ${found}`);
  }
  return join(path, key);
}
