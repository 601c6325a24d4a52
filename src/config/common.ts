import type { LevelWithSilent } from 'pino';
import type { Options } from 'yargs';
import { UsageError } from '../errors.js';
import type { LogOptions } from '../log.js';

/**
 * Every flag can also be set as BUCKET_AGENT_<FLAG> (`--file-mode` -> BUCKET_AGENT_FILE_MODE).
 * yargs reads the environment for them (cli.ts), so flags and variables are declared once, here.
 */
export const ENV_PREFIX = 'BUCKET_AGENT';

/** pino's levels. Declared here, not in log.ts, so that parsing a command line does not load pino. */
export const LOG_LEVELS: readonly LevelWithSilent[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Options every command takes. */
export const COMMON_OPTIONS = {
  'log-level': { type: 'string', choices: LOG_LEVELS, default: 'info', describe: 'Log level (logs go to stderr)' },
  'log-format': {
    type: 'string',
    choices: ['auto', 'json', 'pretty'],
    default: 'auto',
    describe: 'JSON lines, or human-readable; auto = pretty on a terminal',
  },
} as const satisfies Record<string, Options>;

export interface CommonArgs {
  readonly 'log-level': string;
  readonly 'log-format': string;
}

export function logOptionsFrom(args: CommonArgs, stderrIsTTY: boolean): LogOptions {
  const level = LOG_LEVELS.find((l) => l === args['log-level']) ?? 'info';
  const pretty = args['log-format'] === 'pretty' || (args['log-format'] === 'auto' && stderrIsTTY);
  return { level, pretty };
}

/** `0440`, `440` or `0o440` -> 0o440; anything else, or bits outside 0777, is a usage error. */
export function parseMode(text: string, flag: string): number {
  const match = /^(?:0o?)?([0-7]{3})$/.exec(text.trim());
  if (match?.[1] === undefined) throw new UsageError(`--${flag}: "${text}" is not an octal file mode like 0440`);
  return parseInt(match[1], 8);
}

/** A numeric uid/gid, or undefined when not given. */
export function parseId(value: unknown, flag: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value : '?';
  if (!/^\d{1,10}$/.test(text) || Number(text) > 0xfffffffe) throw new UsageError(`--${flag}: "${text}" is not a numeric id`);
  return Number(text);
}

/** A list flag given repeatedly and/or comma-separated (`--formats aws,env --formats mc`). */
export function parseList(value: unknown): string[] {
  const items = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return items
    .flatMap((item) => String(item).split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** The process environment: read here so the rest of src/ reads it through config (eslint rule). */
export function processEnv(): NodeJS.ProcessEnv {
  return process.env;
}
