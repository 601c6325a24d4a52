/**
 * The strict fast path (src/argv/strict.ts) must read every command line it accepts exactly as
 * yargs does, and step aside for everything else. Checked on fixed cases and on thousands of
 * generated command lines and environments, each compared with yargs itself.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Options } from 'yargs';
import { parseStrict } from '../../src/argv/strict.js';
import { parseWithYargs } from '../../src/argv/yargs.js';
import { attachStdinDash } from '../../src/cli.js';
import { COMMANDS, type ParsedCommandLine } from '../../src/commands/index.js';
import { COMMON_OPTIONS, ENV_PREFIX } from '../../src/config/common.js';
import { seededRandom } from '../env/random.js';

const SETTINGS = { columns: 100, version: '0.0.0-test' };
const GRAMMAR = { commands: COMMANDS, common: COMMON_OPTIONS, envPrefix: ENV_PREFIX };

/** Both parsers get the command line as main() hands it over: `--flag -` already attached. */
function fast(argv: string[], env: NodeJS.ProcessEnv = {}): ParsedCommandLine | undefined {
  return parseStrict(GRAMMAR, attachStdinDash(argv), env);
}

/** yargs reads process.env: give it exactly `env` for the BUCKET_AGENT_* variables. */
async function viaYargs(argv: string[], env: NodeJS.ProcessEnv): Promise<ParsedCommandLine | undefined> {
  const saved = Object.keys(process.env).filter((k) => k.startsWith(`${ENV_PREFIX}_`));
  const restore = Object.fromEntries(saved.map((k) => [k, process.env[k]]));
  for (const k of saved) delete process.env[k];
  Object.assign(process.env, env);
  try {
    return await parseWithYargs(GRAMMAR, attachStdinDash(argv), SETTINGS);
  } finally {
    for (const k of Object.keys(env)) delete process.env[k];
    Object.assign(process.env, restore);
  }
}

function optionsOf(parsed: ParsedCommandLine): Record<string, Options> {
  return { ...COMMON_OPTIONS, ...parsed.command.options };
}

/** The option values yargs produced, by declared name (yargs adds camelCase copies, `_` and `$0`). */
function declared(parsed: ParsedCommandLine): Record<string, unknown> {
  const args = parsed.args as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(optionsOf(parsed))
      .filter((k) => args[k] !== undefined)
      .map((k) => [k, args[k]]),
  );
}

