/**
 * A serving certificate and key as the webhook's TLS server takes them, checked before they are
 * swapped in: both parse, the key belongs to the certificate (OpenSSL's own check, through
 * createSecureContext), and the certificate is valid now. A pair that fails is refused with a
 * message that names the problem and never quotes the PEM.
 *
 *   loadServingPair(certPem, keyPem, nowMs?): ServingCertificate     -> TlsMaterialError
 */
import { createHash, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { BucketAgentError, EXIT } from '../errors.js';

export interface ServingCertificate {
  readonly cert: string;
  readonly key: string;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  /** Hex, as openssl prints it. */
  readonly serial: string;
  /** sha256 of cert + key: "the same pair as before" without keeping a second copy of the key. */
  readonly fingerprint: string;
}

export class TlsMaterialError extends BucketAgentError {
  override readonly name: string = 'TlsMaterialError';
  constructor(message: string) {
    super('E_TLS_MATERIAL', EXIT.usage, message);
  }
}

export function pairFingerprint(certPem: string, keyPem: string): string {
  return createHash('sha256').update(certPem).update('\0').update(keyPem).digest('hex');
}

export function loadServingPair(certPem: string, keyPem: string, nowMs = Date.now()): ServingCertificate {
  if (!certPem.includes('-----BEGIN CERTIFICATE-----')) throw new TlsMaterialError('the certificate is not PEM (no BEGIN CERTIFICATE)');
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(keyPem)) throw new TlsMaterialError('the key is not a PEM private key');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certPem);
  } catch {
    throw new TlsMaterialError('the certificate does not parse');
  }
  try {
    createSecureContext({ cert: certPem, key: keyPem });
  } catch (err) {
    // OpenSSL's reason ("key values mismatch", "bad decrypt"), never the input.
    const reason = err instanceof Error ? (err.message.split(':').pop()?.trim() ?? 'unusable') : 'unusable';
    throw new TlsMaterialError(`the key and the certificate do not make a usable pair: ${reason}`);
  }
  const notBeforeMs = Date.parse(leaf.validFrom);
  const notAfterMs = Date.parse(leaf.validTo);
  if (nowMs >= notAfterMs) throw new TlsMaterialError(`the certificate expired at ${leaf.validTo}`);
  return Object.freeze({
    cert: certPem,
    key: keyPem,
    notBeforeMs,
    notAfterMs,
    serial: leaf.serialNumber,
    fingerprint: pairFingerprint(certPem, keyPem),
  });
}
