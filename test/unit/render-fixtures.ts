import type { BucketCredentials } from '../../src/credentials/types.js';
import type { Format } from '../../src/render/types.js';

/** Shared by the render unit tests and the real-reader suite (test/clients). */

export const REAL_ACCESS_KEY = 'AKIAIOSFODNN7EXAMPLE';
export const REAL_SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
/** Base64 keys as SeaweedFS and MinIO generate them: `/`, `+` and `=` padding. */
export const BASE64_SECRET_KEY = 'q8+Zr/3vTj1O/xk+Wm9bYc2d0aPq/0n4Lz7eHf==';

export function bucket(alias: string, overrides: Partial<BucketCredentials> = {}): BucketCredentials {
  return {
    alias,
    bucketName: `bucket-${alias}-5f0c`,
    endpoint: { scheme: 'https', host: 's3.example.com', port: undefined, url: 'https://s3.example.com' },
    region: 'us-east-1',
    accessKeyId: REAL_ACCESS_KEY,
    secretAccessKey: REAL_SECRET_KEY,
    source: { layout: 'bucketinfo', name: `bucket-${alias}`, namespace: 'tenant-a', uid: 'uid-1', resourceVersion: '42' },
    ...overrides,
  };
}

export const HTTP_ENDPOINT = { scheme: 'http', host: '127.0.0.1', port: 8333, url: 'http://127.0.0.1:8333' } as const;

const ALL: readonly Format[] = ['aws', 'rclone', 'mc', 'env', 's3cmd', 'restic', 'velero', 'json'];
const INI_AWS: readonly Format[] = ['aws', 'velero'];
const SHELL: readonly Format[] = ['env', 'restic'];

export interface HostileValue {
  readonly name: string;
  readonly value: string;
  /** The formats whose renderer must refuse the value; every other format must carry it exactly. */
  readonly refusedBy: readonly Format[];
}

/**
 * Values a secret key may hold, each with the formats that cannot carry it. The real-reader suite
 * checks both halves: refused where listed, byte-exact through every real reader elsewhere.
 */
export const HOSTILE_VALUES: readonly HostileValue[] = [
  { name: 'real AWS example key', value: REAL_SECRET_KEY, refusedBy: [] },
  { name: 'base64 key', value: BASE64_SECRET_KEY, refusedBy: [] },
  { name: 'leading slashes', value: '//abc/def', refusedBy: [] },
  { name: 'plus and equals', value: 'a+b=c==', refusedBy: [] },
  { name: 'percent', value: '100%done%%', refusedBy: [] },
  { name: 'percent interpolation', value: 'x%(type)sy', refusedBy: ['rclone'] },
  { name: 'percent interpolation, other key', value: '%(secret)s', refusedBy: ['rclone'] },
  { name: 'hash', value: 'ab#cd#', refusedBy: [] },
  { name: 'leading hash', value: '#abc', refusedBy: INI_AWS },
  { name: 'space hash', value: 'ab #cd', refusedBy: INI_AWS },
  { name: 'no-break space hash', value: 'ab\u00a0#cd', refusedBy: INI_AWS },
  { name: 'semicolon', value: 'ab;cd;', refusedBy: [] },
  { name: 'leading semicolon', value: ';abc', refusedBy: INI_AWS },
  { name: 'space semicolon', value: 'ab ;cd', refusedBy: INI_AWS },
  { name: 'dollar', value: 'a$HOME', refusedBy: [] },
  { name: 'leading dollar', value: '$HOME', refusedBy: ['s3cmd'] },
  { name: 'dollar braces', value: 'a${HOME}b', refusedBy: [] },
  { name: 'double quote', value: 'a"b', refusedBy: [] },
  { name: 'wrapped in double quotes', value: '"abc"', refusedBy: INI_AWS },
  { name: 'triple double quotes', value: '"""abc"""', refusedBy: INI_AWS },
  { name: 'single quote', value: "it's", refusedBy: [] },
  { name: 'wrapped in single quotes', value: "'abc'", refusedBy: INI_AWS },
  { name: 'single quote and dollar', value: "it's$HOME", refusedBy: SHELL },
  { name: 'single and double quotes', value: `a'b"c`, refusedBy: SHELL },
  { name: 'backslash', value: 'a\\b', refusedBy: [] },
  { name: 'trailing backslash', value: 'ab\\', refusedBy: [] },
  { name: 'backslash n', value: 'a\\nb', refusedBy: INI_AWS },
  { name: 'backslash quote', value: 'a\\"b', refusedBy: INI_AWS },
  { name: 'single quote and backslash', value: "it\\'s", refusedBy: [...INI_AWS, ...SHELL] },
  { name: 'backtick', value: 'a`b', refusedBy: [] },
  { name: 'leading backtick', value: '`ab', refusedBy: [] },
  { name: 'wrapped in backticks', value: '`id`', refusedBy: [] },
  { name: 'command substitution', value: '$(id)', refusedBy: ['s3cmd'] },
  { name: 'exclamation marks', value: 'a!b!!', refusedBy: [] },
  { name: 'braces and brackets', value: '{a}[b]', refusedBy: [] },
  { name: 'leading bracket', value: ']abc[', refusedBy: [] },
  { name: 'colon and equals', value: 'a:b=c', refusedBy: [] },
  { name: 'inner spaces', value: 'a b  c', refusedBy: [] },
  { name: 'leading space', value: ' abc', refusedBy: [...INI_AWS, 's3cmd'] },
  { name: 'trailing space', value: 'abc ', refusedBy: [...INI_AWS, 's3cmd'] },
  { name: 'non-breaking space at the end', value: 'abc\u00a0', refusedBy: [...INI_AWS, 's3cmd'] },
  { name: 'non-ASCII', value: 'clé-ключ-鍵', refusedBy: [] },
  { name: 'inner line separator', value: 'a\u2028b', refusedBy: [] },
  { name: 'newline injection', value: 'abc\n[evil]\naws_access_key_id = x', refusedBy: ALL },
  { name: 'carriage return', value: 'abc\rdef', refusedBy: ALL },
  { name: 'NUL', value: 'abc\u0000def', refusedBy: ALL },
  { name: 'tab', value: 'a\tb', refusedBy: ALL },
  { name: 'DEL', value: 'a\u007fb', refusedBy: ALL },
  { name: 'empty', value: '', refusedBy: ALL },
];
