/**
 * The self-managed CA and serving certificates: ECDSA P-256 keys on Node's WebCrypto, X.509 built
 * by @peculiar/x509 (it needs the reflect-metadata polyfill loaded first). No IO; loaded only by
 * `--tls self`, so the other modes never pay for the two libraries.
 *
 *   generateCa({commonName, validityMs, nowMs}): Promise<IssuedPair>
 *   issueServing(ca, {dnsNames, ipAddresses, validityMs, nowMs}): Promise<IssuedPair>   (never outlives the CA)
 *   importCaKey(pem): Promise<CryptoKey>
 */
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
/** notBefore this far back (capped at a tenth of the lifetime): a node whose clock is behind still accepts it. */
export const CLOCK_SKEW_MS = 5 * 60_000;

export interface IssuedPair {
  /** PEM */
  readonly cert: string;
  /** PKCS#8 PEM */
  readonly key: string;
}

export interface CaRequest {
  readonly commonName: string;
  readonly validityMs: number;
  readonly nowMs: number;
}

export interface ServingRequest {
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly validityMs: number;
  readonly nowMs: number;
}

export interface SigningCa {
  readonly cert: string;
  readonly key: string;
}

export async function generateCa(request: CaRequest): Promise<IssuedPair> {
  const keys = await newKeys();
  const { notBefore, notAfter } = validity(request.nowMs, request.validityMs, Infinity);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${request.commonName}`,
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: pemOf(cert), key: await exportKey(keys.privateKey) };
}

export async function issueServing(ca: SigningCa, request: ServingRequest): Promise<IssuedPair> {
  const caCert = new x509.X509Certificate(ca.cert);
  const signingKey = await importCaKey(ca.key);
  const keys = await newKeys();
  const { notBefore, notAfter } = validity(request.nowMs, request.validityMs, caCert.notAfter.getTime());
  const names = [
    ...request.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...request.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${request.dnsNames[0] ?? request.ipAddresses[0] ?? 'bucket-agent-webhook'}`,
    issuer: caCert.subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  return { cert: pemOf(cert), key: await exportKey(keys.privateKey) };
}

export async function importCaKey(pem: string): Promise<CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return webcrypto.subtle.importKey('pkcs8', der, ALGORITHM, false, ['sign']);
}

/** With the final newline, as every PEM tool writes it (and bundles concatenate). */
function pemOf(cert: x509.X509Certificate): string {
  return `${cert.toString('pem').trim()}\n`;
}

function newKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
}

async function exportKey(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

/** Whole seconds (X.509 times have no fractions), backdated for clock skew, capped at `capMs`. */
function validity(nowMs: number, validityMs: number, capMs: number): { notBefore: Date; notAfter: Date } {
  const skew = Math.min(CLOCK_SKEW_MS, validityMs / 10);
  const notBefore = Math.floor((nowMs - skew) / 1000) * 1000;
  const notAfter = Math.floor(Math.min(nowMs + validityMs, capMs) / 1000) * 1000;
  return { notBefore: new Date(notBefore), notAfter: new Date(notAfter) };
}

/** 16 random bytes, high bit clear: a positive INTEGER of at most 20 octets (RFC 5280 4.1.2.2). */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString('hex');
}
