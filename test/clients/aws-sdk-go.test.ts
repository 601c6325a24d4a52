import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RENDERERS } from '../../src/render/index.js';
import { REPO_ROOT, cacheDir, requireProgram } from '../env/tools.js';
import { HOSTILE_VALUES, HTTP_ENDPOINT, REAL_ACCESS_KEY, REAL_SECRET_KEY, bucket } from '../unit/render-fixtures.js';
import { acceptedBy, cleanEnv, itRefuses, makeTempDir, run, show, writeFiles } from './readers.js';

/**
 * The AWS SDK for Go v2 reads Velero's `cloud` file (velero-plugin-for-aws >= 1.10) and the aws/
 * files of Go programs. Its INI parser differs from botocore's (comments, quote stripping), which
 * is why the aws dialect refuses more than the aws CLI would need: this suite checks both halves
 * with the real parser, built from test/clients/aws-sdk-go-reader at the version its go.mod pins.
 */

const SOURCE_DIR = join(REPO_ROOT, 'test/clients/aws-sdk-go-reader');
const INSTALL_GO = 'the Go toolchain >= 1.24 (the one scripts/build-tools.sh uses; https://go.dev/dl)';

interface Query {
  readonly profile: string;
  readonly credentials: string;
  readonly config: string;
}

interface Settings {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  readonly endpointUrl: string;
  readonly checksumWhenRequired: boolean;
  readonly validationWhenRequired: boolean;
}

function sdkVersion(): string {
  const version = /github\.com\/aws\/aws-sdk-go-v2\/config (v\S+)/.exec(readFileSync(join(SOURCE_DIR, 'go.mod'), 'utf8'))?.[1];
  if (version === undefined) throw new Error(`${SOURCE_DIR}/go.mod pins no aws-sdk-go-v2/config version`);
  return version;
}

/** The reader binary, built once per SDK version into the tool cache (a cold build takes ~1 min). */
async function goReader(): Promise<string> {
  const bin = join(cacheDir(), 'bin', `aws-sdk-go-reader-${sdkVersion()}`);
  if (existsSync(bin)) return bin;
  const go = requireProgram('go', INSTALL_GO);
  mkdirSync(join(cacheDir(), 'bin'), { recursive: true });
  const partial = `${bin}.${process.pid}.tmp`;
  await run(go, ['build', '-o', partial, '.'], cleanEnv(), { cwd: SOURCE_DIR, timeoutMs: 10 * 60_000 });
  renameSync(partial, bin);
  return bin;
}

async function readAll(reader: string, queries: readonly Query[]): Promise<Settings[]> {
  return JSON.parse((await run(reader, [], cleanEnv(), { input: JSON.stringify(queries) })).stdout) as Settings[];
}

describe('AWS SDK for Go v2 reads aws/ and velero/', { timeout: 15 * 60_000 }, () => {
  let reader = '';
  const tmp = makeTempDir('aws-sdk-go');
  before(async () => {
    reader = await goReader();
  });
  after(() => tmp.remove());

  it('aws/: one bucket, its profile and [default], every setting the SDK reads', async () => {
    const dir = join(tmp.dir, 'one');
    writeFiles(dir, RENDERERS.aws([bucket('backup', { endpoint: HTTP_ENDPOINT, region: 'eu-west-1' })]));
    const files = { credentials: join(dir, 'aws/credentials'), config: join(dir, 'aws/config') };
    const expected: Settings = {
      accessKeyId: REAL_ACCESS_KEY,
      secretAccessKey: REAL_SECRET_KEY,
      region: 'eu-west-1',
      endpointUrl: 'http://127.0.0.1:8333',
      checksumWhenRequired: true,
      validationWhenRequired: true,
    };
    assert.deepEqual(
      await readAll(reader, [
        { profile: 'backup', ...files },
        { profile: 'default', ...files },
      ]),
      [expected, expected],
    );
  });

  for (const format of ['aws', 'velero'] as const) {
    describe(`${format}/: secret keys`, () => {
      const accepted = acceptedBy(format);
      let got: Settings[] = [];
      before(async () => {
        const dir = join(tmp.dir, format);
        writeFiles(dir, RENDERERS[format](accepted.map((a) => a.bucket)));
        got = await readAll(
          reader,
          accepted.map(({ bucket: b }) =>
            format === 'aws'
              ? { profile: b.alias, credentials: join(dir, 'aws/credentials'), config: join(dir, 'aws/config') }
              : { profile: 'default', credentials: join(dir, 'velero', b.alias), config: '' },
          ),
        );
      });
      accepted.forEach(({ hostile }, i) => {
        it(`carries ${hostile.name} ${show(hostile.value)} byte-exactly`, () => {
          assert.equal(got[i]?.secretAccessKey, hostile.value);
          assert.equal(got[i]?.accessKeyId, REAL_ACCESS_KEY);
        });
      });
      itRefuses(format);
    });
  }

  describe('the refusals are needed: written verbatim anyway, the SDK misreads them', () => {
    // What this SDK version misreads. The rest of the aws refusals are for other readers: a
    // `#` after a no-break space (JavaScript v3 cuts there), the escapes (older Go v2 releases).
    const names = [
      'leading hash',
      'space hash',
      'leading semicolon',
      'space semicolon',
      'wrapped in double quotes',
      'triple double quotes',
      'wrapped in single quotes',
      'leading space',
      'trailing space',
      'non-breaking space at the end',
    ];
    const misread = HOSTILE_VALUES.filter((h) => names.includes(h.name));
    it('covers every listed value, each refused by aws and velero', () => {
      assert.equal(misread.length, names.length);
      for (const h of misread) assert.ok(h.refusedBy.includes('aws') && h.refusedBy.includes('velero'), h.name);
    });
    let got: Settings[] = [];
    before(async () => {
      const queries = misread.map((h, i) => {
        const file = join(tmp.dir, 'verbatim', `v${i}`);
        writeFiles(tmp.dir, [
          { path: `verbatim/v${i}`, content: `[default]\naws_access_key_id = ${REAL_ACCESS_KEY}\naws_secret_access_key = ${h.value}\n` },
        ]);
        return { profile: 'default', credentials: file, config: '' };
      });
      got = await readAll(reader, queries);
    });
    misread.forEach((hostile, i) => {
      it(`${hostile.name} ${show(hostile.value)}`, () => assert.notEqual(got[i]?.secretAccessKey, hostile.value));
    });
  });
});
