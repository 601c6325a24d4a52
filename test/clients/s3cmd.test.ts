import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RENDERERS } from '../../src/render/index.js';
import { requireProgram } from '../env/tools.js';
import { HTTP_ENDPOINT, REAL_ACCESS_KEY, REAL_SECRET_KEY, bucket } from '../unit/render-fixtures.js';
import { acceptedBy, cleanEnv, itRefuses, makeTempDir, mapLimit, run, show, writeFiles } from './readers.js';

const INSTALL_S3CMD = 'apt-get install -y s3cmd';
const KEYS = ['access_key', 'secret_key', 'host_base', 'host_bucket', 'use_https', 'bucket_location'] as const;
type Settings = Partial<Record<(typeof KEYS)[number], string>>;

/**
 * `s3cmd --dump-config -c FILE`: the options as s3cmd parsed them, one `key = value` line each
 * (values are never multi-line: control characters are refused).
 */
async function dumpConfig(s3cmd: string, file: string): Promise<Settings> {
  const { stdout } = await run(s3cmd, ['--dump-config', '-c', file], cleanEnv());
  const settings: Settings = {};
  for (const line of stdout.split('\n')) {
    const at = line.indexOf(' = ');
    const key = line.slice(0, at) as (typeof KEYS)[number];
    if (at > 0 && KEYS.includes(key)) settings[key] = line.slice(at + 3);
  }
  return settings;
}

describe('s3cmd reads s3cmd/<alias>.s3cfg', () => {
  let s3cmd = '';
  const tmp = makeTempDir('s3cmd');
  before(() => {
    s3cmd = requireProgram('s3cmd', INSTALL_S3CMD);
  });
  after(() => tmp.remove());

  it('every setting, https without a port and http with one', async () => {
    const dir = join(tmp.dir, 'two');
    writeFiles(dir, RENDERERS.s3cmd([bucket('backup'), bucket('media', { endpoint: HTTP_ENDPOINT, region: 'eu-west-1' })]));
    const keys = { access_key: REAL_ACCESS_KEY, secret_key: REAL_SECRET_KEY };
    assert.deepEqual(await dumpConfig(s3cmd, join(dir, 's3cmd/backup.s3cfg')), {
      ...keys,
      host_base: 's3.example.com',
      host_bucket: 's3.example.com',
      use_https: 'True',
      bucket_location: 'us-east-1',
    });
    assert.deepEqual(await dumpConfig(s3cmd, join(dir, 's3cmd/media.s3cfg')), {
      ...keys,
      host_base: '127.0.0.1:8333',
      host_bucket: '127.0.0.1:8333',
      use_https: 'False',
      bucket_location: 'eu-west-1',
    });
  });

  describe('secret keys', () => {
    const accepted = acceptedBy('s3cmd');
    let got: Settings[] = [];
    before(async () => {
      writeFiles(tmp.dir, RENDERERS.s3cmd(accepted.map((a) => a.bucket)));
      got = await mapLimit(accepted, 4, (a) => dumpConfig(s3cmd, join(tmp.dir, 's3cmd', `${a.bucket.alias}.s3cfg`)));
    });
    accepted.forEach(({ hostile }, i) => {
      it(`carries ${hostile.name} ${show(hostile.value)} byte-exactly`, () => {
        assert.equal(got[i]?.secret_key, hostile.value);
        assert.equal(got[i]?.access_key, REAL_ACCESS_KEY);
      });
    });
    itRefuses('s3cmd');
  });

  it('the refusals are needed: written verbatim, s3cmd misreads them', async () => {
    const verbatim = ['$HOME', ' abc', 'abc '];
    const got = await mapLimit(verbatim, 3, async (value) => {
      const path = `verbatim-${verbatim.indexOf(value)}.s3cfg`;
      writeFiles(tmp.dir, [{ path, content: `[default]\naccess_key = AK\nsecret_key = ${value}\n` }]);
      return (await dumpConfig(s3cmd, join(tmp.dir, path))).secret_key;
    });
    verbatim.forEach((value, i) => assert.notEqual(got[i], value, show(value)));
  });
});
