import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { startSeaweed, type Seaweed } from '../env/seaweedfs.js';
import { listProbe, s3Client } from '../env/s3-probe.js';
import { randomAccessKeyId, randomSecretAccessKey } from '../env/s3-keys.js';
import { REPO_ROOT } from '../env/tools.js';

// The S3 half of the test environment must behave like Cozystack's SeaweedFS: these are the
// answers bucket-agent's `init --verify` and the rotation tests rely on.

const BUCKET_A = 'e2e-bucket-a';
const BUCKET_B = 'e2e-bucket-b';

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

describe('SeaweedFS test server', () => {
  let s3: Seaweed | undefined;
  const server = (): Seaweed => {
    if (s3 === undefined) throw new Error('SeaweedFS did not start');
    return s3;
  };

  before(async () => {
    s3 = await startSeaweed({ logDir: join(REPO_ROOT, 'test', '.runs', 'seaweedfs') });
    await s3.createBucket(BUCKET_A);
    await s3.createBucket(BUCKET_B);
  });

  after(async () => {
    await s3?.stop();
  });

  it('serves the admin identity it started with', async () => {
    const names = (await s3Client(server().endpoint, server().admin).listBuckets()).map((b) => b.name);
    assert.ok(names.includes(BUCKET_A) && names.includes(BUCKET_B), `buckets: ${names.join(',')}`);
  });

  it('denies anonymous requests', async () => {
    const res = await fetch(`${server().endpoint}/${BUCKET_A}?list-type=2&max-keys=1`);
    assert.equal(res.status, 403);
    assert.match(await res.text(), /<Code>AccessDenied<\/Code>/);
  });

  it('rejects an unknown access key with InvalidAccessKeyId', async () => {
    const keys = { accessKeyId: randomAccessKeyId(), secretAccessKey: randomSecretAccessKey() };
    assert.equal(await listProbe(s3Client(server().endpoint, keys), BUCKET_A), 'InvalidAccessKeyId');
  });

  it('rejects a wrong secret with SignatureDoesNotMatch', async () => {
    const keys = { accessKeyId: server().admin.accessKeyId, secretAccessKey: randomSecretAccessKey() };
    assert.equal(await listProbe(s3Client(server().endpoint, keys), BUCKET_A), 'SignatureDoesNotMatch');
  });

  it('lets a fresh identity put and get objects in its bucket, with / and + in its secret', async () => {
    const keys = await server().createIdentity('e2e-writer', BUCKET_A);
    assert.match(keys.secretAccessKey, /\//);
    assert.match(keys.secretAccessKey, /\+/);
    const client = s3Client(server().endpoint, keys);
    await client.putObject(BUCKET_A, 'dir/hello.txt', 'hello from bucket-agent');
    assert.equal(await readAll(await client.getObject(BUCKET_A, 'dir/hello.txt')), 'hello from bucket-agent');
    assert.equal(await listProbe(client, BUCKET_A), 'OK');
  });

  it('denies an identity scoped to one bucket access to another bucket', async () => {
    const keys = await server().createIdentity('e2e-scoped', BUCKET_A);
    const client = s3Client(server().endpoint, keys);
    assert.equal(await listProbe(client, BUCKET_A), 'OK');
    assert.equal(await listProbe(client, BUCKET_B), 'AccessDenied');
    await assert.rejects(client.putObject(BUCKET_B, 'x.txt', 'x'), { code: 'AccessDenied' });
  });

  it("rejects a deleted identity's key while a re-created identity works (COSI rotation)", async () => {
    const old = await server().createIdentity('e2e-rotating', BUCKET_B);
    const oldClient = s3Client(server().endpoint, old);
    assert.equal(await listProbe(oldClient, BUCKET_B), 'OK');

    await server().deleteIdentity('e2e-rotating');
    const fresh = await server().createIdentity('e2e-rotating', BUCKET_B);

    assert.notEqual(fresh.accessKeyId, old.accessKeyId);
    assert.equal(await listProbe(oldClient, BUCKET_B), 'InvalidAccessKeyId');
    const freshClient = s3Client(server().endpoint, fresh);
    await freshClient.putObject(BUCKET_B, 'rotated.txt', 'new keys');
    assert.equal(await readAll(await freshClient.getObject(BUCKET_B, 'rotated.txt')), 'new keys');
  });
});
