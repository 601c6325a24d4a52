import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'dotenv';
import type { BucketCredentials } from '../../src/credentials/types.js';
import { RENDERERS } from '../../src/render/index.js';
import { requireProgram } from '../env/tools.js';
import { HTTP_ENDPOINT, bucket } from '../unit/render-fixtures.js';
import { acceptedBy, cleanEnv, itRefuses, makeTempDir, mapLimit, run, show, writeFiles } from './readers.js';

type Vars = Record<string, string>;

/** What env/<alias>.env must set, derived from the bucket independently of the renderer. */
function envVars(b: BucketCredentials): Vars {
  return {
    AWS_ACCESS_KEY_ID: b.accessKeyId,
    AWS_SECRET_ACCESS_KEY: b.secretAccessKey,
    AWS_ENDPOINT_URL: b.endpoint.url,
    AWS_ENDPOINT_URL_S3: b.endpoint.url,
    AWS_REGION: b.region,
    AWS_DEFAULT_REGION: b.region,
    BUCKET_NAME: b.bucketName,
    BUCKET_HOST: b.endpoint.host,
    BUCKET_PORT: String(b.endpoint.port ?? (b.endpoint.scheme === 'https' ? 443 : 80)),
    BUCKET_REGION: b.region,
  };
}

function resticVars(b: BucketCredentials): Vars {
  return {
    RESTIC_REPOSITORY: `s3:${b.endpoint.url}/${b.bucketName}`,
    AWS_ACCESS_KEY_ID: b.accessKeyId,
    AWS_SECRET_ACCESS_KEY: b.secretAccessKey,
    AWS_DEFAULT_REGION: b.region,
  };
}

interface Reader {
  readonly name: string;
  read(file: string, names: readonly string[]): Promise<Vars>;
}

/** `<shell> -c '. FILE; printf "%s\n" "$A" "$B" ...'`: values never hold a newline (refused). */
function shellReader(shell: 'dash' | 'bash'): Reader {
  return {
    name: shell,
    async read(file, names) {
      const program = requireProgram(shell, `apt-get install -y ${shell}`);
      const script = `. "$1" && printf '%s\\n' ${names.map((n) => `"$${n}"`).join(' ')}`;
      const { stdout } = await run(program, ['-c', script, shell, file], cleanEnv());
      const values = stdout.split('\n').slice(0, -1);
      assert.equal(values.length, names.length, `${shell} printed ${values.length} lines`);
      return Object.fromEntries(names.map((n, i) => [n, values[i] ?? '']));
    },
  };
}

function dotenvReader(fast: boolean): Reader {
  return {
    name: fast ? 'dotenv (fast parser)' : 'dotenv',
    read: (file) => Promise.resolve(parse(readFileSync(file, 'utf8'), { fast })),
  };
}

const READERS: readonly Reader[] = [shellReader('dash'), shellReader('bash'), dotenvReader(false), dotenvReader(true)];

const FORMATS = [
  { format: 'env', dir: 'env', expected: envVars },
  { format: 'restic', dir: 'restic', expected: resticVars },
] as const;

for (const { format, dir, expected } of FORMATS) {
  describe(`sh (dash, bash) and dotenv read ${dir}/<alias>.env`, () => {
    const tmp = makeTempDir(format);
    after(() => tmp.remove());

    for (const reader of READERS) {
      it(`${reader.name}: every variable of an http bucket with a port`, async () => {
        const b = bucket('media', { endpoint: HTTP_ENDPOINT, region: 'eu-west-1' });
        writeFiles(join(tmp.dir, 'plain'), RENDERERS[format]([b]));
        const want = expected(b);
        assert.deepEqual(await reader.read(join(tmp.dir, 'plain', dir, 'media.env'), Object.keys(want)), want);
      });
    }

    describe('secret keys', () => {
      const accepted = acceptedBy(format);
      const got = new Map<string, Vars[]>();
      before(async () => {
        writeFiles(tmp.dir, RENDERERS[format](accepted.map((a) => a.bucket)));
        for (const reader of READERS) {
          const names = Object.keys(expected(bucket('x')));
          got.set(reader.name, await mapLimit(accepted, 4, (a) => reader.read(join(tmp.dir, dir, `${a.bucket.alias}.env`), names)));
        }
      });
      accepted.forEach(({ hostile, bucket: b }, i) => {
        it(`carries ${hostile.name} ${show(hostile.value)} byte-exactly through ${READERS.map((r) => r.name).join(', ')}`, () => {
          for (const reader of READERS) assert.deepEqual(got.get(reader.name)?.[i], expected(b), reader.name);
        });
      });
      itRefuses(format);
    });
  });
}

describe('sh and dotenv: the refusal is needed', () => {
  const tmp = makeTempDir('shell-verbatim');
  after(() => tmp.remove());

  it(`no quoting of ${show("it's$HOME")} reads the same in dash and dotenv`, async () => {
    const value = "it's$HOME";
    const spellings = [`V='it'\\''s$HOME'`, 'V="it\'s$HOME"', 'V="it\'s\\$HOME"', "V=it\\'s\\$HOME"];
    for (const [i, line] of spellings.entries()) {
      const file = join(tmp.dir, `v${i}.env`);
      writeFiles(tmp.dir, [{ path: `v${i}.env`, content: `${line}\n` }]);
      const dash = (await shellReader('dash').read(file, ['V'])).V;
      const dotenv = (await dotenvReader(false).read(file, ['V'])).V;
      assert.ok(dash !== value || dotenv !== value, `${line} reads as the value in both`);
    }
  });
});
