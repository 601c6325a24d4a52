/**
 * The Secret of `--tls self` (type kubernetes.io/tls, so cert-manager-style tooling and
 * `kubectl describe` read it): `tls.crt`/`tls.key` the serving pair, `ca.crt` every CA still
 * trusted (the caBundle's source), `ca.key` the key of the newest CA, the one that signs.
 * Pure: parsing and building the data; node:crypto only parses.
 *
 *   parseTlsSecret(secret, names, nowMs): TlsSecretState
 *   tlsSecretData(material): Record<string, string>    (base64, as Secret.data)
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { splitPem } from './ca-bundle.js';

export const TLS_CERT_KEY = 'tls.crt';
export const TLS_KEY_KEY = 'tls.key';
export const CA_CERT_KEY = 'ca.crt';
export const CA_KEY_KEY = 'ca.key';
export const TLS_SECRET_TYPE = 'kubernetes.io/tls';

export interface TlsMaterial {
  readonly servingCert: string;
  readonly servingKey: string;
  readonly caBundle: string;
  readonly caKey: string;
}

export interface SignerState {
  readonly cert: string;
  readonly key: string;
  readonly notAfterMs: number;
  readonly der: string;
}

export interface ServingState {
  readonly cert: string;
  readonly key: string;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  readonly serial: string;
  readonly signedBySigner: boolean;
  readonly namesMatch: boolean;
}

export interface TlsSecretState {
  readonly caBundle: string;
  readonly signer: SignerState | undefined;
  readonly serving: ServingState | undefined;
}

export interface ExpectedNames {
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

interface SecretLike {
  readonly data?: Readonly<Record<string, string>> | null;
}

export function secretText(secret: SecretLike | undefined, key: string): string {
  const value = secret?.data?.[key];
  return typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : '';
}

export function parseTlsSecret(secret: SecretLike | undefined, names: ExpectedNames, nowMs: number): TlsSecretState {
  const caBundle = secretText(secret, CA_CERT_KEY);
  const signer = signerOf(caBundle, secretText(secret, CA_KEY_KEY), nowMs);
  const serving = servingOf(secretText(secret, TLS_CERT_KEY), secretText(secret, TLS_KEY_KEY), signer, names, nowMs);
  return { caBundle, signer, serving };
}

export function tlsSecretData(material: TlsMaterial): Record<string, string> {
  const b64 = (text: string): string => Buffer.from(text).toString('base64');
  return {
    [TLS_CERT_KEY]: b64(material.servingCert),
    [TLS_KEY_KEY]: b64(material.servingKey),
    [CA_CERT_KEY]: b64(material.caBundle),
    [CA_KEY_KEY]: b64(material.caKey),
  };
}

/** The certificate of ca.crt that ca.key belongs to, if it is a CA valid now. */
function signerOf(bundle: string, keyPem: string, nowMs: number): SignerState | undefined {
  const spki = publicKeyOf(keyPem);
  if (spki === undefined) return undefined;
  for (const pem of splitPem(bundle)) {
    const cert = parseCert(pem);
    if (cert === undefined || !cert.ca || Date.parse(cert.validTo) <= nowMs) continue;
    if (cert.publicKey.export({ type: 'spki', format: 'der' }).equals(spki)) {
      return { cert: pem, key: keyPem, notAfterMs: Date.parse(cert.validTo), der: cert.raw.toString('base64') };
    }
  }
  return undefined;
}

// eslint-disable-next-line max-params
function servingOf(
  certPem: string,
  keyPem: string,
  signer: SignerState | undefined,
  names: ExpectedNames,
  nowMs: number,
): ServingState | undefined {
  const cert = parseCert(certPem);
  const spki = publicKeyOf(keyPem);
  if (cert === undefined || spki === undefined || !cert.publicKey.export({ type: 'spki', format: 'der' }).equals(spki)) return undefined;
  if (Date.parse(cert.validTo) <= nowMs) return undefined;
  const signerCert = signer === undefined ? undefined : parseCert(signer.cert);
  return {
    cert: certPem,
    key: keyPem,
    notBeforeMs: Date.parse(cert.validFrom),
    notAfterMs: Date.parse(cert.validTo),
    serial: cert.serialNumber,
    signedBySigner: signerCert !== undefined && cert.checkIssued(signerCert) && cert.verify(signerCert.publicKey),
    namesMatch: sameNames(cert, names),
  };
}

/** `DNS:a, DNS:b, IP Address:127.0.0.1` against what the flags ask for, in any order. */
function sameNames(cert: X509Certificate, names: ExpectedNames): boolean {
  const have = (cert.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => s.replace(/^IP Address:/, 'IP:'))
    .sort();
  const want = [...names.dnsNames.map((n) => `DNS:${n}`), ...names.ipAddresses.map((ip) => `IP:${normalIp(ip)}`)].sort();
  return have.join(',') === want.join(',');
}

/** Node prints IPv6 SANs expanded upper-case (`0:0:0:0:0:0:0:1`); compare in that form. */
function normalIp(ip: string): string {
  if (!ip.includes(':')) return ip;
  const [head = '', tail] = ip.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((g) => parseInt(g, 16).toString(16).toUpperCase()).join(':');
}

function parseCert(pem: string): X509Certificate | undefined {
  if (pem === '') return undefined;
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

function publicKeyOf(keyPem: string): Buffer | undefined {
  if (keyPem === '') return undefined;
  try {
    return createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  } catch {
    return undefined;
  }
}
