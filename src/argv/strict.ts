/**
 * The start-up fast path: a strict parse of a plain command line (`init --bucket x --out /b`) with
 * node:util's parseArgs, so the everyday run never loads yargs (~40 ms of module loading, as much
 * as the rest of an init container's own start). It accepts only command lines it reads exactly as yargs does
 * (test/unit/argv.test.ts compares the two on generated command lines); anything else returns
 * undefined and goes to yargs (./yargs.ts), which owns --help, --version and every usage message:
 *
 * - no command, an unknown command, positional arguments, short flags, `--`;
 * - unknown flags (incl. camelCase spellings), a single-valued flag given twice, `--flag=value` on a
 *   boolean, a flag value that starts with `-` unless attached with `=`, an empty list item;
 * - a value outside `choices`, a missing required flag, an unknown or non-boolean BUCKET_AGENT_*
 *   variable.
 */
import { parseArgs } from 'node:util';
import type { Options } from 'yargs';
import type { Command, ParsedCommandLine } from '../commands/index.js';

type Value = string | boolean | string[];
type OptionTable = Readonly<Record<string, Options>>;
type ParseArgsOptions = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

/** What a command line may hold: the commands, the options all of them take, the variable prefix. */
export interface Grammar {
  readonly commands: readonly Command[];
  readonly common: OptionTable;
  /** `<envPrefix>_<FLAG>` variables set flags (flags win over variables, variables over defaults). */
  readonly envPrefix: string;
}

/** `argv` without node and the script; undefined when yargs should read it. */
export function parseStrict(grammar: Grammar, argv: readonly string[], env: NodeJS.ProcessEnv): ParsedCommandLine | undefined {
  const [name, ...rest] = argv;
  const command = grammar.commands.find((c) => c.name === name);
  if (command === undefined) return undefined;
  const options = { ...grammar.common, ...command.options };
  const given = fromArgv(options, rest);
  const fromVariables = given === undefined ? undefined : fromEnv(options, env, grammar.envPrefix);
  if (given === undefined || fromVariables === undefined) return undefined;
  const args: Record<string, Value> = {};
  for (const [key, option] of Object.entries(options)) {
    const value = given.get(key) ?? fromVariables.get(key) ?? defaultOf(option);
    if (!acceptable(value, option)) return undefined;
    if (value !== undefined) args[key] = value;
  }
  return { command, args };
}

/** The flags given, by option name; undefined for anything yargs should see. */
function fromArgv(options: OptionTable, argv: readonly string[]): Map<string, Value> | undefined {
  const config = parseArgsConfig(options);
  if (config === undefined) return undefined;
  let tokens;
  try {
    ({ tokens } = parseArgs({ args: [...argv], options: config, strict: true, allowPositionals: false, tokens: true }));
  } catch {
    return undefined;
  }
  const given = new Map<string, Value>();
  for (const token of tokens) {
    if (token.kind !== 'option' || !take(given, options, token.name, token.value)) return undefined;
  }
  return given;
}

/** Records one flag; false when yargs would read it differently (a repeated single-valued flag, an empty list item). */
function take(given: Map<string, Value>, options: OptionTable, name: string, value: string | undefined): boolean {
  const option = options[name];
  if (option === undefined) {
    // Only `--no-<boolean>` is declared besides the options themselves.
    given.set(name.slice('no-'.length), false);
    return true;
  }
  if (option.type === 'boolean') {
    given.set(name, true);
    return true;
  }
  const previous = given.get(name);
  if (!option.array) {
    given.set(name, value ?? '');
    return previous === undefined;
  }
  // yargs drops a lone empty item (`--formats=` -> []) but keeps it among others: leave both to it.
  given.set(name, [...(Array.isArray(previous) ? previous : []), value ?? '']);
  return value !== undefined && value !== '';
}

/** parseArgs' view of the options, or undefined if one has a type this parser does not handle. */
function parseArgsConfig(options: OptionTable): ParseArgsOptions | undefined {
  const config: NonNullable<ParseArgsOptions> = {};
  for (const [name, option] of Object.entries(options)) {
    if (option.default !== undefined && defaultOf(option) === undefined) return undefined;
    if (option.type === 'boolean' && option.array !== true) {
      config[name] = { type: 'boolean' };
      config[`no-${name}`] = { type: 'boolean' };
    } else if (option.type === 'string') {
      config[name] = { type: 'string', multiple: option.array === true };
    } else {
      return undefined;
    }
  }
  return config;
}

/** `<PREFIX>_<FLAG>` variables, by option name; undefined when one is unknown or not a clean boolean. */
function fromEnv(options: OptionTable, env: NodeJS.ProcessEnv, prefix: string): Map<string, Value> | undefined {
  const byVariable = new Map(Object.keys(options).map((name) => [`${prefix}_${name.toUpperCase().replaceAll('-', '_')}`, name]));
  const values = new Map<string, Value>();
  for (const [variable, text] of Object.entries(env)) {
    if (!variable.startsWith(`${prefix}_`) || text === undefined) continue;
    const name = byVariable.get(variable);
    const option = name === undefined ? undefined : options[name];
    if (name === undefined || option === undefined) return undefined;
    const value = envValue(option, text);
    if (value === undefined) return undefined;
    values.set(name, value);
  }
  return values;
}

function envValue(option: Options, text: string): Value | undefined {
  if (option.type === 'boolean') return text === 'true' ? true : text === 'false' ? false : undefined;
  return option.array === true ? [text] : text;
}

function defaultOf(option: Options): Value | undefined {
  const value: unknown = option.default;
  if (Array.isArray(value)) return value.map(String);
  return typeof value === 'string' || typeof value === 'boolean' ? value : undefined;
}

/** Present if required, and one of the choices if there are any. */
function acceptable(value: Value | undefined, option: Options): boolean {
  if (value === undefined) return option.demandOption === undefined || option.demandOption === false;
  if (option.choices === undefined) return true;
  const choices: readonly unknown[] = Array.isArray(option.choices) ? option.choices : [option.choices];
  return (Array.isArray(value) ? value : [value]).every((item) => choices.includes(item));
}
