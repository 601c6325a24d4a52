import type { Options } from 'yargs';
import type { CommandContext } from './context.js';

/**
 * One subcommand, declared once as data. Both argv parsers read it: the strict fast path
 * (src/argv/strict.ts) and yargs (src/argv/yargs.ts), which also builds --help from it.
 */
export interface Command<A extends object = object> {
  readonly name: string;
  readonly describe: string;
  /** yargs option declarations; only `import type` here, so declaring them loads nothing. */
  readonly options: Readonly<Record<string, Options>>;
  /** `[command line, what it does]`; `$0` is the program name. */
  readonly examples: readonly (readonly [string, string])[];
  /** Runs with arguments already checked against `options` (types, choices, required flags). */
  run(args: A, ctx: CommandContext): Promise<void>;
}

/** What a parser made of the command line: the command and its arguments by option name. */
export interface ParsedCommandLine {
  readonly command: Command;
  readonly args: object;
}
