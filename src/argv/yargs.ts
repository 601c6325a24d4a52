/**
 * The full command-line parser: yargs, loaded only when the strict fast path (./strict.ts) steps
 * aside. It owns --help, --version, suggestions and every usage error message.
 */
import yargs, { type Argv } from 'yargs';
import type { Command, ParsedCommandLine } from '../commands/index.js';
import { EXIT_CODES_HELP } from '../commands/exit-codes.js';
import { UsageError } from '../errors.js';
import type { Grammar } from './strict.js';

export interface YargsSettings {
  /** Terminal width for --help; undefined when stdout is not a terminal. */
  readonly columns: number | undefined;
  readonly version: string;
}

/** Parses `argv` (program name and node stripped); undefined when yargs answered itself (--help, --version). */
export async function parseWithYargs(
  grammar: Grammar,
  argv: readonly string[],
  settings: YargsSettings,
): Promise<ParsedCommandLine | undefined> {
  let parsed: ParsedCommandLine | undefined;
  const parser = yargs([...argv])
    .scriptName('bucket-agent')
    .usage('$0 <command> [options]\n\nHands Cozystack/COSI bucket credentials to S3 tools as ready-to-use config files.')
    .env(grammar.envPrefix)
    .options(grammar.common);
  for (const command of grammar.commands) {
    parser.command({
      command: command.name,
      describe: command.describe,
      builder: (y: Argv) => withExamples(y.options(command.options), command.examples).epilog(EXIT_CODES_HELP),
      handler: (args: object) => {
        refuseRepeated(args as Record<string, unknown>, { ...grammar.common, ...command.options });
        parsed = { command, args };
      },
    });
  }
  await parser
    .demandCommand(1, 'give a command (see --help)')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(settings.version)
    .epilog(EXIT_CODES_HELP)
    .wrap(Math.min(110, settings.columns ?? 110))
    .exitProcess(false)
    .fail((message: string | null, err: Error | undefined) => {
      throw err ?? new UsageError(message ?? 'invalid command line');
    })
    .parseAsync();
  return parsed;
}

function withExamples(y: Argv, examples: Command['examples']): Argv {
  return examples.reduce((acc, [line, what]) => acc.example(line, what), y);
}

/** yargs makes a single-valued flag given twice an array; the commands expect one value. */
function refuseRepeated(args: Record<string, unknown>, options: Grammar['common']): void {
  for (const [name, option] of Object.entries(options)) {
    const value = args[name];
    if (option.array !== true && Array.isArray(value)) {
      throw new UsageError(`--${name} is given ${value.length} times; give it once`);
    }
  }
}
