/**
 * Users authenticated by an `exec` or `auth-provider` plugin go through client-node's KubeConfig,
 * which runs them (and caches exec credentials until they expire); we do not reimplement those.
 * It is imported only for such users: its bundle chunk (config.js pulls in the generated API
 * models) costs ~120 ms at start, over three times the rest of `init` (~36 ms). The deep import: the package index pulls in every generated API (~1.3 s); 1.4.x has
 * no `exports` map, so it is allowed.
 */
import type https from 'node:https';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import { impersonationHeaders, type Impersonation, type KubeAuth } from './auth.js';
import { pathField, type KubeconfigEntry } from './kubeconfig-file.js';

const CLUSTER_PATHS = ['certificate-authority'];
const USER_PATHS = ['client-certificate', 'client-key'];

/**
 * The context we resolved, handed over as a kubeconfig of its own (one cluster, one user) rather
 * than the files again: the user and the cluster may come from different KUBECONFIG files, and
 * client-node refuses a name two files define where kubectl takes the first.
 */
export async function pluginAuth(
  cluster: KubeconfigEntry,
  user: KubeconfigEntry,
  context: string,
  impersonate: Impersonation | undefined,
): Promise<KubeAuth> {
  const { KubeConfig } = await import('@kubernetes/client-node/dist/config.js');
  const kc = new KubeConfig();
  kc.loadFromString(
    JSON.stringify({
      clusters: [{ name: cluster.name, cluster: withAbsolutePaths(cluster, CLUSTER_PATHS) }],
      users: [{ name: user.name, user: withExecCommandResolved(user, withAbsolutePaths(user, USER_PATHS)) }],
      contexts: [{ name: context, context: { cluster: cluster.name, user: user.name } }],
      'current-context': context,
    }),
  );
  return {
    apply: async (options: https.RequestOptions): Promise<void> => {
      await kc.applyToHTTPSOptions(options);
      // client-node sends `as` alone; the headers are ours, as for every other user.
      if (impersonate !== undefined) options.headers = { ...options.headers, ...impersonationHeaders(impersonate) };
      // A fresh agent per call, holding the TLS options that are on `options` too: the client's
      // pool keeps connections instead.
      delete options.agent;
    },
  };
}

/** Relative paths as the kubeconfig meant them: from its own directory. */
function withAbsolutePaths(entry: KubeconfigEntry, keys: readonly string[]): Record<string, unknown> {
  const fields: Record<string, unknown> = { ...entry.fields };
  for (const key of keys) fields[key] = pathField(entry, key);
  return fields;
}

/**
 * As client-go: an exec command with a path separator (`./bin/get-token`) is relative to the
 * kubeconfig's directory; a bare name (`aws`) is looked up on PATH. client-node would take the
 * former from the working directory.
 */
function withExecCommandResolved(user: KubeconfigEntry, fields: Record<string, unknown>): Record<string, unknown> {
  const exec = fields.exec;
  if (typeof exec !== 'object' || exec === null) return fields;
  const command = (exec as { command?: unknown }).command;
  if (typeof command !== 'string' || !command.includes(sep) || isAbsolute(command)) return fields;
  return { ...fields, exec: { ...exec, command: resolve(dirname(user.file), command) } };
}
