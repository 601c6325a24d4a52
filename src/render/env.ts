import type { BucketCredentials } from '../credentials/types.js';
import { renderShellEnv, type EnvLine } from './shell-env.js';
import type { RenderedFile } from './types.js';
import { effectivePort } from '../credentials/index.js';
import { aliasOf } from './values.js';

/**
 * env/<alias>.env, for `set -a; . env/<alias>.env; set +a`, docker compose `env_file` or dotenv.
 * AWS_ENDPOINT_URL_S3 overrides AWS_ENDPOINT_URL for S3 in the SDKs that know it; both are set so
 * that older readers of the generic one work too. BUCKET_* follow the ObjectBucketClaim names;
 * BUCKET_HOST is the host as in the URL (an IPv6 address keeps its brackets) and BUCKET_PORT the
 * explicit port or the scheme's default.
 */
export function renderEnv(buckets: readonly BucketCredentials[]): RenderedFile[] {
  return buckets.map((b) => {
    const path = `env/${aliasOf(b, 'env/')}.env`;
    return { path, content: renderShellEnv(b, path, envLines(b)) };
  });
}

function envLines(b: BucketCredentials): EnvLine[] {
  return [
    { name: 'AWS_ACCESS_KEY_ID', field: 'accessKeyId' },
    { name: 'AWS_SECRET_ACCESS_KEY', field: 'secretAccessKey' },
    { name: 'AWS_ENDPOINT_URL', field: 'endpoint' },
    { name: 'AWS_ENDPOINT_URL_S3', field: 'endpoint' },
    { name: 'AWS_REGION', field: 'region' },
    { name: 'AWS_DEFAULT_REGION', field: 'region' },
    { name: 'BUCKET_NAME', field: 'bucketName' },
    { name: 'BUCKET_HOST', field: 'endpoint', value: b.endpoint.host },
    { name: 'BUCKET_PORT', field: 'endpoint', value: String(effectivePort(b.endpoint)) },
    { name: 'BUCKET_REGION', field: 'region' },
  ];
}
