/**
 * From a kubeconfig's current-context to what a request needs: the server, the TLS material, the
 * credentials. Users of `exec` and `auth-provider` plugins are handed to client-node, the rest is
 * read here.
 */
import { KubeAccessError } from '../errors.js';
import { credentialsAuth, type Credentials, type Impersonation, type KubeAuth, type Material } from './auth.js';
import { pluginAuth } from './auth-plugin.js';
import { booleanField, describeEntry, pathField, stringField, stringListField, stringListMapField, type Kubeconfig, type KubeconfigEntry } from './kubeconfig-file.js';

export interface KubeContext {
  readonly name: string;
  readonly server: string;
  readonly namespace: string | undefined;
  readonly auth: KubeAuth;
}

/** `where` names the kubeconfig in errors about the context itself (`--kubeconfig /path`). */
export async function resolveCurrentContext(config: Kubeconfig, where: string): Promise<KubeContext> {
  const name = config.currentContext;
  if (name === undefined) throw new KubeAccessError(`${where}: no current-context is set`);
  const context = config.contexts.get(name);
  if (context === undefined) throw new KubeAccessError(`${where}: current-context "${name}" is not among its contexts`);
  const cluster = referenced(config.clusters, context, 'cluster');
  const user = referenced(config.users, context, 'user');
  const server = stringField(cluster, 'server');
  if (server === undefined) throw new KubeAccessError(`${cluster.file}: ${describeEntry(cluster)} has no server`);
  const auth = isPluginUser(user) ? await pluginAuth(cluster, user, name, impersonation(user)) : await credentialsAuth({ ...clusterTls(cluster), ...userCredentials(user) });
  return { name, server, namespace: stringField(context, 'namespace')?.trim() || undefined, auth };
}

function referenced(defined: ReadonlyMap<string, KubeconfigEntry>, context: KubeconfigEntry, kind: 'cluster' | 'user'): KubeconfigEntry {
  const name = stringField(context, kind);
  if (name === undefined) throw new KubeAccessError(`${context.file}: ${describeEntry(context)} names no ${kind}`);
  const entry = defined.get(name);
  if (entry === undefined) throw new KubeAccessError(`${context.file}: ${describeEntry(context)} names ${kind} "${name}", which no kubeconfig file defines`);
  return entry;
}

function isPluginUser(user: KubeconfigEntry): boolean {
  return user.fields.exec !== undefined || user.fields['auth-provider'] !== undefined;
}

function clusterTls(cluster: KubeconfigEntry): Pick<Credentials, 'ca' | 'insecure' | 'servername'> {
  if (stringField(cluster, 'proxy-url') !== undefined) {
    throw new KubeAccessError(`${cluster.file}: ${describeEntry(cluster)} sets proxy-url, which bucket-agent does not support: give a server it reaches directly`);
  }
  return {
    ca: material(cluster, 'certificate-authority', 'certificate authority'),
    insecure: booleanField(cluster, 'insecure-skip-tls-verify'),
    servername: stringField(cluster, 'tls-server-name'),
  };
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
    throw new KubeAccessError(`${user.file}: ${describeEntry(user)} sets as-uid, as-groups or as-user-extra without as: impersonation needs a user name`);
  }
  return undefined;
}

/** `<key>-data` (base64) wins over the file `<key>`, as in client-go. */
function material(entry: KubeconfigEntry, key: string, what: string): Material | undefined {
  const data = stringField(entry, `${key}-data`);
  if (data !== undefined) return { what, data: Buffer.from(data, 'base64') };
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
