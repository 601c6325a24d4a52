import type { BucketCredentials } from '../credentials/types.js';
import type { IniSection } from './ini.js';
import { EDGE_WHITESPACE_RULE, checkedValue, type CredentialField, type ValueRule } from './values.js';

/**
 * The AWS shared config/credentials dialect, used by aws/ and velero/. These files are read by
 * every AWS SDK, not only the aws CLI, so a value is written verbatim (there is no quoting that all
 * readers undo) and refused when a major reader would read it back differently:
 *
 * - botocore (aws CLI, boto3): configparser.RawConfigParser, no interpolation, no inline comment;
 *   the value is str.strip()ped.
 * - AWS SDK for JavaScript v3 (@smithy/shared-ini-file-loader parseIni): cuts the line at a `#` or
 *   `;` that starts it or follows whitespace (`/(^|\s)[;#]/`), then trims.
 * - AWS SDK for Go v2 (config/internal/ini, read by velero-plugin-for-aws >= 1.10): cuts at ` #`,
 *   ` ;`, tab-`#`, tab-`;` (the space after `=` included), TrimSpaces, and strips one pair of `"`
 *   or `'` around the value. Releases from its late-2023 parser rewrite also cut at any `#` and
 *   turned `\"`, `\'`, `\n` into quote and newline; the mid-word `#` is accepted (fixed within
 *   weeks, aws-sdk-go-v2 #2369), the escapes are refused (cheap: real keys never hold them).
 */
const AWS_RULES: readonly ValueRule[] = [
  EDGE_WHITESPACE_RULE,
  {
    matches: (v) => /(^|[\s\u0085])[#;]/u.test(v),
    problem: "has a '#' or ';' at its start or after whitespace, which the AWS SDKs for Go and JavaScript read as a comment",
  },
  {
    matches: (v) => /\\["'n]/.test(v),
    problem: "contains a backslash before a quote or 'n', which some AWS SDK for Go v2 releases unescape",
  },
  {
    matches: (v) => /^(["']).*\1$/su.test(v),
    problem: 'is wrapped in quotes, which the AWS SDK for Go strips',
  },
];

export function awsValue(b: BucketCredentials, field: CredentialField, file: string): string {
  return checkedValue(b, { field, file }, AWS_RULES);
}

/** `[header]` with the two keys, as aws/credentials and the Velero `cloud` file both need. */
export function credentialsSection(b: BucketCredentials, header: string, file: string): IniSection {
  return {
    header,
    entries: [
      { key: 'aws_access_key_id', value: awsValue(b, 'accessKeyId', file) },
      { key: 'aws_secret_access_key', value: awsValue(b, 'secretAccessKey', file) },
    ],
  };
}
