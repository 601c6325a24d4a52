import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RENDERERS } from '../../src/render/index.js';
import { requireProgram } from '../env/tools.js';
import { HTTP_ENDPOINT, REAL_ACCESS_KEY, REAL_SECRET_KEY, bucket } from '../unit/render-fixtures.js';
import { acceptedBy, cleanEnv, itRefuses, makeTempDir, mapLimit, run, show, writeFiles } from './readers.js';

const INSTALL_AWS = 'pip install awscli';
const PARALLEL = 3;

interface Files {
  readonly config: string;
  readonly credentials: string;
}

/** `aws configure get KEY --profile P` with only the rendered files as configuration. */
async function configureGet(aws: string, files: Files, key: string, profile: string): Promise<string> {
  const env = cleanEnv({ AWS_CONFIG_FILE: files.config, AWS_SHARED_CREDENTIALS_FILE: files.credentials });
  const { stdout } = await run(aws, ['configure', 'get', key, '--profile', profile], env);
  assert.ok(stdout.endsWith('\n'), `aws configure get ${key}: no trailing newline`);
  return stdout.slice(0, -1);
}

/**
 * The aws CLI on PATH. A pyenv shim is resolved to the script it runs: the shim costs ~0.8 s per
 * call on top of the CLI's own ~0.9 s, and this suite makes ~90 calls.
 */
async function awsProgram(): Promise<string> {
  const found = requireProgram('aws', INSTALL_AWS);
  if (!readFileSync(found, 'utf8').includes('pyenv')) return found;
  return (await run('pyenv', ['which', 'aws'], process.env)).stdout.trim();
}

describe('aws CLI (botocore) reads aws/credentials and aws/config', () => {
  let aws = '';
  const tmp = makeTempDir('aws');
  before(async () => {
    aws = await awsProgram();
  });
  after(() => tmp.remove());

  it('one bucket: every setting, under its profile and under [default]', async () => {
    const dir = join(tmp.dir, 'one');
    writeFiles(dir, RENDERERS.aws([bucket('backup', { endpoint: HTTP_ENDPOINT, region: 'eu-west-1' })]));
    const files = { config: join(dir, 'aws/config'), credentials: join(dir, 'aws/credentials') };
    const expected: Record<string, string> = {
      aws_access_key_id: REAL_ACCESS_KEY,
      aws_secret_access_key: REAL_SECRET_KEY,
      region: 'eu-west-1',
      endpoint_url: 'http://127.0.0.1:8333',
      's3.addressing_style': 'path',
      request_checksum_calculation: 'when_required',
      response_checksum_validation: 'when_required',
    };
    const queries = ['backup', 'default'].flatMap((profile) => Object.keys(expected).map((key) => [profile, key] as const));
    const got = await mapLimit(queries, PARALLEL, ([profile, key]) => configureGet(aws, files, key, profile));
    queries.forEach(([profile, key], i) => assert.equal(got[i], expected[key], `${profile} ${key}`));
  });

  describe('secret keys', () => {
    const accepted = acceptedBy('aws');
    let got: string[] = [];
    before(async () => {
      const dir = join(tmp.dir, 'many');
      writeFiles(dir, RENDERERS.aws(accepted.map((a) => a.bucket)));
      const files = { config: join(dir, 'aws/config'), credentials: join(dir, 'aws/credentials') };
      got = await mapLimit(accepted, PARALLEL, (a) => configureGet(aws, files, 'aws_secret_access_key', a.bucket.alias));
    });
    accepted.forEach(({ hostile }, i) => {
      it(`carries ${hostile.name} ${show(hostile.value)} byte-exactly`, () => assert.equal(got[i], hostile.value));
    });
    itRefuses('aws');
  });
});

describe('aws CLI (botocore) reads the velero/ cloud files as shared credentials', () => {
  let aws = '';
  const tmp = makeTempDir('velero');
  const accepted = acceptedBy('velero');
  let got: string[] = [];
  before(async () => {
    aws = await awsProgram();
    writeFiles(tmp.dir, RENDERERS.velero(accepted.map((a) => a.bucket)));
    got = await mapLimit(accepted, PARALLEL, (a) => {
      const file = join(tmp.dir, 'velero', a.bucket.alias);
      return configureGet(aws, { config: join(tmp.dir, 'no-config'), credentials: file }, 'aws_secret_access_key', 'default');
    });
  });
  after(() => tmp.remove());

  accepted.forEach(({ hostile }, i) => {
    it(`carries ${hostile.name} ${show(hostile.value)} byte-exactly`, () => assert.equal(got[i], hostile.value));
  });
  itRefuses('velero');
});
