/**
 * The README's quick start, followed as a new user would: the commands of its marked block are
 * read from README.md itself, and the first one (install, build, render the bundled example, list
 * the result) runs word for word in a fresh copy of the repository: the working tree's files
 * without dist/, out/ or node_modules, so `npm ci` installs the dependencies (from npm's cache:
 * offline, as a machine that already ran it once would) and `npm run build` builds from scratch.
 * Every file the README says it writes must be there. The other two commands take minutes to
 * hours (`bash .ci/run`, `npm run demo`), so only what they run is checked to exist.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { assertNoSecrets, rememberKeys } from '../e2e/cli-runs.js';
import { REPO_ROOT } from '../env/tools.js';

const run = promisify(execFile);

/** The marker in README.md right above the block of commands this test follows. */
const MARKER = '<!-- readme-test: quick-start';
/** Generous: a cold `npm ci` and a build on a loaded 2-core machine. Never a timed assertion. */
const COMMAND_TIMEOUT_MS = 20 * 60 * 1000;

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

/** The command lines of the first ```sh block after the marker (comments and blank lines dropped). */
export function quickStartCommands(readme: string): string[] {
  const at = readme.indexOf(MARKER);
  assert.ok(at >= 0, `README.md has no ${MARKER} marker`);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at))?.[1];
  assert.ok(block !== undefined, 'no ```sh block after the quick-start marker');
  return block
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** The output files the README says the first command writes: the backticked paths after "writes". */
function promisedFiles(readme: string): string[] {
  const sentence = /The first command writes ([\s\S]*?) under `\.\/out`/.exec(readme)?.[1];
  assert.ok(sentence !== undefined, 'README.md no longer says what the first command writes');
  return [...sentence.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
}

/** The working tree as a fresh checkout has it: tracked and new files, not what builds or installs make. */
async function freshCopy(): Promise<string> {
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO_ROOT });
  const dir = mkdtempSync(join(tmpdir(), 'bucket-agent-readme-'));
  const skip = /^(node_modules|dist|out)(\/|$)/;
  for (const path of stdout.split('\0').filter((p) => p !== '' && !skip.test(p))) {
    const from = join(REPO_ROOT, path);
    if (!existsSync(from) || !statSync(from).isFile()) continue; // deleted in the working tree, or a symlink to a dir
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    copyFileSync(from, join(dir, path));
  }
  return dir;
}

/** The example's keys, so that no output of the quick start may show them. */
function rememberExampleKeys(): void {
  const secret = readFileSync(join(REPO_ROOT, 'examples/bucket-backup-prod.yaml'), 'utf8');
  const blob = /BucketInfo: (\S+)/.exec(secret)?.[1] ?? '';
  const info = JSON.parse(Buffer.from(blob, 'base64').toString('utf8')) as {
    spec: { secretS3: { accessKeyID: string; accessSecretKey: string } };
  };
  rememberKeys({ accessKeyId: info.spec.secretS3.accessKeyID, secretAccessKey: info.spec.secretS3.accessSecretKey });
}

describe('the README quick start', () => {
  const commands = quickStartCommands(README);
  let copy = '';

  before(async () => {
    copy = await freshCopy();
  });
  after(() => {
    if (copy !== '') rmSync(copy, { recursive: true, force: true });
  });

  it('has the three commands: render the example, run every test, the demo', () => {
    assert.equal(commands.length, 3, commands.join('\n'));
    assert.match(commands[0] ?? '', /^npm ci && npm run build && node dist\/src\/bin\.js render .* --out \.\/out/);
    assert.deepEqual(commands.slice(1), ['bash .ci/run', 'npm run demo']);
  });

  it('`bash .ci/run` and `npm run demo` run things that exist', () => {
    assert.ok(readFileSync(join(REPO_ROOT, '.ci/run'), 'utf8').startsWith('#!/usr/bin/env bash'), '.ci/run is a bash script');
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const demo = pkg.scripts.demo;
    assert.ok(demo !== undefined, 'package.json has no demo script');
    // `node dist/scripts/demo.js` is tsc's output of scripts/demo.ts.
    for (const [, built] of demo.matchAll(/node dist\/(\S+)\.js/g)) {
      assert.ok(
        existsSync(join(REPO_ROOT, `${built}.ts`)),
        `npm run demo runs dist/${built}.js, but there is no ${built}.ts to build it from`,
      );
    }
    assert.match(demo, /npm run build/, 'npm run demo builds first, as the README promises of a fresh checkout');
  });

  it('the first command, run word for word in a fresh copy, writes every file the README names', async () => {
    rememberExampleKeys();
    const command = commands[0] ?? '';
    const env = { ...process.env, npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false' };
    const { stdout, stderr } = await run('bash', ['-c', command], {
      cwd: copy,
      env,
      timeout: COMMAND_TIMEOUT_MS,
      maxBuffer: 64 * 1024 * 1024,
    }).catch((err: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`the README's first command failed in ${copy}: ${err.message}\n${err.stderr ?? ''}`.slice(0, 8000));
    });
    const files = promisedFiles(README);
    assert.ok(files.length >= 9, `README names only ${files.join(', ')}`);
    for (const file of files) {
      const path = join(copy, 'out', file);
      assert.ok(existsSync(path) && statSync(path).isFile() && statSync(path).size > 0, `out/${file} was not written`);
      assert.ok(stdout.includes(file.split('/').at(-1) ?? file), `ls -lLR out does not list ${file}`);
    }
    assertNoSecrets(stdout, 'the quick start stdout');
    assertNoSecrets(stderr, 'the quick start stderr');
  });
});
