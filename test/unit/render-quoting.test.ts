import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BucketCredentials } from '../../src/credentials/types.js';
import { CredentialsError } from '../../src/errors.js';
import { RENDERERS } from '../../src/render/index.js';
import { FORMATS, type Format } from '../../src/render/types.js';
import { HOSTILE_VALUES, bucket } from './render-fixtures.js';

/** The line of `format`'s first file that carries the secret key. */
function secretLine(format: Format, secretAccessKey: string): string {
  const [file] = RENDERERS[format]([bucket('q', { secretAccessKey })]);
  const line = file?.content.split('\n').find((l) => /secret/i.test(l));
  assert.ok(line !== undefined, `${format} has no secret line`);
  return line;
}

describe('quoting: how each format writes a value it accepts', () => {
  const cases: readonly (readonly [Format, string, string])[] = [
    // aws/velero: verbatim, never quoted (no quoting is undone by every AWS SDK).
    ['aws', 'a$HOME`x`"y\'!{}', 'aws_secret_access_key = a$HOME`x`"y\'!{}'],
    ['velero', 'a b  c', 'aws_secret_access_key = a b  c'],
    // rclone: backticks only for a leading quote character or edge whitespace.
    ['rclone', 'ab#c;d', 'secret_access_key = ab#c;d'],
    ['rclone', '`ab', 'secret_access_key = ``ab`'],
    ['rclone', '"""ab"""', 'secret_access_key = `"""ab"""`'],
    ['rclone', "'ab'", "secret_access_key = `'ab'`"],
    ['rclone', ' ab ', 'secret_access_key = ` ab `'],
    ['rclone', 'a`b`', 'secret_access_key = a`b`'],
    // s3cmd: one more pair of double quotes only for a value that is itself "...".
    ['s3cmd', '"ab"', 'secret_key = ""ab""'],
    ['s3cmd', '"ab', 'secret_key = "ab'],
    ['s3cmd', 'a$b%(x)s', 'secret_key = a$b%(x)s'],
    // env/restic: single quotes, double quotes for a value with a single quote.
    ['env', 'a$b`c`\\d"e!', "AWS_SECRET_ACCESS_KEY='a$b`c`\\d\"e!'"],
    ['env', "it's #1", 'AWS_SECRET_ACCESS_KEY="it\'s #1"'],
    ['restic', ' ab ', "AWS_SECRET_ACCESS_KEY=' ab '"],
    // mc/json: JSON string escapes.
    ['mc', 'a"b\\c', '      "secretKey": "a\\"b\\\\c",'],
    ['json', 'a"b\\c', '  "secretAccessKey": "a\\"b\\\\c",'],
  ];
  for (const [format, value, line] of cases) {
    it(`${format}: ${JSON.stringify(value)}`, () => assert.equal(secretLine(format, value), line));
  }
});

function refusal(render: () => unknown): CredentialsError | undefined {
  try {
    render();
    return undefined;
  } catch (err) {
    if (err instanceof CredentialsError) return err;
    throw err;
  }
}

function assertRefused(err: CredentialsError | undefined, field: string, value: string): void {
  assert.ok(err !== undefined, 'expected a CredentialsError');
  assert.equal(err.field, field);
  assert.equal(err.source, 'secret tenant-a/bucket-q');
  assert.match(err.message, new RegExp(`^secret tenant-a/bucket-q: ${field}: cannot be written to `));
  if (value.length > 1) assert.ok(!err.message.includes(value), 'the message must not carry the value');
}

describe('refusals: every hostile secret key, every format', () => {
  for (const hostile of HOSTILE_VALUES) {
    for (const format of FORMATS) {
      const refused = hostile.refusedBy.includes(format);
      it(`${format} ${refused ? 'refuses' : 'accepts'} ${hostile.name}`, () => {
        const err = refusal(() => RENDERERS[format]([bucket('q', { secretAccessKey: hostile.value })]));
        if (refused) assertRefused(err, 'secretAccessKey', hostile.value);
        else assert.equal(err, undefined, err?.message);
      });
    }
  }
});

describe('refusals: the other fields go through the same rules', () => {
  type TextField = 'accessKeyId' | 'secretAccessKey' | 'region' | 'bucketName';
  const cases: readonly (readonly [Format, TextField, string])[] = [
    ['aws', 'accessKeyId', 'AK #1'],
    ['aws', 'region', 'us-east-1 ; x'],
    ['aws', 'region', ' us-east-1'],
    ['velero', 'accessKeyId', "'AK'"],
    ['rclone', 'region', 'r%(x)s'],
    ['rclone', 'accessKeyId', 'a\nb'],
    ['s3cmd', 'region', '$REGION'],
    ['s3cmd', 'accessKeyId', 'AK '],
    ['env', 'region', `it's "x"`],
    ['env', 'bucketName', 'a\u0000b'],
    ['restic', 'bucketName', 'x/y'],
    ['restic', 'bucketName', 'a?b'],
    ['restic', 'bucketName', 'a%2Fb'],
    ['restic', 'accessKeyId', "it's$x"],
    ['mc', 'accessKeyId', 'a\rb'],
    ['json', 'region', ''],
  ];
  for (const [format, field, value] of cases) {
    it(`${format} refuses ${field} ${JSON.stringify(value)}`, () => {
      const overrides: Partial<BucketCredentials> = { [field]: value };
      assertRefused(
        refusal(() => RENDERERS[format]([bucket('q', overrides)])),
        field,
        value,
      );
    });
  }

  it('the first refused bucket stops the whole format, not just its own section', () => {
    assert.throws(() => RENDERERS.aws([bucket('ok'), bucket('q', { secretAccessKey: '#b' })]), CredentialsError);
  });
});
