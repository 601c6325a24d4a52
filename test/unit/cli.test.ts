import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { REPO_ROOT } from '../env/tools.js';

const BIN = join(REPO_ROOT, 'dist/src/bin.js');
const EXAMPLE = join(REPO_ROOT, 'examples/bucket-backup-prod.yaml');
const EXAMPLE_KEYS = ['UYL5FFZ0GWTQ4LCN4AI0', 'L1ZJy67a2PKdOmKqjeuTWQd/4HjJVMJdxnEX4ewq'];
const HOSTILE_SECRET = 'S3cr3t/with+plus=eq%pct#hash;semi$dollar"dq\'sq\\bs`bt!ex{br}sp ace';

const work = mkdtempSync(join(tmpdir(), 'bucket-agent-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Every run's output, so the secret scan covers all of them. */
const transcripts: Run[] = [];

function cli(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    input: options.input ?? '',
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
    encoding: 'utf8',
    cwd: work,
  });
  const run = { code: r.status, stdout: r.stdout, stderr: r.stderr };
  transcripts.push(run);
  return run;
}

function secretWith(name: string, s3: Record<string, unknown>): string {
  const info = {
    metadata: { name: 'bc-x' },
    spec: { bucketName: 'bkt-1', authenticationType: 'KEY', secretS3: s3, secretAzure: null, protocols: ['s3'] },
  };
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: 'ns' },
    stringData: { BucketInfo: JSON.stringify(info) },
  });
}

