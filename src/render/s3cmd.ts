import type { BucketCredentials } from '../credentials/types.js';
import { renderIni } from './ini.js';
import type { RenderedFile } from './types.js';
import { EDGE_WHITESPACE_RULE, aliasOf, checkedText, checkedValue, type CredentialField, type ValueRule } from './values.js';

/**
 * s3cmd's own ConfigParser (S3/Config.py, 2.x): `^\s*(\w+)\s*=\s*(.*)`, then one pair of `"` is
 * stripped when the whole value is `"..."`, then read_config_file() str.strip()s it, then
 * update_option() reads a value starting with `$` as the name of an environment variable. There is
 * no `%` interpolation and no inline comment.
 */
const S3CMD_RULES: readonly ValueRule[] = [
  EDGE_WHITESPACE_RULE,
  { matches: (v) => v.startsWith('$'), problem: "starts with '$', which s3cmd reads as the name of an environment variable" },
];

/** A value that is itself `"..."` would lose its quotes: wrapping it in one more pair keeps them. */
function s3cmdValue(b: BucketCredentials, field: CredentialField, file: string): string {
  const value = checkedValue(b, { field, file }, S3CMD_RULES);
  return /^".*"$/su.test(value) ? `"${value}"` : value;
}

/**
 * `host[:port]` as the Secret gave it: a default port left implicit keeps the Host header (which
 * SigV4 signs) the same as the other tools send.
 */
function hostBase(b: BucketCredentials, file: string): string {
  const host = b.endpoint.port === undefined ? b.endpoint.host : `${b.endpoint.host}:${b.endpoint.port}`;
  return checkedText(b, { field: 'endpoint', file }, host, S3CMD_RULES);
}

/**
 * s3cmd/<alias>.s3cfg. host_bucket without `%(bucket)s` makes s3cmd use path-style requests
 * (S3.py check_bucket_name_dns_support), which SeaweedFS needs.
 */
export function renderS3cmd(buckets: readonly BucketCredentials[]): RenderedFile[] {
  return buckets.map((b) => {
    const path = `s3cmd/${aliasOf(b, 's3cmd/')}.s3cfg`;
    const host = hostBase(b, path);
    const content = renderIni([
      {
        header: 'default',
        entries: [
          { key: 'access_key', value: s3cmdValue(b, 'accessKeyId', path) },
          { key: 'secret_key', value: s3cmdValue(b, 'secretAccessKey', path) },
          { key: 'host_base', value: host },
          { key: 'host_bucket', value: host },
          { key: 'use_https', value: b.endpoint.scheme === 'https' ? 'True' : 'False' },
          { key: 'bucket_location', value: s3cmdValue(b, 'region', path) },
        ],
      },
    ]);
    return { path, content };
  });
}
