/**
 * How requests to the apiserver authenticate: TLS material and an Authorization header, applied
 * to every request. Files are read again each time, so a rotated service-account token or client
 * certificate is used without a restart (requests are few; reading is cheaper than watching).
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type https from 'node:https';
import { createSecureContext } from 'node:tls';
import { KubeAccessError } from '../errors.js';

export interface KubeAuth {
  /** Sets `ca`, `cert`, `key`, `rejectUnauthorized`, `servername` and the auth headers of one request. */
  apply(options: https.RequestOptions): Promise<void>;
}

/** A PEM or a token, inline or in a file; `what` names it in errors (`client key`). */
export type Material = { readonly what: string; readonly data: Buffer } | { readonly what: string; readonly file: string };

export interface Credentials {
  readonly ca?: Material;
  readonly cert?: Material;
  readonly key?: Material;
  readonly token?: Material;
  readonly basic?: { readonly username: string; readonly password: string };
  /** kubeconfig `as`, `as-uid`, `as-groups`, `as-user-extra`: who the requests act as. */
  readonly impersonate?: Impersonation;
  readonly insecure: boolean;
  readonly servername?: string;
}

export interface Impersonation {
  readonly user: string;
  readonly uid?: string;
  readonly groups: readonly string[];
  readonly extra: Readonly<Record<string, readonly string[]>>;
}

/**
 * Reads the files once now, so a wrong path fails at start, naming the file, not at the first
 * request. With `checkPem` (kubeconfig files; the kubelet's own mounts are trusted) the material
 * must also parse, as client-go requires before its first request: node would ignore a CA that
 * is not PEM and fail only at the TLS handshake, which looks like a network fault and is retried.
 */
export async function credentialsAuth(credentials: Credentials, checkPem = false): Promise<KubeAuth> {
  const auth: KubeAuth = { apply: (options) => applyCredentials(credentials, options) };
  const first: https.RequestOptions = {};
  await auth.apply(first);
  if (checkPem) checkTlsMaterial(credentials, first);
  return auth;
}

function checkTlsMaterial(credentials: Credentials, options: https.RequestOptions): void {
  if (Buffer.isBuffer(options.ca) && !holdsCertificate(options.ca)) throw pemError(credentials.ca, 'holds no PEM certificate');
  if (options.cert === undefined || options.key === undefined) return;
  try {
    createSecureContext({ cert: options.cert, key: options.key });
  } catch (err) {
    throw pemError(credentials.cert, `and the ${credentials.key?.what ?? 'client key'} do not form a usable pair (${opensslReason(err)})`);
  }
}

/** OpenSSL's reason only (`no start line`, `key values mismatch`): it never quotes the PEM. */
function opensslReason(err: unknown): string {
  return /::(.+)$/.exec((err as Error).message)?.[1] ?? (err as NodeJS.ErrnoException).code ?? 'unreadable';
}

/** As Go's AppendCertsFromPEM: one CERTIFICATE block that parses is enough. */
function holdsCertificate(pem: Buffer): boolean {
  const blocks = pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.some((block) => {
    try {
      new X509Certificate(block);
      return true;
    } catch {
      return false;
    }
  });
}

function pemError(material: Material | undefined, problem: string): KubeAccessError {
  const where = material === undefined ? 'TLS material' : 'file' in material ? `${material.what} ${material.file}` : material.what;
  return new KubeAccessError(`the ${where} ${problem}`);
}

/** Names the file and the errno code only: the path is ours, the content may be a key. */
export function readError(what: string, file: string, err: unknown): KubeAccessError {
  return new KubeAccessError(`cannot read the ${what} ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
}

async function applyCredentials(credentials: Credentials, options: https.RequestOptions): Promise<void> {
  const { ca, cert, key, token } = credentials;
  const [caPem, certPem, keyPem, tokenText] = await Promise.all([ca, cert, key, token].map(readMaterial));
  options.ca = caPem;
  options.cert = certPem;
  options.key = keyPem;
  options.rejectUnauthorized = !credentials.insecure;
  options.servername = credentials.servername;
  options.headers = { ...options.headers, ...authHeaders(tokenText?.toString('utf8').trim(), credentials) };
}

async function readMaterial(material: Material | undefined): Promise<Buffer | undefined> {
  if (material === undefined) return undefined;
  if ('data' in material) return material.data;
  return readFile(material.file).catch((err: unknown) => {
    throw readError(material.what, material.file, err);
  });
}

/** A bearer token wins over basic auth, as in client-go. */
function authHeaders(token: string | undefined, credentials: Credentials): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  const { basic, impersonate } = credentials;
  if (token !== undefined && token !== '') headers.Authorization = `Bearer ${token}`;
  else if (basic !== undefined) headers.Authorization = `Basic ${Buffer.from(`${basic.username}:${basic.password}`).toString('base64')}`;
  return impersonate === undefined ? headers : { ...headers, ...impersonationHeaders(impersonate) };
}

/** The apiserver's impersonation headers; a header given several times carries a list. */
export function impersonationHeaders(as: Impersonation): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = { 'Impersonate-User': as.user };
  if (as.uid !== undefined) headers['Impersonate-Uid'] = as.uid;
  if (as.groups.length > 0) headers['Impersonate-Group'] = [...as.groups];
  for (const [key, values] of Object.entries(as.extra)) {
    if (values.length > 0) headers[`Impersonate-Extra-${escapeHeaderKey(key)}`] = [...values];
  }
  return headers;
}

/** RFC 7230 token characters; `%` is among them but is escaped too, so the apiserver can unescape. */
const TOKEN_CHAR = /^[!#$&'*+\-.^_`|~0-9A-Za-z]$/;

/** As client-go: every UTF-8 byte of an extra key that may not stand in a header name becomes `%XX`. */
function escapeHeaderKey(key: string): string {
  let escaped = '';
  for (const byte of Buffer.from(key, 'utf8')) {
    const char = String.fromCharCode(byte);
    escaped += byte < 0x80 && TOKEN_CHAR.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return escaped;
}
