import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RCLONE_PROVIDER } from '../../src/render/rclone.js';
import { RENDERERS } from '../../src/render/index.js';
import { toolPath } from '../env/tools.js';
import { HTTP_ENDPOINT, REAL_ACCESS_KEY, REAL_SECRET_KEY, bucket } from '../unit/render-fixtures.js';
import { acceptedBy, cleanEnv, itRefuses, makeTempDir, run, show, writeFiles } from './readers.js';

type Dump = Record<string, Record<string, string> | undefined>;

/** `rclone config dump`: every remote with every value as rclone's config parser returns it. */
async function configDump(rclone: string, file: string): Promise<Dump> {
  const { stdout } = await run(rclone, ['config', 'dump', '--config', file], cleanEnv());
  return JSON.parse(stdout) as Dump;
}

describe('rclone reads rclone/rclone.conf', () => {
  let rclone = '';
  const tmp = makeTempDir('rclone');
  before(() => {
    // The rclone users install today (Debian's 1.60 predates fixes the round trips need).
    rclone = toolPath('rclone');
  });
  after(() => tmp.remove());

  it('knows the provider it is given', async () => {
    const { stdout } = await run(rclone, ['help', 'backend', 's3'], cleanEnv());
    assert.match(stdout, new RegExp(`^ +- "${RCLONE_PROVIDER}"$`, 'm'));
  });

  it('two buckets: two remotes with every setting', async () => {
    const dir = join(tmp.dir, 'two');
    writeFiles(dir, RENDERERS.rclone([bucket('backup'), bucket('media', { endpoint: HTTP_ENDPOINT, region: 'eu-west-1' })]));
    const common = {
      type: 's3',
      provider: RCLONE_PROVIDER,
      env_auth: 'false',
      no_check_bucket: 'true',
      access_key_id: REAL_ACCESS_KEY,
      secret_access_key: REAL_SECRET_KEY,
    };
    assert.deepEqual(await configDump(rclone, join(dir, 'rclone/rclone.conf')), {
      backup: { ...common, endpoint: 'https://s3.example.com', region: 'us-east-1' },
      media: { ...common, endpoint: 'http://127.0.0.1:8333', region: 'eu-west-1' },
    });
  });

  describe('secret keys', () => {
    const accepted = acceptedBy('rclone');
    let dump: Dump = {};
    before(async () => {
      writeFiles(tmp.dir, RENDERERS.rclone(accepted.map((a) => a.bucket)));
      dump = await configDump(rclone, join(tmp.dir, 'rclone/rclone.conf'));
    });
    for (const { hostile, bucket: b } of accepted) {
      it(`carries ${hostile.name} ${show(hostile.value)} byte-exactly`, () => {
        assert.equal(dump[b.alias]?.secret_access_key, hostile.value);
        assert.equal(dump[b.alias]?.access_key_id, REAL_ACCESS_KEY);
      });
    }
    itRefuses('rclone');
  });

  it("the refusal is needed: written verbatim, %(type)s comes back as another key's value", async () => {
    writeFiles(tmp.dir, [{ path: 'verbatim.conf', content: '[x]\ntype = s3\nsecret_access_key = a%(type)sb\n' }]);
    assert.equal((await configDump(rclone, join(tmp.dir, 'verbatim.conf'))).x?.secret_access_key, 'as3b');
  });
});
