import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { credentialsFromBucketInfo, credentialsFromSecret, type BucketCredentials, type SecretData } from '../../src/credentials/index.js';
import { parseSecretManifests } from '../../src/credentials/manifest.js';
import { CredentialsError } from '../../src/errors.js';

const ACCESS = 'UYL5FFZ0GWTQ4LCN4AI0';
const SECRET = 'L1ZJy67a2PKdOmKqjeuTWQd/4HjJVMJdxnEX4ewq';

function bucketInfo(s3: Record<string, unknown> | null, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    metadata: { name: 'bc-1', creationTimestamp: null },
    spec: { bucketName: 'bucket-1df67984', authenticationType: 'KEY', secretS3: s3, secretAzure: null, protocols: ['s3'], ...extra },
  });
}

const S3 = { endpoint: 'https://prod.s3.hikube.cloud', region: '', accessKeyID: ACCESS, accessSecretKey: SECRET };

function secret(name: string, data: Record<string, string>): SecretData {
  return { name, namespace: 'tenant-a', uid: 'uid-1', resourceVersion: '7', data };
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');

describe('credentialsFromSecret: layouts', () => {
  const cases: { name: string; secret: SecretData; want: Partial<BucketCredentials> & { url: string } }[] = [
    {
      name: 'COSI v1alpha1 BucketInfo (bucket-<n>), empty region -> us-east-1',
      secret: secret('bucket-backup-prod', { BucketInfo: bucketInfo(S3) }),
      want: { alias: 'backup-prod', bucketName: 'bucket-1df67984', region: 'us-east-1', url: 'https://prod.s3.hikube.cloud' },
    },
    {
      name: 'BucketInfo with region and scheme-less endpoint -> https',
      secret: secret('bucket-x', { BucketInfo: bucketInfo({ ...S3, endpoint: 's3.local:8333', region: 'eu-west-1' }) }),
      want: { alias: 'x', region: 'eu-west-1', url: 'https://s3.local:8333' },
    },
    {
      name: 'Cozystack flat -credentials secret (endpoint without scheme)',
      secret: secret('bucket-logs-credentials', {
        accessKey: ACCESS,
        secretKey: SECRET,
        endpoint: 's3.example.org',
        bucketName: 'bucket-abc',
      }),
      want: { alias: 'logs', bucketName: 'bucket-abc', region: 'us-east-1', url: 'https://s3.example.org' },
    },
    {
      name: 'COSI v1alpha2 flat keys',
      secret: secret('bucket-media', {
        COSI_S3_ENDPOINT: 'http://127.0.0.1:8333/',
        COSI_S3_BUCKET_ID: 'bucket-def',
        COSI_S3_ACCESS_KEY_ID: ACCESS,
        COSI_S3_ACCESS_SECRET_KEY: SECRET,
        COSI_S3_REGION: 'ap-1',
      }),
      want: { alias: 'media', bucketName: 'bucket-def', region: 'ap-1', url: 'http://127.0.0.1:8333' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = credentialsFromSecret(c.secret);
      const { url, ...rest } = c.want;
      assert.equal(got.endpoint.url, url);
      for (const [key, value] of Object.entries(rest)) assert.equal(got[key as keyof BucketCredentials], value, key);
      assert.equal(got.accessKeyId, ACCESS);
      assert.equal(got.secretAccessKey, SECRET);
      assert.deepEqual(got.source, { ...got.source, name: c.secret.name, namespace: 'tenant-a', uid: 'uid-1', resourceVersion: '7' });
    });
  }

  it('explicit alias wins over the inferred one', () => {
    assert.equal(credentialsFromSecret(secret('bucket-backup-prod', { BucketInfo: bucketInfo(S3) }), 'prod').alias, 'prod');
  });

  it('raw BucketInfo file needs and takes an alias', () => {
    const got = credentialsFromBucketInfo(bucketInfo(S3), 'file info.json', 'backups');
    assert.equal(got.alias, 'backups');
    assert.equal(got.source.layout, 'bucketinfo');
  });
});

describe('credentialsFromSecret: refusals name the field and never the key', () => {
  const refusals: { name: string; secret: SecretData; alias?: string; message: RegExp }[] = [
    {
      name: 'BucketInfo not JSON',
      secret: secret('bucket-a', { BucketInfo: `{"k":"${SECRET}` }),
      message: /BucketInfo: is not valid JSON/,
    },
    { name: 'no spec', secret: secret('bucket-a', { BucketInfo: '{}' }), message: /BucketInfo\.spec: is missing/ },
    {
      name: 'missing secret key',
      secret: secret('bucket-a', { BucketInfo: bucketInfo({ ...S3, accessSecretKey: undefined }) }),
      message: /secretS3\.accessSecretKey: is missing/,
    },
    {
      name: 'empty access key',
      secret: secret('bucket-a', { BucketInfo: bucketInfo({ ...S3, accessKeyID: '' }) }),
      message: /secretS3\.accessKeyID: is empty/,
    },
    {
      name: 'number as key',
      secret: secret('bucket-a', { BucketInfo: bucketInfo({ ...S3, accessKeyID: 42 }) }),
      message: /accessKeyID: must be a string/,
    },
    {
      name: 'Azure-only bucket',
      secret: secret('bucket-a', { BucketInfo: bucketInfo(null, { secretAzure: { accessToken: 'x' }, protocols: ['azure'] }) }),
      message: /unsupported protocol azure/,
    },
    {
      name: 'IAM authentication',
      secret: secret('bucket-a', { BucketInfo: bucketInfo(S3, { authenticationType: 'IAM' }) }),
      message: /unsupported authentication type IAM /,
    },
    {
      name: 'ftp endpoint',
      secret: secret('bucket-a', { BucketInfo: bucketInfo({ ...S3, endpoint: 'ftp://h' }) }),
      message: /endpoint: .*http\(s\):\/\/host\[:port\]/,
    },
    {
      name: 'endpoint with path',
      secret: secret('bucket-a', { BucketInfo: bucketInfo({ ...S3, endpoint: 'https://h/x' }) }),
      message: /endpoint:/,
    },
    {
      name: 'endpoint with user info',
      secret: secret('bucket-a', { BucketInfo: bucketInfo({ ...S3, endpoint: 'https://u:p@h' }) }),
      message: /endpoint:/,
    },
    {
      name: 'endpoint port out of range',
      secret: secret('bucket-a', { BucketInfo: bucketInfo({ ...S3, endpoint: 'https://h:70000' }) }),
      message: /port 70000 is out of range/,
    },
    {
      name: 'bucket name with slash',
      secret: secret('bucket-a', { BucketInfo: bucketInfo(S3, { bucketName: 'a/../b' }) }),
      message: /spec\.bucketName: .*not a valid S3 bucket name/,
    },
    {
      name: 'newline in secret key',
      secret: secret('bucket-a', { BucketInfo: bucketInfo({ ...S3, accessSecretKey: `${SECRET}\n[evil]` }) }),
      message: /accessSecretKey: contains a control character/,
    },
    {
      name: 'CR in access key',
      secret: secret('bucket-a', { BucketInfo: bucketInfo({ ...S3, accessKeyID: `${ACCESS}\r` }) }),
      message: /accessKeyID: contains a control character/,
    },
    {
      name: 'NUL in region',
      secret: secret('bucket-a', { BucketInfo: bucketInfo({ ...S3, region: 'us\u0000' }) }),
      message: /region: contains a control character/,
    },
    {
      name: 'tab in flat key',
      secret: secret('bucket-a-credentials', { accessKey: ACCESS, secretKey: `a\tb`, endpoint: 'h', bucketName: 'bkt' }),
      message: /data\.secretKey: contains a control character/,
    },
    {
      name: 'flat secret without endpoint',
      secret: secret('bucket-a-credentials', { accessKey: ACCESS, secretKey: SECRET, bucketName: 'bkt' }),
      message: /data\.endpoint: is missing/,
    },
    {
      name: 'unknown layout',
      secret: secret('bucket-a', { password: SECRET }),
      message: /none of the supported layouts.*found keys: password/,
    },
    {
      name: 'alias not inferable',
      secret: secret('my-creds', { BucketInfo: bucketInfo(S3) }),
      message: /cannot be inferred: pass --alias/,
    },
    {
      name: 'alias not DNS-1123',
      secret: secret('bucket-a', { BucketInfo: bucketInfo(S3) }),
      alias: '../etc',
      message: /alias: "\.\.\/etc" is not a DNS-1123 label/,
    },
    {
      name: 'inferred alias upper case',
      secret: secret('bucket-Prod', { BucketInfo: bucketInfo(S3) }),
      message: /alias \(inferred from metadata\.name\).*DNS-1123/,
    },
  ];
  for (const c of refusals) {
    it(c.name, () => {
      assert.throws(
        () => credentialsFromSecret(c.secret, c.alias),
        (err: unknown) => {
          assert.ok(err instanceof CredentialsError, `not a CredentialsError: ${String(err)}`);
          assert.match(err.message, c.message);
          assert.match(err.message, /^secret tenant-a\//);
          assert.ok(!err.message.includes(SECRET) && !err.message.includes(ACCESS), `leaks a key: ${err.message}`);
          assert.equal(err.exitCode, 3);
          return true;
        },
      );
    });
  }
});

describe('parseSecretManifests', () => {
  const info = bucketInfo(S3);
  const yamlSecret = `apiVersion: v1\nkind: Secret\nmetadata:\n  name: bucket-a\n  namespace: ns\n  uid: u-1\n  resourceVersion: "12"\ndata:\n  BucketInfo: ${b64(info)}\n`;

  it('reads kubectl -o yaml', () => {
    const [s] = parseSecretManifests(yamlSecret, 'file a.yaml');
    assert.deepEqual(s, { name: 'bucket-a', namespace: 'ns', uid: 'u-1', resourceVersion: '12', data: { BucketInfo: info } });
  });

  it('reads kubectl -o json, stringData, Lists and multi-document YAML', () => {
    const json = JSON.stringify({ kind: 'Secret', metadata: { name: 'bucket-b' }, stringData: { BucketInfo: info } });
    assert.equal(parseSecretManifests(json, 'f')[0]?.data.BucketInfo, info);
    const list = JSON.stringify({
      kind: 'List',
      items: [JSON.parse(json), { kind: 'Secret', metadata: { name: 'bucket-c' }, data: { BucketInfo: b64(info) } }],
    });
    assert.deepEqual(
      parseSecretManifests(list, 'f').map((s) => s.name),
      ['bucket-b', 'bucket-c'],
    );
    assert.deepEqual(
      parseSecretManifests(`${yamlSecret}---\n${yamlSecret.replace('bucket-a', 'bucket-z')}`, 'f').map((s) => s.name),
      ['bucket-a', 'bucket-z'],
    );
  });

  it('stringData wins over data for the same key, as in the apiserver', () => {
    const doc = JSON.stringify({ kind: 'Secret', metadata: { name: 'bucket-b' }, data: { k: b64('old') }, stringData: { k: 'new' } });
    assert.equal(parseSecretManifests(doc, 'f')[0]?.data.k, 'new');
  });

  const bad: { name: string; text: string; message: RegExp }[] = [
    { name: 'not YAML', text: `a: [${SECRET}`, message: /f: is not valid YAML or JSON/ },
    {
      name: 'a duplicated key',
      text: `kind: Secret\nmetadata: {name: bucket-a}\nstringData: {k: x}\nstringData: {k: ${SECRET}}\n`,
      message: /f: is not valid YAML or JSON \(line 4\)$/,
    },
    { name: 'empty', text: '', message: /f: contains no Secret/ },
    { name: 'a ConfigMap', text: 'kind: ConfigMap\nmetadata: {name: x}\n', message: /kind: expected a Secret, got "ConfigMap"/ },
    { name: 'a scalar', text: 'hello', message: /not a Kubernetes object/ },
    { name: 'no name', text: 'kind: Secret\ndata: {}\n', message: /metadata\.name: is missing/ },
    {
      name: 'bad base64',
      text: 'kind: Secret\nmetadata: {name: bucket-a}\ndata: {BucketInfo: "not base64!"}\n',
      message: /data\.BucketInfo: is not valid base64/,
    },
    {
      name: 'non-UTF-8',
      text: `kind: Secret\nmetadata: {name: bucket-a}\ndata: {BucketInfo: "${Buffer.from([0xff, 0xfe]).toString('base64')}"}\n`,
      message: /is not valid UTF-8/,
    },
    { name: 'data not a map', text: 'kind: Secret\nmetadata: {name: bucket-a}\ndata: [1]\n', message: /data: must be a map of strings/ },
  ];
  for (const c of bad) {
    it(`refuses ${c.name}`, () => {
      assert.throws(
        () => parseSecretManifests(c.text, 'f'),
        (err: unknown) => err instanceof CredentialsError && c.message.test(err.message) && !err.message.includes(SECRET),
      );
    });
  }
});
