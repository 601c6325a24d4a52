import type { BucketCredentials } from '../credentials/types.js';
import { renderIni, type IniSection } from './ini.js';
import type { RenderedFile } from './types.js';
import { aliasOf, checkedValue, hasEdgeWhitespace, type CredentialField, type ValueRule } from './values.js';

export const RCLONE_PATH = 'rclone/rclone.conf';

/**
 * SeaweedFS is Cozystack's S3 backend and an rclone provider since v1.57 (Debian 12 ships 1.60).
 * Its quirks in backend/s3 setQuirks are those of `Other` — path style, ListObjects v1, no
 * URL-encoded listings — but naming the real server lets future rclone releases tune for it.
 */
export const RCLONE_PROVIDER = 'SeaweedFS';

/**
 * rclone reads its config with goconfig. GetValue replaces `%(name)s` with another key's value
 * (conf.go varPattern), up to 200 times, and has no escape for it: such a value is refused.
 */
const RCLONE_RULES: readonly ValueRule[] = [
  { matches: (v) => /%\([^)]+\)s/.test(v), problem: "contains '%(name)s', which rclone's config parser replaces by another key's value" },
];

/**
 * goconfig (read.go) trims an unquoted value with strings.TrimSpace and treats a value that starts
 * with a backtick, or with `"""`, as quoted: it takes what lies between the opening quote and the
 * LAST closing one. Wrapping in backticks therefore carries anything, inner backticks and edge
 * whitespace included; it is used only when needed, so ordinary keys stay readable.
 */
function rcloneValue(b: BucketCredentials, field: CredentialField): string {
  const value = checkedValue(b, { field, file: RCLONE_PATH }, RCLONE_RULES);
  return needsBackticks(value) ? `\`${value}\`` : value;
}

function needsBackticks(value: string): boolean {
  return /^[`"']/.test(value) || hasEdgeWhitespace(value);
}

/** rclone/rclone.conf: one remote per bucket, named by its alias. force_path_style defaults to true. */
export function renderRclone(buckets: readonly BucketCredentials[]): RenderedFile[] {
  if (buckets.length === 0) return [];
  return [{ path: RCLONE_PATH, content: renderIni(buckets.map(remoteSection)) }];
}

function remoteSection(b: BucketCredentials): IniSection {
  return {
    header: aliasOf(b, RCLONE_PATH),
    entries: [
      { key: 'type', value: 's3' },
      { key: 'provider', value: RCLONE_PROVIDER },
      { key: 'endpoint', value: rcloneValue(b, 'endpoint') },
      { key: 'region', value: rcloneValue(b, 'region') },
      { key: 'env_auth', value: 'false' },
      { key: 'access_key_id', value: rcloneValue(b, 'accessKeyId') },
      { key: 'secret_access_key', value: rcloneValue(b, 'secretAccessKey') },
      // The platform creates the bucket; keys scoped to it may not call CreateBucket, which
      // rclone otherwise tries before the first upload.
      { key: 'no_check_bucket', value: 'true' },
    ],
  };
}
