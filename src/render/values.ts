import { describeSecret } from '../credentials/secret.js';
import type { BucketCredentials } from '../credentials/types.js';
import { isDns1123Label } from '../credentials/values.js';
import { CredentialsError } from '../errors.js';

/**
 * What every renderer shares: which credential field a value comes from, the error that refuses a
 * value, and the character classes the readers treat specially. Messages name the source, the
 * field and the output file, never the value (it may be a secret key).
 */

/** The BucketCredentials fields that reach output files; errors name them. */
export type CredentialField = 'alias' | 'bucketName' | 'endpoint' | 'region' | 'accessKeyId' | 'secretAccessKey';

/** A format's reason to refuse a value: `problem` completes "cannot be written to FILE: ...". */
export interface ValueRule {
  readonly matches: (value: string) => boolean;
  readonly problem: string;
}

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/**
 * Whitespace that some reader strips from the ends of a value: JavaScript's `\s`, plus U+0085 (NEL),
 * which Python's str.strip() and Go's strings.TrimSpace also strip. (Python also strips
 * U+001C-U+001F, control characters that COMMON_RULES refuse anyway.)
 */
const EDGE_WHITESPACE = /^[\s\u0085]|[\s\u0085]$/u;

/**
 * Refused by every format, whatever its quoting: the parser already rejects them, and a renderer
 * must not rely on that, since a newline would let a value inject lines (a second profile, an
 * `export`) into a file.
 */
export const COMMON_RULES: readonly ValueRule[] = [
  { matches: (v) => v === '', problem: 'is empty' },
  { matches: (v) => CONTROL_CHARACTER.test(v), problem: 'contains a control character (newline, CR, NUL, ...)' },
];

/** For readers that trim values (every INI reader): the one rule where the problem is generic. */
export const EDGE_WHITESPACE_RULE: ValueRule = {
  matches: (v) => hasEdgeWhitespace(v),
  problem: 'starts or ends with whitespace, which the reader strips',
};

export function hasEdgeWhitespace(value: string): boolean {
  return EDGE_WHITESPACE.test(value);
}

/** `secret <namespace>/<name>`, the source named in every render error. */
export function describeSource(b: BucketCredentials): string {
  return describeSecret(b.source.name, b.source.namespace);
}

export function fieldValue(b: BucketCredentials, field: CredentialField): string {
  return field === 'endpoint' ? b.endpoint.url : b[field];
}

/** The alias, checked again because it becomes a file name, a section header and a JSON key. */
export function aliasOf(b: BucketCredentials, file: string): string {
  if (!isDns1123Label(b.alias)) refuse(b, 'alias', file, 'is not a DNS-1123 label');
  return b.alias;
}

export function refuse(b: BucketCredentials, field: CredentialField, file: string, problem: string): never {
  throw new CredentialsError(describeSource(b), field, `cannot be written to ${file}: ${problem}`);
}

/** Where a value goes: the field it comes from (named in errors) and the output file. */
export interface Place {
  readonly field: CredentialField;
  readonly file: string;
}

/** The field's value after COMMON_RULES and `rules`; throws CredentialsError on the first match. */
export function checkedValue(b: BucketCredentials, place: Place, rules: readonly ValueRule[]): string {
  return checkedText(b, place, fieldValue(b, place.field), rules);
}

/** Like checkedValue, for a value derived from the field (a host, a URL built from it). */
export function checkedText(b: BucketCredentials, place: Place, value: string, rules: readonly ValueRule[]): string {
  for (const rule of [...COMMON_RULES, ...rules]) {
    if (rule.matches(value)) refuse(b, place.field, place.file, rule.problem);
  }
  return value;
}
