import type { BucketCredentials } from '../credentials/types.js';
import { credentialsSection } from './aws-shared.js';
import { renderIni } from './ini.js';
import type { RenderedFile } from './types.js';
import { aliasOf } from './values.js';

/**
 * velero/<alias>: the `cloud` file a Velero BackupStorageLocation's credential Secret holds. The AWS
 * plugin reads it as a shared-credentials file through the AWS SDK for Go with the default profile,
 * so it is aws/credentials' dialect (same value rules) with only `[default]`. The BSL config still
 * needs `s3ForcePathStyle: "true"`, `s3Url` and `checksumAlgorithm: ""` for SeaweedFS.
 */
export function renderVelero(buckets: readonly BucketCredentials[]): RenderedFile[] {
  return buckets.map((b) => {
    const path = `velero/${aliasOf(b, 'velero/')}`;
    return { path, content: renderIni([credentialsSection(b, 'default', path)]) };
  });
}
