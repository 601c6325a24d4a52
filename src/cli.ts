import { readFileSync } from 'node:fs';
import { parseStrict, type Grammar } from './argv/strict.js';
import { COMMANDS, type ParsedCommandLine } from './commands/index.js';
import type { CommandContext } from './commands/context.js';
import { COMMON_OPTIONS, ENV_PREFIX, processEnv } from './config/common.js';
import { BucketAgentError, EXIT, type ExitCode } from './errors.js';
import type { LogOptions, Logger } from './log.js';
import { redactSecrets } from './redact.js';

export interface MainIO {
  readonly argv: readonly string[];
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream & { columns?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

const GRAMMAR: Grammar = { commands: COMMANDS, common: COMMON_OPTIONS, envPrefix: ENV_PREFIX };

/** Runs one command line and returns the exit code; the only place that decides it. */
export async function main(io: MainIO): Promise<ExitCode> {
  let logger: Logger | undefined;
  const ctx: CommandContext = {
    get stdin() {
      return io.stdin;
    },
    stderrIsTTY: io.stderr.isTTY === true,
    // Paths are named by aliases, which are names; but a name may have been chosen equal to a key.
    print: (line) => io.stdout.write(redactSecrets(`${line}\n`)),
    logger: async (options: LogOptions) => {
      const { createLogger } = await import('./log.js');
      logger = await createLogger(options);
      return logger;
    },
  };
  try {
    const parsed = await parseCommandLine(attachStdinDash(io.argv), io);
    if (parsed !== undefined) await parsed.command.run(parsed.args, ctx);
    return EXIT.ok;
  } catch (err) {
    return report(err, io, logger);
  }
}

/**
 * A plain command line takes the strict fast path; anything else (help, mistakes, unusual
 * spellings) goes to yargs, loaded only then. Undefined: yargs answered (--help, --version).
 */
async function parseCommandLine(argv: readonly string[], io: MainIO): Promise<ParsedCommandLine | undefined> {
  const fast = parseStrict(GRAMMAR, argv, processEnv());
  if (fast !== undefined) return fast;
  const { parseWithYargs } = await import('./argv/yargs.js');
  return parseWithYargs(GRAMMAR, argv, { columns: io.stdout.columns, version: packageVersion() });
}

/**
 * yargs-parser never takes a lone `-` as a flag's value (it reads it as a stray positional), so
 * `--secret-file -` would be rejected; `--secret-file=-` is what it understands.
 */
export function attachStdinDash(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (const arg of argv) {
    const previous = out.at(-1);
    if (arg === '-' && previous !== undefined && /^--[^=]+$/.test(previous)) out[out.length - 1] = `${previous}=-`;
    else out.push(arg);
  }
  return out;
}

function report(err: unknown, io: MainIO, logger: Logger | undefined): ExitCode {
  if (err instanceof BucketAgentError) {
    if (logger !== undefined) logger.error({ code: err.code, exitCode: err.exitCode }, err.message);
    else io.stderr.write(redactSecrets(`bucket-agent: ${err.message}${err.exitCode === EXIT.usage ? ' (see --help)' : ''}\n`));
    return err.exitCode;
  }
  // Not raised on purpose: say so, without dumping objects that might hold Secret data.
  const message = err instanceof Error ? `${err.name}: ${err.message}` : 'unknown error';
  if (logger !== undefined) logger.error({ code: 'E_INTERNAL' }, `internal error: ${message}`);
  else io.stderr.write(redactSecrets(`bucket-agent: internal error: ${message}\n`));
  return EXIT.internal;
}

function packageVersion(): string {
  // dist/src/cli.js, or the bundle's chunk in dist/bundle/: package.json is at ../../ from both.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Entry point of the `bucket-agent` binary (src/bin.ts): runs `main` on this process and sets its exit code. */
export async function run(): Promise<void> {
  // A reader that stops early (`render ... | head -1`) closes stdout: the work is done, so the
  // EPIPE is not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  // process.stdin is created on first read of the property (~1.4 ms): only `- for stdin` needs it.
  const io: MainIO = {
    argv: process.argv.slice(2),
    get stdin() {
      return process.stdin;
    },
    stdout: process.stdout,
    stderr: process.stderr,
  };
  process.exitCode = await main(io);
}
