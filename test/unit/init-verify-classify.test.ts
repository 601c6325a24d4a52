import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyVerifyError } from '../../src/s3/classify.js';

/** Errors shaped as minio-js (S3Error: `code`) and node (`code`, AggregateError `errors`) throw them. */
const err = (code: string | undefined, extra: Record<string, unknown> = {}): Error => Object.assign(new Error('x'), { code, ...extra });

describe('classifyVerifyError', () => {
  const cases: [string, unknown, string, boolean, RegExp][] = [
    ['unknown key', err('InvalidAccessKeyId'), 'unknown-key', true, /does not know this access key \(InvalidAccessKeyId\)/],
    ['bad signature', err('SignatureDoesNotMatch'), 'bad-signature', true, /bad signature/],
    ['no bucket', err('NoSuchBucket'), 'no-bucket', true, /bucket does not exist/],
    ['access denied', err('AccessDenied'), 'access-denied', true, /access denied/],
    ['self-signed', err('DEPTH_ZERO_SELF_SIGNED_CERT'), 'tls', false, /not signed by a trusted CA.*--ca-file/],
    ['wrong host name', err('ERR_TLS_CERT_ALTNAME_INVALID'), 'tls', false, /not valid for this host name/],
    ['https to http', err('ERR_SSL_WRONG_VERSION_NUMBER'), 'tls', false, /does not speak TLS/],
    ['no such host', err('ENOTFOUND'), 'dns', false, /DNS lookup/],
    ['DNS hiccup', err('EAI_AGAIN'), 'dns', true, /DNS lookup/],
    ['refused', err('ECONNREFUSED'), 'connection', true, /connection refused/],
    ['refused on every address', Object.assign(new AggregateError([err('ECONNREFUSED')]), {}), 'connection', true, /connection refused/],
    ['timeout', err('ETIMEDOUT'), 'connection', true, /timed out/],
    ['something else', err('InternalError'), 'other', false, /unexpected error \(InternalError\)/],
    ['no code', new Error('boom'), 'other', false, /unexpected error$/],
  ];
  for (const [name, error, reason, retryable, words] of cases) {
    it(name, () => {
      const problem = classifyVerifyError(error);
      assert.equal(problem.reason, reason);
      assert.equal(problem.retryable, retryable);
      assert.match(problem.words, words);
    });
  }
});
