import type { BucketCredentials } from '../credentials/types.js';
import { awsValue, credentialsSection } from './aws-shared.js';
import { renderIni, type IniSection } from './ini.js';
import type { RenderedFile } from './types.js';
import { aliasOf } from './values.js';

export const AWS_CREDENTIALS_PATH = 'aws/credentials';
export const AWS_CONFIG_PATH = 'aws/config';
/**
 * The credentials endpoint's token (DESIGN.md "Sidecar contract"), written with the files by the
 * sidecar, not by this renderer; declared here beside the other aws/ paths apps are pointed at.
 */
export const AWS_CONTAINER_TOKEN_PATH = 'aws/container-token';

const DEFAULT_PROFILE = 'default';

/**
 * aws/credentials and aws/config: one profile per bucket, named by its alias, plus `default` when
 * there is exactly one bucket so that tools work without `--profile`/AWS_PROFILE.
 */
export function renderAws(buckets: readonly BucketCredentials[]): RenderedFile[] {
  if (buckets.length === 0) return [];
  const profiles = profilesOf(buckets);
  return [
    { path: AWS_CREDENTIALS_PATH, content: renderIni(profiles.map(([name, b]) => credentialsSection(b, name, AWS_CREDENTIALS_PATH))) },
    { path: AWS_CONFIG_PATH, content: renderIni(profiles.map(([name, b]) => configSection(b, name))) },
  ];
}

/**
 * [profile name, bucket] in input order. An alias that is itself `default` is already the default
 * profile: writing it twice would make configparser (botocore) fail on a duplicate section.
 */
function profilesOf(buckets: readonly BucketCredentials[]): (readonly [string, BucketCredentials])[] {
  const profiles = buckets.map((b) => [aliasOf(b, AWS_CREDENTIALS_PATH), b] as const);
  const only = buckets.length === 1 ? buckets[0] : undefined;
  if (only !== undefined && only.alias !== DEFAULT_PROFILE) profiles.push([DEFAULT_PROFILE, only]);
  return profiles;
}

/**
 * In the config file a profile is `[profile <name>]`, except `[default]`. The checksum settings go
 * before the `s3 =` block: a non-indented line after it would end the nested block anyway, but this
 * order keeps them visibly top-level, where botocore reads them (they are not s3 sub-settings).
 * SeaweedFS rejects the CRC checksums recent SDKs send by default, hence `when_required`.
 */
function configSection(b: BucketCredentials, name: string): IniSection {
  return {
    header: name === DEFAULT_PROFILE ? DEFAULT_PROFILE : `profile ${name}`,
    entries: [
      { key: 'region', value: awsValue(b, 'region', AWS_CONFIG_PATH) },
      { key: 'endpoint_url', value: awsValue(b, 'endpoint', AWS_CONFIG_PATH) },
      { key: 'request_checksum_calculation', value: 'when_required' },
      { key: 'response_checksum_validation', value: 'when_required' },
      { key: 's3', value: '' },
      { key: 'addressing_style', value: 'path', nested: true },
    ],
  };
}
