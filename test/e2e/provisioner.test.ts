/**
 * The Cozystack-like provisioner does what the real platform does, on the real apiserver and S3:
 * Secrets in every layout under the names DESIGN.md gives, Ready conditions, COSI rotation
 * (delete + re-create, old key revoked) and in-place rotation, failures.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { startTestEnv, type TestEnv } from '../env/index.js';
import { GROUP, PLURAL, VERSION } from '../env/provisioner.js';
import { listProbe, s3Client } from '../env/s3-probe.js';
import { waitUntil } from '../env/process.js';

let env: TestEnv;
let ns: string;
let core: CoreV1Api;
let custom: CustomObjectsApi;

before(async () => {
  env = await startTestEnv();
  ns = await env.newNamespace('prov');
  core = env.controlPlane.adminKubeConfig().makeApiClient(CoreV1Api);
  custom = env.controlPlane.adminKubeConfig().makeApiClient(CustomObjectsApi);
});
after(async () => env?.stop());

interface Condition {
  type: string;
  status: string;
  reason?: string;
}

async function readyCondition(name: string): Promise<Condition | undefined> {
  const bucket = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name })) as {
    status?: { conditions?: Condition[] };
  };
  return bucket.status?.conditions?.find((c) => c.type === 'Ready');
}

describe('provisioner', () => {
  const cases = [
    { layout: 'bucketinfo', user: undefined, secret: 'bucket-p1', keys: ['BucketInfo'] },
    { layout: 'bucketinfo', user: 'alice', secret: 'bucket-p2-alice', keys: ['BucketInfo'] },
    {
      layout: 'cozystack-flat',
      user: undefined,
      secret: 'bucket-p3-credentials',
      keys: ['accessKey', 'bucketName', 'endpoint', 'secretKey'],
    },
    {
      layout: 'cozystack-flat',
      user: 'bob',
      secret: 'bucket-p4-bob-credentials',
      keys: ['accessKey', 'bucketName', 'endpoint', 'secretKey'],
    },
    {
      layout: 'cosi-v1alpha2',
      user: undefined,
      secret: 'bucket-p5',
      keys: ['COSI_S3_ACCESS_KEY_ID', 'COSI_S3_ACCESS_SECRET_KEY', 'COSI_S3_BUCKET_ID', 'COSI_S3_ENDPOINT', 'COSI_S3_REGION'],
    },
  ] as const;
  cases.forEach((c, i) => {
    it(`writes a ${c.layout} Secret ${c.secret} and marks the Bucket Ready`, async () => {
      const name = `p${i + 1}`;
      const bucket = await env.createBucket(ns, name, { layout: c.layout, user: c.user, secretDelayMs: 300 });
      assert.equal(bucket.secretName, c.secret);
      assert.notEqual(bucket.bucketName, name, 'the real bucket name differs from the Bucket name');
      assert.equal((await readyCondition(name))?.reason, 'Provisioning');
      await bucket.secretWritten;
      const secret = await core.readNamespacedSecret({ name: c.secret, namespace: ns });
      assert.deepEqual(Object.keys(secret.data ?? {}).sort(), [...c.keys]);
      assert.deepEqual(await readyCondition(name), { ...(await readyCondition(name)), status: 'True', reason: 'Provisioned' });
      assert.equal(await listProbe(s3Client(env.s3Endpoint, bucket), bucket.bucketName), 'OK');
    });
  });

  it('rotates the COSI way: new Secret UID and keys, old key revoked after the grace period', async () => {
    const first = await env.createBucket(ns, 'rot');
    await first.secretWritten;
    const before = await core.readNamespacedSecret({ name: first.secretName, namespace: ns });
    const rotation = await env.rotateKeys(ns, 'rot', { mode: 'recreate', graceMs: 500 });
    const after = await core.readNamespacedSecret({ name: first.secretName, namespace: ns });
    assert.notEqual(after.metadata?.uid, before.metadata?.uid);
    assert.notEqual(rotation.secretAccessKey, first.secretAccessKey);
    assert.equal(await listProbe(s3Client(env.s3Endpoint, first), first.bucketName), 'OK', 'old key still works during the grace period');
    await rotation.revoked;
    assert.equal(await listProbe(s3Client(env.s3Endpoint, first), first.bucketName), 'InvalidAccessKeyId');
    assert.equal(await listProbe(s3Client(env.s3Endpoint, rotation), rotation.bucketName), 'OK');
  });

  it('rotates in place: same Secret UID, new keys', async () => {
    const first = await env.createBucket(ns, 'inplace');
    await first.secretWritten;
    const before = await core.readNamespacedSecret({ name: first.secretName, namespace: ns });
    const rotation = await env.rotateKeys(ns, 'inplace', { mode: 'in-place', graceMs: 0 });
    const after = await core.readNamespacedSecret({ name: first.secretName, namespace: ns });
    assert.equal(after.metadata?.uid, before.metadata?.uid);
    assert.notEqual(after.metadata?.resourceVersion, before.metadata?.resourceVersion);
    await rotation.revoked;
    assert.equal(await listProbe(s3Client(env.s3Endpoint, first), first.bucketName), 'InvalidAccessKeyId');
    assert.equal(await listProbe(s3Client(env.s3Endpoint, rotation), rotation.bucketName), 'OK');
  });

  it('marks a Bucket failed with a reason', async () => {
    await env.createBucket(ns, 'broken', { secretDelayMs: 60_000 });
    await env.failBucket(ns, 'broken', 'InstallFailed', 'helm install failed');
    await waitUntil(
      async () => (await readyCondition('broken'))?.reason === 'InstallFailed',
      5000,
      () => 'no InstallFailed condition',
    );
    assert.equal((await readyCondition('broken'))?.status, 'False');
  });

  it('provisions a Bucket created by anyone, not only through createBucket', async () => {
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: PLURAL,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Bucket', metadata: { name: 'plain' } },
    });
    await waitUntil(
      async () => (await readyCondition('plain'))?.status === 'True',
      15_000,
      () => 'Bucket plain never became Ready',
    );
    await core.readNamespacedSecret({ name: 'bucket-plain', namespace: ns });
  });
});
