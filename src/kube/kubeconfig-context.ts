/**
 * From a kubeconfig's current-context to what a request needs: the server, the TLS material, the
 * credentials. Users of `exec` and `auth-provider` plugins are handed to client-node, the rest is
 * read here.
 */
import { KubeAccessError } from '../errors.js';
import { credentialsAuth, impersonationHeaders, type Credentials, type Impersonation, type KubeAuth, type Material } from './auth.js';
import { pluginAuth } from './auth-plugin.js';
import { base64Field, checkCluster, checkUser, fieldProblem, normalizeServer } from './kubeconfig-checks.js';
import {
  booleanField,
  describeEntry,
  pathField,
  stringField,
  stringListField,
  stringListMapField,
  type Kubeconfig,
  type KubeconfigEntry,
} from './kubeconfig-file.js';

export interface KubeContext {
  readonly name: string;
  readonly server: string;
  readonly namespace: string | undefined;
  readonly auth: KubeAuth;
  /** The cluster's `proxy-url`; undefined leaves the choice to the environment (kubeconfig.ts). */
  readonly proxyUrl: URL | undefined;
}

/** `where` names the kubeconfig in errors about the context itself (`--kubeconfig /path`). */
export async function resolveCurrentContext(config: Kubeconfig, where: string): Promise<KubeContext> {
  const name = config.currentContext;
  if (name === undefined) throw new KubeAccessError(`${where}: no current-context is set`);
  const context = config.contexts.get(name);
  if (context === undefined) throw new KubeAccessError(`${where}: current-context "${name}" is not among its contexts`);
  const cluster = referenced(config.clusters, context, 'cluster');
  const user = referenced(config.users, context, 'user');
  const raw = stringField(cluster, 'server');
  if (raw === undefined) throw new KubeAccessError(`${cluster.file}: ${describeEntry(cluster)} has no server`);
  // Everything kubectl checks before its first request, before any file is read or plugin run.
  checkCluster(cluster);
  checkUser(user);
  const proxy = proxyUrl(cluster);
  const { server, auth } = await connection(cluster, user, name, raw);
  return { name, server, namespace: stringField(context, 'namespace')?.trim() || undefined, auth, proxyUrl: proxy };
}

async function connection(
  cluster: KubeconfigEntry,
  user: KubeconfigEntry,
  context: string,
  raw: string,
): Promise<{ server: string; auth: KubeAuth }> {
  const server = normalizeServer(cluster, raw);
  const tls = clusterTls(cluster);
  const plugin = isPluginUser(user);
  // The files are read and checked either way, as clientcmd's validation opens them.
  const checked = await credentialsAuth(plugin ? tls : { ...tls, ...userCredentials(user) }, true);
  // Over plain http kubectl sends no credentials and runs no plugin, only impersonation headers
  // (clientcmd ClientConfig reads the user's identity only `if IsConfigTransportTLS`): neither
  // do we, so a token never crosses the network in clear.
  if (server.startsWith('http:')) return { server, auth: impersonationOnly(impersonation(user)) };
  return { server, auth: plugin ? await pluginAuth(cluster, user, context, impersonation(user)) : checked };
}

function impersonationOnly(impersonate: Impersonation | undefined): KubeAuth {
  return {
    apply: (options): Promise<void> => {
      if (impersonate !== undefined) options.headers = { ...options.headers, ...impersonationHeaders(impersonate) };
      return Promise.resolve();
    },
  };
}

function referenced(defined: ReadonlyMap<string, KubeconfigEntry>, context: KubeconfigEntry, kind: 'cluster' | 'user'): KubeconfigEntry {
  const name = stringField(context, kind);
  if (name === undefined) throw new KubeAccessError(`${context.file}: ${describeEntry(context)} names no ${kind}`);
  const entry = defined.get(name);
  if (entry === undefined)
    throw new KubeAccessError(`${context.file}: ${describeEntry(context)} names ${kind} "${name}", which no kubeconfig file defines`);
  return entry;
}

function isPluginUser(user: KubeconfigEntry): boolean {
  return user.fields.exec !== undefined || user.fields['auth-provider'] !== undefined;
}

function clusterTls(cluster: KubeconfigEntry): Pick<Credentials, 'ca' | 'insecure' | 'servername'> {
  return {
    ca: material(cluster, 'certificate-authority', 'certificate authority'),
    insecure: booleanField(cluster, 'insecure-skip-tls-verify'),
    servername: stringField(cluster, 'tls-server-name'),
  };
}

/**
 * clientcmd's parseProxyURL accepts http, https and socks5; only http:// tunnels are built here
 * (proxy.ts), so the other two are refused by name rather than bypassed.
 */
function proxyUrl(cluster: KubeconfigEntry): URL | undefined {
  const raw = stringField(cluster, 'proxy-url');
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw fieldProblem(cluster, 'proxy-url', 'is not a URL');
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme === 'https' || scheme === 'socks5')
    throw fieldProblem(cluster, 'proxy-url', `is a ${scheme}:// proxy: kubectl supports it, bucket-agent only http:// proxies`);
  if (scheme !== 'http')
    throw fieldProblem(cluster, 'proxy-url', `has the unsupported scheme ${scheme} (kubectl takes http, https or socks5)`);
  if (url.hostname === '') throw fieldProblem(cluster, 'proxy-url', 'names no host');
  return url;
}

function userCredentials(user: KubeconfigEntry): Omit<Credentials, 'ca' | 'insecure' | 'servername'> {
  const username = stringField(user, 'username');
  return {
    cert: material(user, 'client-certificate', 'client certificate'),
    key: material(user, 'client-key', 'client key'),
    token: token(user),
    basic: username === undefined ? undefined : { username, password: stringField(user, 'password') ?? '' },
    impersonate: impersonation(user),
  };
}

/** `as` with its `as-uid`, `as-groups` and `as-user-extra`, which kubectl refuses without it. */
function impersonation(user: KubeconfigEntry): Impersonation | undefined {
  const name = stringField(user, 'as');
  const uid = stringField(user, 'as-uid');
  const groups = stringListField(user, 'as-groups');
  const extra = stringListMapField(user, 'as-user-extra');
  if (name !== undefined) return { user: name, uid, groups, extra };
  if (uid !== undefined || groups.length > 0 || Object.keys(extra).length > 0) {
    throw new KubeAccessError(
      `${user.file}: ${describeEntry(user)} sets as-uid, as-groups or as-user-extra without as: impersonation needs a user name`,
    );
  }
  return undefined;
}

/** `<key>-data` (base64) or the file `<key>`; both at once is refused (kubeconfig-checks.ts). */
function material(entry: KubeconfigEntry, key: string, what: string): Material | undefined {
  const data = base64Field(entry, `${key}-data`);
  if (data !== undefined) return { what: `${key}-data of ${describeEntry(entry)} in ${entry.file}`, data };
  const file = pathField(entry, key);
  return file === undefined ? undefined : { what, file };
}

/** `tokenFile` wins over `token`, as in client-go, whose transport prefers the file it re-reads. */
function token(user: KubeconfigEntry): Material | undefined {
  const file = pathField(user, 'tokenFile');
  if (file !== undefined) return { what: 'token file', file };
  const text = stringField(user, 'token');
  return text === undefined ? undefined : { what: 'token', data: Buffer.from(text, 'utf8') };
}
