import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RENDERERS } from '../../src/render/index.js';
import { HOSTILE_VALUES, HTTP_ENDPOINT, REAL_ACCESS_KEY, REAL_SECRET_KEY, bucket } from '../unit/render-fixtures.js';
import type { Settings, SettingsQuery } from './aws-sdk-js-reader.js';
import { acceptedBy, itRefuses, makeTempDir, readWithJsSdk, show, writeFiles, type AwsFiles } from './readers.js';

/**
 * The AWS SDK for JavaScript v3 (@aws-sdk/client-s3, a devDependency at the version package.json
 * pins) reads aws/ the way a Node app does (readWithJsSdk in ./readers.ts). Its INI parser
 * (@smithy/shared-ini-file-loader) cuts comments and trims differently from botocore's, one reason
 * for the aws dialect's refusals (src/render/aws-shared.ts).
 */

async function settingsOf(files: AwsFiles, queries: readonly SettingsQuery[]): Promise<Settings[]> {
  return (await readWithJsSdk(files, { mode: 'settings', queries })) as Settings[];
}

function filesIn(dir: string): AwsFiles {
  return { config: join(dir, 'aws/config'), credentials: join(dir, 'aws/credentials') };
}

describe('AWS SDK for JavaScript v3 reads aws/credentials and aws/config', () => {
  const tmp = makeTempDir('aws-sdk-js');
  after(() => tmp.remove());

  it('one bucket: keys, region, endpoint_url and the checksum settings, under its profile and under [default]', async () => {
    const dir = join(tmp.dir, 'one');
    writeFiles(dir, RENDERERS.aws([bucket('backup', { endpoint: HTTP_ENDPOINT, region: 'eu-west-1' })]));
    const expected: Settings = {
      accessKeyId: REAL_ACCESS_KEY,
      secretAccessKey: REAL_SECRET_KEY,
      region: 'eu-west-1',
      // An IP address cannot carry the bucket as a subdomain: the SDK uses path style on its own.
      requestUrl: 'http://127.0.0.1:8333/bucket/?list-type=2&max-keys=1',
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    };
    assert.deepEqual(await settingsOf(filesIn(dir), [{ profile: 'backup' }, { profile: 'default' }]), [expected, expected]);
  });

  it('ignores addressing_style: with a host name it goes virtual-hosted unless the app sets forcePathStyle', async () => {
    const dir = join(tmp.dir, 'hostname');
    const endpoint = { scheme: 'https', host: 's3.example.com', port: 443, url: 'https://s3.example.com' } as const;
    writeFiles(dir, RENDERERS.aws([bucket('named', { endpoint })]));
    const [virtual, path] = await settingsOf(filesIn(dir), [{ profile: 'named' }, { profile: 'named', forcePathStyle: true }]);
    assert.equal(virtual?.requestUrl, 'https://bucket.s3.example.com/?list-type=2&max-keys=1');
    assert.equal(path?.requestUrl, 'https://s3.example.com/bucket/?list-type=2&max-keys=1');
  });

  describe('secret keys', () => {
    const accepted = acceptedBy('aws');
    let got: Settings[] = [];
    before(async () => {
      const dir = join(tmp.dir, 'keys');
      writeFiles(dir, RENDERERS.aws(accepted.map((a) => a.bucket)));
      got = await settingsOf(
        filesIn(dir),
        accepted.map((a) => ({ profile: a.bucket.alias })),
      );
    });
    accepted.forEach(({ hostile }, i) => {
      it(`carries ${hostile.name} ${show(hostile.value)} byte-exactly`, () => {
        assert.equal(got[i]?.secretAccessKey, hostile.value);
        assert.equal(got[i]?.accessKeyId, REAL_ACCESS_KEY);
      });
    });
    itRefuses('aws');
  });

  describe('the refusals are needed: written verbatim anyway, the SDK misreads these', () => {
    // Those of the aws refusals this SDK misreads; the others are for botocore or the Go SDK.
    const names = [
      'leading hash',
      'space hash',
      'no-break space hash',
      'leading semicolon',
      'space semicolon',
      'leading space',
      'trailing space',
      'non-breaking space at the end',
    ];
    const misread = HOSTILE_VALUES.filter((h) => names.includes(h.name));
    it('covers every listed value, each refused by aws', () => {
      assert.equal(misread.length, names.length);
      for (const h of misread) assert.ok(h.refusedBy.includes('aws'), h.name);
    });
    let got: Settings[] = [];
    before(async () => {
      const credentials = misread
        .map((h, i) => `[v${i}]\naws_access_key_id = ${REAL_ACCESS_KEY}\naws_secret_access_key = ${h.value}\n`)
        .join('');
      writeFiles(tmp.dir, [
        { path: 'verbatim/aws/credentials', content: credentials },
        { path: 'verbatim/aws/config', content: misread.map((_, i) => `[profile v${i}]\nregion = us-east-1\n`).join('') },
      ]);
      got = await settingsOf(
        filesIn(join(tmp.dir, 'verbatim')),
        misread.map((_, i) => ({ profile: `v${i}` })),
      );
    });
    misread.forEach((hostile, i) => {
      it(`${hostile.name} ${show(hostile.value)}`, () => assert.notEqual(got[i]?.secretAccessKey, hostile.value));
    });
  });
});