async function assertSameAsYargs(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<void> {
  const ours = fast(argv, env);
  assert.ok(ours !== undefined, `fast path declined ${JSON.stringify({ argv, env })}`);
  const theirs = await viaYargs(argv, env).catch((err: unknown) =>
    assert.fail(`yargs refused what the fast path took: ${JSON.stringify({ argv, env })}: ${String(err)}`),
  );
  assert.ok(theirs !== undefined, `yargs ran no command for ${JSON.stringify(argv)}`);
  assert.equal(ours.command, theirs.command);
  assert.deepEqual(ours.args, declared(theirs), JSON.stringify({ argv, env }));
}

describe('strict argv fast path', () => {
  const plain: [string, string[], NodeJS.ProcessEnv?][] = [
    [
      'the bench and init-container line',
      [
        'init',
        '--kubeconfig',
        '/k',
        '--namespace',
        'ns',
        '--bucket',
        'bench',
        '--no-verify',
        '--out',
        '/o',
        '--log-level',
        'warn',
        '--log-format',
        'json',
      ],
    ],
    ['the README example', ['render', '--secret-file', 'examples/bucket-backup-prod.yaml', '--out', './out']],
    ['stdin dash attached', ['render', '--secret-file=-', '--out', 'o', '--formats', 'aws,env', '--formats', 'mc']],
    [
      'everything from the environment',
      ['init'],
      { BUCKET_AGENT_BUCKET: 'a=b,c', BUCKET_AGENT_OUT: '/bucket', BUCKET_AGENT_VERIFY: 'false' },
    ],
    [
      'flags win over variables',
      ['init', '--bucket', 'x', '--out', '/o', '--verify'],
      { BUCKET_AGENT_VERIFY: 'false', BUCKET_AGENT_OUT: '/env' },
    ],
    ['last of --verify/--no-verify wins', ['init', '--bucket', 'x', '--out', '/o', '--no-verify', '--verify']],
    ['modes, ids and empty values', ['render', '--secret-file', 's', '--out', '', '--file-mode', '0400', '--uid', '1000', '--gid=0']],
  ];
  for (const [title, argv, env] of plain) {
    it(`takes ${title}, as yargs reads it`, () => assertSameAsYargs(argv, env));
  }

  const declined: [string, string[], NodeJS.ProcessEnv?][] = [
    ['no command', []],
    ['help', ['init', '--help']],
    ['-h', ['render', '-h']],
    ['version', ['--version']],
    ['an unknown command', ['rendr', '--out', 'o']],
    ['an unknown flag', ['render', '--secret-file', 's', '--out', 'o', '--outt', 'x']],
    ['a camelCase spelling', ['render', '--secret-file', 's', '--out', 'o', '--logLevel', 'warn']],
    ['a positional', ['render', '--secret-file', 's', 'extra', '--out', 'o']],
    ['a greedy array', ['init', '--bucket', 'a', 'b', '--out', 'o']],
    ['a single flag twice', ['render', '--secret-file', 's', '--out', 'o', '--out', 'p']],
    ['a bad choice', ['render', '--secret-file', 's', '--out', 'o', '--log-level', 'loud']],
    ['a missing required flag', ['init', '--bucket', 'x']],
    ['a value with a leading dash', ['render', '--secret-file', 's', '--out', '-o']],
    ['a boolean with a value', ['init', '--bucket', 'x', '--out', 'o', '--verify=false']],
    ['an unknown variable', ['init', '--bucket', 'x', '--out', 'o'], { BUCKET_AGENT_BUCKETS: 'y' }],
    ['a non-boolean boolean variable', ['init', '--bucket', 'x', '--out', 'o'], { BUCKET_AGENT_VERIFY: 'no' }],
    ['--', ['render', '--secret-file', 's', '--out', 'o', '--']],
  ];
  for (const [title, argv, env] of declined) {
    it(`leaves ${title} to yargs`, () => assert.equal(fast(argv, env ?? {}), undefined));
  }

  it('agrees with yargs on 1,200 generated command lines, and takes many of them', async (t) => {
    const random = seededRandom(20261125);
    let taken = 0;
    for (let i = 0; i < 1200; i++) {
      const { argv, env } = generate(random);
      if (fast(argv, env) === undefined) continue;
      taken++;
      await assertSameAsYargs(argv, env);
    }
    // The generator is tuned so that a good share is plain; a parser that declines everything would pass the rest.
    assert.ok(taken >= 240, `only ${taken} of 1200 taken`);
    t.diagnostic(`${taken} of 1200 taken by the fast path, all read as yargs reads them`);
  });
});

type Random = () => number;

function pick<T>(random: Random, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

const VALUES = [
  'a',
  'b=c',
  'a,b',
  '',
  '-',
  '-x',
  '0440',
  '1000',
  'true',
  'false',
  'with space',
  'json',
  'pretty',
  'info',
  'warn',
  'aws,env',
  'é',
  '=',
  '--x',
];

function generate(random: Random): { argv: string[]; env: NodeJS.ProcessEnv } {
  const command = random() < 0.95 ? pick(random, COMMANDS) : undefined;
  const options: Record<string, Options> = { ...COMMON_OPTIONS, ...(command?.options ?? {}) };
  const names = [...Object.keys(options), 'help', 'bogus', 'logLevel'];
  const argv = [command?.name ?? pick(random, ['', 'rendr', '--help'])];
  // Required flags first most of the time, so many lines are complete.
  for (const [name, option] of Object.entries(options))
    if (option.demandOption !== undefined && random() < 0.8) argv.push(`--${name}`, pick(random, ['a', 'b', '/o']));
  const count = Math.floor(random() * 5);
  for (let k = 0; k < count; k++) argv.push(...flag(random, pick(random, names), options));
  if (random() < 0.05) argv.push(pick(random, ['extra', '--', '-h']));
  const env: NodeJS.ProcessEnv = {};
  const variables = Math.floor(random() * 3);
  for (let k = 0; k < variables; k++) {
    const name = random() < 0.9 ? pick(random, Object.keys(options)) : 'bogus';
    env[`${ENV_PREFIX}_${name.toUpperCase().replaceAll('-', '_')}`] = pick(random, VALUES);
  }
  return { argv: argv.filter((a) => a !== ''), env };
}

function flag(random: Random, name: string, options: Record<string, Options>): string[] {
  const option = options[name];
  if (option?.type === 'boolean') return [pick(random, [`--${name}`, `--no-${name}`, `--${name}`, `--${name}=false`])];
  if (option?.choices !== undefined && random() < 0.7) return [`--${name}`, String(pick(random, option.choices as readonly unknown[]))];
  const value = pick(random, VALUES);
  return random() < 0.6 ? [`--${name}`, value] : [`--${name}=${value}`];
}
