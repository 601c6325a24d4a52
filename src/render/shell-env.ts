import type { BucketCredentials } from '../credentials/types.js';
import { checkedText, checkedValue, type CredentialField, type ValueRule } from './values.js';

/**
 * The .env dialect of env/ and restic/: `NAME='value'` lines that POSIX sh (dash, bash) sourcing
 * the file and npm dotenv (both its regex parser and its `fast` scanner) read back identically.
 *
 * - Single quotes: sh takes everything up to the next `'` literally; dotenv takes the text between
 *   the quotes as is (no escapes, `#` kept). Used for every value without a `'`.
 * - Double quotes, for a value with a `'`: sh expands `$`, `` ` `` and `\`, and dotenv does not
 *   unescape `\"` but turns `\n`/`\r` into newline/CR. Without `"`, `$`, `` ` `` and `\` in the
 *   value, both read it verbatim.
 * - A `'` together with one of those has no common form (sh's `'\''` is not dotenv syntax): refused.
 *
 * Edge whitespace is kept inside quotes by both, so it is carried.
 */
const SHELL_ENV_RULES: readonly ValueRule[] = [
  {
    matches: (v) => v.includes("'") && /["$`\\]/.test(v),
    problem: 'contains a single quote together with one of " $ ` \\, which no quoting makes sh and dotenv read the same',
  },
];

export interface EnvLine {
  readonly name: string;
  /** The credential field the value comes from, named when the value is refused. */
  readonly field: CredentialField;
  /** A value derived from the field (a host, a URL); the field's own value when absent. */
  readonly value?: string;
}

export function renderShellEnv(b: BucketCredentials, file: string, lines: readonly EnvLine[]): string {
  return lines.map((line) => `${line.name}=${quote(valueOf(b, file, line))}\n`).join('');
}

function valueOf(b: BucketCredentials, file: string, line: EnvLine): string {
  const place = { field: line.field, file };
  return line.value === undefined ? checkedValue(b, place, SHELL_ENV_RULES) : checkedText(b, place, line.value, SHELL_ENV_RULES);
}

function quote(value: string): string {
  return value.includes("'") ? `"${value}"` : `'${value}'`;
}
