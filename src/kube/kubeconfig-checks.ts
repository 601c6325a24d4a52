/**
 * What kubectl refuses in a kubeconfig, refused here too, at load and naming the file, the entry
 * and the field: client-go's clientcmd validation (ConfirmUsable), its base64 decoding of `*-data`
 * fields, rest.DefaultServerURL and transport.TLSConfigFor. Messages never quote a value that may
 * be a credential (tokens, passwords, keys, base64 data, a proxy's userinfo).
 */
import { KubeAccessError } from '../errors.js';
import { describeEntry, stringField, type KubeconfigEntry } from './kubeconfig-file.js';

/**
 * A `*-data` field decoded as Go's encoding/json decodes []byte: standard alphabet, padding
 * required, CR and LF ignored; anything else is an error (Node's decoder would skip it silently).
 */
export function base64Field(entry: KubeconfigEntry, key: string): Buffer | undefined {
  const text = stringField(entry, key);
  if (text === undefined) return undefined;
  const compact = text.replace(/[\r\n]/g, '');
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) {
    throw fieldProblem(entry, key, 'is not valid base64 (standard alphabet, padded)');
  }
  const decoded = Buffer.from(compact, 'base64');
  return decoded.length === 0 ? undefined : decoded;
}

/**
 * The server as kubectl reads it: a URL, or a `host:port` pair that gets http:// (not https://,
 * whatever the issue assumed): clientcmd's ClientConfig asks rest.IsConfigTransportTLS before it
 * has merged any TLS setting, so rest.DefaultServerUrlFor picks http, and then leaves out every
 * credential and the CA (checked with kubectl v1.37: `GET http://10.0.0.1:6443/api` even with
 * certificate-authority-data). A path is a prefix (a proxy in front of the apiserver).
 */
export function normalizeServer(cluster: KubeconfigEntry, raw: string): string {
  const hasAuthority = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]/.test(raw);
  const written = hasAuthority ? raw : `http://${raw}`;
  const problem = serverProblem(parseUrl(written), hasAuthority);
  if (problem !== undefined) throw fieldProblem(cluster, 'server', problem);
  // Kept as written (a default port too), query and fragment dropped as clientcmd drops them.
  return written.replace(/[?#].*$/, '').replace(/\/+$/, '');
}

function serverProblem(url: URL | undefined, hasAuthority: boolean): string | undefined {
  if (url === undefined) return 'is not a URL or a host:port pair';
  if (!hasAuthority && url.pathname !== '/' && url.pathname !== '') return 'is not a URL or a host:port pair (a path needs a scheme)';
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `has the scheme ${url.protocol.slice(0, -1)}, not https or http`;
  if (url.username !== '' || url.password !== '') return 'holds a user name or password: put credentials in the user entry';
  return undefined;
}

/** The cluster-level conflicts kubectl refuses. */
export function checkCluster(cluster: KubeconfigEntry): void {
  bothSet(cluster, 'certificate-authority', 'certificate-authority-data');
  const insecure = cluster.fields['insecure-skip-tls-verify'] === true;
  if (
    insecure &&
    (stringField(cluster, 'certificate-authority') !== undefined || stringField(cluster, 'certificate-authority-data') !== undefined)
  ) {
    // transport.TLSConfigFor: "specifying a root certificates file with the insecure flag is not allowed".
    throw new KubeAccessError(
      `${cluster.file}: ${describeEntry(cluster)} sets insecure-skip-tls-verify together with a certificate authority: choose one (kubectl refuses both)`,
    );
  }
}

/** The user-level conflicts kubectl refuses (clientcmd validateAuthInfo). */
export function checkUser(user: KubeconfigEntry): void {
  const hasCert = stringField(user, 'client-certificate') !== undefined || stringField(user, 'client-certificate-data') !== undefined;
  const hasKey = stringField(user, 'client-key') !== undefined || stringField(user, 'client-key-data') !== undefined;
  bothSet(user, 'client-certificate', 'client-certificate-data');
  bothSet(user, 'client-key', 'client-key-data');
  if (hasCert && !hasKey)
    throw new KubeAccessError(`${user.file}: ${describeEntry(user)} has a client certificate but no client-key or client-key-data`);
  const basic = stringField(user, 'username') !== undefined || stringField(user, 'password') !== undefined;
  if (basic && stringField(user, 'token') !== undefined) {
    throw new KubeAccessError(
      `${user.file}: ${describeEntry(user)} sets both token and username/password: kubectl allows only one authentication method`,
    );
  }
  checkPlugin(user);
}

const INTERACTIVE_MODES = ['Never', 'IfAvailable', 'Always'];

function checkPlugin(user: KubeconfigEntry): void {
  const exec = user.fields.exec ?? undefined;
  if (exec === undefined) return;
  if ((user.fields['auth-provider'] ?? undefined) !== undefined) {
    throw new KubeAccessError(`${user.file}: ${describeEntry(user)} sets both exec and auth-provider: choose one`);
  }
  const fields = typeof exec === 'object' && !Array.isArray(exec) ? (exec as Record<string, unknown>) : {};
  const missing = ['command', 'apiVersion'].find((key) => typeof fields[key] !== 'string' || fields[key] === '');
  if (missing !== undefined) throw fieldProblem(user, `exec.${missing}`, 'must be set to use an exec plugin');
  const problem = interactiveModeProblem(fields.interactiveMode, fields.apiVersion as string);
  if (problem !== undefined) throw fieldProblem(user, 'exec.interactiveMode', problem);
}

/** v1 has no default (clientcmd api/v1/defaults.go); v1alpha1 and v1beta1 default to IfAvailable. */
function interactiveModeProblem(mode: unknown, apiVersion: string): string | undefined {
  if (mode === undefined || mode === null || mode === '') {
    return /\/v1(alpha1|beta1)$/.test(apiVersion)
      ? undefined
      : 'must be set (Never, IfAvailable or Always) for client.authentication.k8s.io/v1';
  }
  return typeof mode === 'string' && INTERACTIVE_MODES.includes(mode) ? undefined : 'must be Never, IfAvailable or Always';
}

function bothSet(entry: KubeconfigEntry, file: string, data: string): void {
  if (stringField(entry, file) !== undefined && stringField(entry, data) !== undefined) {
    throw new KubeAccessError(`${entry.file}: ${describeEntry(entry)} sets both ${file} and ${data}: kubectl refuses that, keep one`);
  }
}

export function fieldProblem(entry: KubeconfigEntry, key: string, problem: string): KubeAccessError {
  return new KubeAccessError(`${entry.file}: ${describeEntry(entry)}: ${key} ${problem}`);
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