describe('bucket-agent CLI', () => {
  it('renders the bundled example and prints paths only', () => {
    const out = join(work, 'example');
    const r = cli(['render', '--secret-file', EXAMPLE, '--out', out, '--log-format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const paths = r.stdout.trim().split('\n');
    assert.ok(
      paths.some((p) => p.endsWith('example/aws/credentials')),
      r.stdout,
    );
    assert.ok(
      paths.some((p) => p.endsWith('example/env/backup-prod.env')),
      r.stdout,
    );
    assert.match(readFileSync(join(out, 'aws/credentials'), 'utf8'), /\[backup-prod\]/);
    assert.equal(readlinkSync(join(out, 'aws')), '..data/aws');
    const log = JSON.parse(r.stderr.trim().split('\n').at(-1) ?? '{}') as { msg?: string; buckets?: string[] };
    assert.equal(log.msg, 'rendered');
    assert.deepEqual(log.buckets, ['backup-prod']);
  });

  it('a single-valued flag given twice is a usage error (exit 2) naming it, not an internal error', () => {
    const r = cli(['render', '--secret-file', EXAMPLE, '--out', join(work, 'a'), '--out', join(work, 'b')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--out is given 2 times; give it once/);
  });

  it('prints nothing and rewrites nothing the second time', () => {
    const out = join(work, 'twice');
    cli(['render', '--secret-file', EXAMPLE, '--out', out]);
    const before = readlinkSync(join(out, '..data'));
    const r = cli(['render', '--secret-file', EXAMPLE, '--out', out, '--log-format', 'json']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /unchanged/);
    assert.equal(readlinkSync(join(out, '..data')), before);
  });

  it('reads stdin and takes every flag from BUCKET_AGENT_* variables', () => {
    const out = join(work, 'env');
    const r = cli(['render'], {
      input: readFileSync(EXAMPLE, 'utf8'),
      env: { BUCKET_AGENT_SECRET_FILE: '-', BUCKET_AGENT_OUT: out, BUCKET_AGENT_FORMATS: 'env,json', BUCKET_AGENT_ALIAS: 'prod' },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      r.stdout
        .trim()
        .split('\n')
        .map((p) => p.replace(/^.*env\//, 'env/').replace(/^.*json\//, 'json/')),
      ['env/prod.env', 'json/prod.json'],
    );
  });

  it('reads stdin from --secret-file -', () => {
    const out = join(work, 'dash');
    const r = cli(['render', '--secret-file', '-', '--out', out, '--formats', 'json'], { input: readFileSync(EXAMPLE, 'utf8') });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /json\/backup-prod\.json/);
  });

  it('survives a reader that closes stdout early', () => {
    const out = join(work, 'epipe');
    const r = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" render --secret-file "${EXAMPLE}" --out "${out}" | true`], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    transcripts.push({ code: r.status, stdout: r.stdout, stderr: r.stderr });
    assert.doesNotMatch(r.stderr, /EPIPE|Error/);
  });

  it('--file-mode sets file and directory modes', () => {
    const out = join(work, 'modes');
    const r = cli(['render', '--secret-file', EXAMPLE, '--out', out, '--formats', 'env', '--file-mode', '0400']);
    assert.equal(r.code, 0, r.stderr);
    const ls = spawnSync('stat', ['-L', '-c', '%a', join(out, 'env'), join(out, 'env/backup-prod.env')], { encoding: 'utf8' });
    assert.deepEqual(ls.stdout.trim().split('\n'), ['500', '400']);
  });

  const usage: { name: string; args: string[]; message: RegExp }[] = [
    { name: 'no command', args: [], message: /give a command/ },
    { name: 'unknown command', args: ['rendr'], message: /Unknown argument: rendr|Did you mean render/ },
    { name: 'unknown flag', args: ['render', '--secret-file', EXAMPLE, '--out', 'o', '--bogus'], message: /Unknown argument: bogus/ },
    { name: 'missing --out', args: ['render', '--secret-file', EXAMPLE], message: /Missing required argument: out/ },
    { name: 'no input', args: ['render', '--out', 'o'], message: /at least one --secret-file or --bucketinfo-file/ },
    {
      name: 'unknown format',
      args: ['render', '--secret-file', EXAMPLE, '--out', 'o', '--formats', 'aws,ftp'],
      message: /unknown format ftp/,
    },
    {
      name: 'bad mode',
      args: ['render', '--secret-file', EXAMPLE, '--out', 'o', '--file-mode', '999'],
      message: /--file-mode: "999" is not an octal file mode/,
    },
    {
      name: 'bad uid',
      args: ['render', '--secret-file', EXAMPLE, '--out', 'o', '--uid', 'root'],
      message: /--uid: "root" is not a numeric id/,
    },
    { name: 'missing file', args: ['render', '--secret-file', 'nope.yaml', '--out', 'o'], message: /cannot read nope\.yaml: ENOENT/ },
    { name: 'bucketinfo without alias', args: ['render', '--bucketinfo-file', EXAMPLE, '--out', 'o'], message: /needs --alias/ },
    {
      name: 'alias count mismatch',
      args: ['render', '--secret-file', EXAMPLE, '--secret-file', EXAMPLE, '--alias', 'a', '--out', 'o'],
      message: /--alias given 1 time\(s\) for 2 input\(s\)/,
    },
  ];
  for (const c of usage) {
    it(`exits 2 on ${c.name}`, () => {
      const r = cli(c.args);
      assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, c.message);
    });
  }

  it('exits 3 on bad credentials and leaves the previous files byte-for-byte', () => {
    const out = join(work, 'keep');
    cli(['render', '--secret-file', EXAMPLE, '--out', out]);
    const before = readFileSync(join(out, 'aws/credentials'));
    const bad = join(work, 'bad.json');
    writeFileSync(
      bad,
      secretWith('bucket-backup-prod', {
        endpoint: 'https://s3',
        region: '',
        accessKeyID: EXAMPLE_KEYS[0],
        accessSecretKey: `${HOSTILE_SECRET}\n[x]`,
      }),
    );
    const r = cli(['render', '--secret-file', bad, '--out', out]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /secret ns\/bucket-backup-prod: BucketInfo\.spec\.secretS3\.accessSecretKey: contains a control character/);
    assert.deepEqual(readFileSync(join(out, 'aws/credentials')), before);
  });

  it('exits 3 naming the field when a format cannot carry a value', () => {
    const bad = join(work, 'hostile.json');
    writeFileSync(
      bad,
      secretWith('bucket-hostile', { endpoint: 'https://s3', region: '', accessKeyID: 'AK', accessSecretKey: ` ${HOSTILE_SECRET} ` }),
    );
    const r = cli(['render', '--secret-file', bad, '--out', join(work, 'hostile'), '--formats', 'aws']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /secretAccessKey/);
  });

  it('exits 4 when the output directory cannot be written', () => {
    const file = join(work, 'a-file');
    writeFileSync(file, 'x');
    const r = cli(['render', '--secret-file', EXAMPLE, '--out', join(file, 'sub')]);
    assert.equal(r.code, 4, r.stderr);
  });

  it('--help lists the exit codes and --version the package version', () => {
    const help = cli(['render', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--secret-file/);
    assert.match(help.stdout, /Exit codes:/);
    for (const command of ['init']) assert.match(cli([command, '--help']).stdout, /Exit codes:/, `${command} --help`);
    const version = cli(['--version']);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(version.stdout.trim(), pkg.version);
  });

  it('never prints a key, in any run above', () => {
    assert.ok(transcripts.length >= 15);
    const needles = [...EXAMPLE_KEYS, HOSTILE_SECRET, HOSTILE_SECRET.slice(0, 12)];
    for (const run of transcripts) {
      for (const needle of needles) {
        assert.ok(!run.stdout.includes(needle) && !run.stderr.includes(needle), `a key leaked:\n${run.stdout}\n${run.stderr}`);
      }
    }
  });
});
