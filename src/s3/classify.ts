/**
 * Plain words for why S3 refused or could not be reached. A 1-key ListObjectsV2 returns exact S3
 * codes (a HEAD request would only say 403), so each class names what to fix.
 */
import { errorCode } from '../errors.js';

export type VerifyReason = 'unknown-key' | 'bad-signature' | 'no-bucket' | 'access-denied' | 'tls' | 'dns' | 'connection' | 'other';

export interface VerifyProblem {
  readonly reason: VerifyReason;
  /** What went wrong, in words, ending with the code seen, e.g. `... (InvalidAccessKeyId)`. */
  readonly words: string;
  /** Worth another try: new keys and buckets take a moment to propagate in S3 backends. */
  readonly retryable: boolean;
}

const S3_CODES: Readonly<Record<string, Omit<VerifyProblem, 'words'> & { text: string }>> = {
  InvalidAccessKeyId: { reason: 'unknown-key', retryable: true, text: 'S3 does not know this access key' },
  SignatureDoesNotMatch: { reason: 'bad-signature', retryable: true, text: 'the secret key does not match the access key (bad signature)' },
  NoSuchBucket: { reason: 'no-bucket', retryable: true, text: 'the bucket does not exist on this S3 endpoint' },
  AccessDenied: { reason: 'access-denied', retryable: true, text: 'the keys are valid but may not list this bucket (access denied)' },
  AllAccessDisabled: { reason: 'access-denied', retryable: false, text: 'all access to this bucket is disabled' },
  InvalidBucketName: { reason: 'no-bucket', retryable: false, text: 'the bucket name is not valid for S3' },
  RequestTimeTooSkewed: { reason: 'other', retryable: false, text: "this machine's clock differs too much from the S3 server's" },
};

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_UNTRUSTED',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'EPROTO',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
]);
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME']);
const CONNECTION_CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused (nothing listens on that host and port)',
  ECONNRESET: 'connection reset by the server',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed by the server',
  ECONNABORTED: 'connection aborted',
};

/** What a failed probe means. `err` is whatever minio or node threw. */
export function classifyVerifyError(err: unknown): VerifyProblem {
  const code = errorCode(err);
  if (code === undefined) return { reason: 'other', retryable: false, words: 'S3 answered with an unexpected error' };
  return (
    s3Problem(code) ??
    tlsProblem(code) ??
    networkProblem(code) ?? { reason: 'other', retryable: false, words: `S3 answered with an unexpected error (${code})` }
  );
}

function s3Problem(code: string): VerifyProblem | undefined {
  const known = S3_CODES[code];
  return known === undefined ? undefined : { reason: known.reason, retryable: known.retryable, words: `${known.text} (${code})` };
}

function tlsProblem(code: string): VerifyProblem | undefined {
  if (!TLS_CODES.has(code) && !code.startsWith('ERR_SSL_') && !code.startsWith('ERR_TLS_')) return undefined;
  return { reason: 'tls', retryable: false, words: `TLS failure: ${tlsWords(code)} (${code}); use --ca-file for a private CA` };
}

function networkProblem(code: string): VerifyProblem | undefined {
  if (DNS_CODES.has(code)) return { reason: 'dns', retryable: code === 'EAI_AGAIN', words: `DNS lookup of the S3 host failed (${code})` };
  const connection = CONNECTION_CODES[code];
  return connection === undefined
    ? undefined
    : { reason: 'connection', retryable: true, words: `cannot connect to S3: ${connection} (${code})` };
}

function tlsWords(code: string): string {
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return 'the certificate is not valid for this host name';
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return 'the certificate is outside its validity period';
  if (code === 'EPROTO' || code.startsWith('ERR_SSL_')) return 'the server does not speak TLS on this port (http endpoint given as https?)';
  return 'the server certificate is not signed by a trusted CA';
}
