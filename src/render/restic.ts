import type { BucketCredentials } from '../credentials/types.js';
import { renderShellEnv } from './shell-env.js';
import type { RenderedFile } from './types.js';
import { aliasOf, refuse } from './values.js';

/**
 * restic parses `s3:<url>/<bucket>[/<prefix>]` with net/url: a `/` in the bucket name would become
 * a prefix, and `%`, `?` or `#` would be unescaped or cut off. Only characters that stand for
 * themselves in a URL path are accepted (the parser's bucket-name rule allows no others either).
 */
const URL_SAFE_BUCKET_NAME = /^[A-Za-z0-9._-]+$/;

/**
 * restic/<alias>.env: the repository and the keys (env/'s quoting). restic reads the region from
 * AWS_DEFAULT_REGION and picks path-style requests itself for a non-AWS endpoint. RESTIC_PASSWORD
 * is the user's to add.
 */
export function renderRestic(buckets: readonly BucketCredentials[]): RenderedFile[] {
  return buckets.map((b) => {
    const path = `restic/${aliasOf(b, 'restic/')}.env`;
    if (!URL_SAFE_BUCKET_NAME.test(b.bucketName)) {
      refuse(
        b,
        'bucketName',
        path,
        "holds a character other than letters, digits, '.', '_' and '-', which would change the meaning of RESTIC_REPOSITORY",
      );
    }
    const content = renderShellEnv(b, path, [
      { name: 'RESTIC_REPOSITORY', field: 'bucketName', value: `s3:${b.endpoint.url}/${b.bucketName}` },
      { name: 'AWS_ACCESS_KEY_ID', field: 'accessKeyId' },
      { name: 'AWS_SECRET_ACCESS_KEY', field: 'secretAccessKey' },
      { name: 'AWS_DEFAULT_REGION', field: 'region' },
    ]);
    return { path, content };
  });
}
