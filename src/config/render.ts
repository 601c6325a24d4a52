import type { Options } from 'yargs';
import { UsageError } from '../errors.js';
import type { LogOptions } from '../log.js';
import { FORMATS, type Format } from '../render/types.js';
import { parseFormatNames } from '../flags/formats.js';
// The layout module only: the writer itself (and node:fs) is not loaded to parse a command line.
import { DEFAULT_FILE_MODE } from '../files/layout.js';
import { logOptionsFrom, parseId, parseList, parseMode, type CommonArgs } from './common.js';

/** Options shared by every command that writes files (render now; init and sidecar later). */
export const OUTPUT_OPTIONS = {
  out: { type: 'string', demandOption: true, describe: 'Output directory (created if missing)' },
  formats: { type: 'string', array: true, describe: `Formats to write, comma-separated (default: all of ${FORMATS.join(',')})` },
  'file-mode': {
    type: 'string',
    default: '0' + DEFAULT_FILE_MODE.toString(8),
    describe: 'Mode of written files; directories get x where files get r',
  },
  uid: { type: 'string', describe: 'Owner uid of written files (needs root or CAP_CHOWN)' },
  gid: { type: 'string', describe: 'Owner gid of written files (needs root or CAP_CHOWN)' },
} as const satisfies Record<string, Options>;

export const RENDER_OPTIONS = {
  'secret-file': { type: 'string', array: true, describe: 'Secret manifest (kubectl get secret -o yaml|json), - for stdin; repeatable' },
  'bucketinfo-file': { type: 'string', array: true, describe: 'Raw BucketInfo JSON, - for stdin; needs --alias; repeatable' },
  alias: {
    type: 'string',
    array: true,
    describe: 'Alias per input, in order: every --secret-file, then every --bucketinfo-file (default for a Secret: its bucket-<name>)',
  },
  ...OUTPUT_OPTIONS,
} as const satisfies Record<string, Options>;

export interface OutputConfig {
  readonly out: string;
  readonly formats: readonly Format[];
  readonly fileMode: number;
  readonly dirMode: number;
  readonly uid: number | undefined;
  readonly gid: number | undefined;
}

export interface RenderInput {
  readonly kind: 'secret' | 'bucketinfo';
  /** A path, or `-` for stdin. */
  readonly path: string;
  readonly alias: string | undefined;
}

export interface RenderConfig {
  readonly inputs: readonly RenderInput[];
  readonly output: OutputConfig;
  readonly log: LogOptions;
}

export interface OutputArgs {
  readonly out: string;
  readonly formats?: readonly string[];
  readonly 'file-mode': string;
  readonly uid?: string;
  readonly gid?: string;
}

export interface RenderArgs extends CommonArgs, OutputArgs {
  readonly 'secret-file'?: readonly string[];
  readonly 'bucketinfo-file'?: readonly string[];
  readonly alias?: readonly string[];
}

export function renderConfigFrom(args: RenderArgs, stderrIsTTY: boolean): RenderConfig {
  return Object.freeze({ inputs: inputsFrom(args), output: outputConfigFrom(args), log: logOptionsFrom(args, stderrIsTTY) });
}

export function outputConfigFrom(args: OutputArgs): OutputConfig {
  const fileMode = parseMode(args['file-mode'], 'file-mode');
  return Object.freeze({
    out: args.out,
    formats: parseFormats(args.formats),
    fileMode,
    // r -> r+x so a reader who may read the files may also enter the directories.
    dirMode: fileMode | ((fileMode & 0o444) >> 2),
    uid: parseId(args.uid, 'uid'),
    gid: parseId(args.gid, 'gid'),
  });
}

function parseFormats(value: readonly string[] | undefined): Format[] {
  return parseFormatNames(parseList(value), (problem) => {
    throw new UsageError(`--formats: ${problem}`);
  });
}

function inputsFrom(args: RenderArgs): RenderInput[] {
  const files = [
    ...(args['secret-file'] ?? []).map((path) => ({ kind: 'secret' as const, path })),
    ...(args['bucketinfo-file'] ?? []).map((path) => ({ kind: 'bucketinfo' as const, path })),
  ];
  if (files.length === 0) throw new UsageError('give at least one --secret-file or --bucketinfo-file');
  if (files.filter((f) => f.path === '-').length > 1) throw new UsageError('only one input can be read from stdin (-)');
  const aliases = args.alias ?? [];
  if (aliases.length > 0 && aliases.length !== files.length) {
    throw new UsageError(`--alias given ${aliases.length} time(s) for ${files.length} input(s): give one per input, or none`);
  }
  return files.map((file, i) => {
    const alias = aliases[i];
    if (file.kind === 'bucketinfo' && alias === undefined)
      throw new UsageError(`--bucketinfo-file ${file.path} needs --alias (a BucketInfo does not carry the Bucket's name)`);
    return { ...file, alias };
  });
}
