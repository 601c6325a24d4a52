import { readFileSync } from 'node:fs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { initCommand } from './commands/init.js';
import { renderCommand } from './commands/render.js';
import type { CommandContext } from './commands/context.js';
import { EXIT_CODES_HELP } from './commands/exit-codes.js';
import { COMMON_OPTIONS, ENV_PREFIX } from './config/common.js';
import { BucketAgentError, EXIT, UsageError, type ExitCode } from './errors.js';
import type { LogOptions, Logger } from './log.js';


export interface MainIO {
  readonly argv: readonly string[];
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Runs one command line and returns the exit code; the only place that decides it. */
export async function main(io: MainIO): Promise<ExitCode> {
  let logger: Logger | undefined;
  const ctx: CommandContext = {
    stdin: io.stdin,
    stderrIsTTY: io.stderr.isTTY === true,
    print: (line) => io.stdout.write(`${line}\n`),
    logger: async (options: LogOptions) => {
      const { createLogger } = await import('./log.js');
      logger = await createLogger(options);
      return logger;
    },
  };
  try {
    await buildParser(io, ctx).parseAsync();
    return EXIT.ok;
  } catch (err) {
    return report(err, io, logger);
  }
}

function buildParser(io: MainIO, ctx: CommandContext): ReturnType<typeof yargs> {
  return yargs(attachStdinDash(io.argv))
    .scriptName('bucket-agent')
    .usage('$0 <command> [options]\n\nHands Cozystack/COSI bucket credentials to S3 tools as ready-to-use config files.')
    .env(ENV_PREFIX)
    .options(COMMON_OPTIONS)
    .command(renderCommand(ctx))
    .command(initCommand(ctx))
    .demandCommand(1, 'give a command (see --help)')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(packageVersion())
    .epilog(EXIT_CODES_HELP)
    .wrap(Math.min(110, process.stdout.columns || 110))
    .exitProcess(false)
    .fail((message: string | null, err: Error | undefined) => {
      throw err ?? new UsageError(message ?? 'invalid command line');
    });
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
    else io.stderr.write(`bucket-agent: ${err.message}${err.exitCode === EXIT.usage ? ' (see --help)' : ''}\n`);
    return err.exitCode;
  }
  // Not raised on purpose: say so, without dumping objects that might hold Secret data.
  const message = err instanceof Error ? `${err.name}: ${err.message}` : 'unknown error';
  if (logger !== undefined) logger.error({ code: 'E_INTERNAL' }, `internal error: ${message}`);
  else io.stderr.write(`bucket-agent: internal error: ${message}\n`);
  return EXIT.internal;
}

function packageVersion(): string {
  // dist/src/cli.js -> package.json at the package root.
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
  process.exitCode = await main({ argv: hideBin(process.argv), stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
}
