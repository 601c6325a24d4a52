/**
 * The image against the real test environment (kube-apiserver + kine, SeaweedFS behind TLS, the
 * Cozystack-like provisioner), on the host network: `init` renders real, verified credentials
 * from a mounted kubeconfig, and `sidecar` follows a rotation and stops promptly on SIGTERM, with
 * and without an init process in front of it (Kubernetes starts none: node is PID 1 there).
 */
import assert from 'node:assert/strict';
import { chownSync, copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestEnv, type ProvisionedBucket, type TestEnv } from '../env/index.js';
import { freePort, waitUntil } from '../env/process.js';
import { HARDENED, requireImage, runImage, startContainer, type Container } from './engine.js';

const IMAGE_UID = 65532;

let env: TestEnv;
let ns: string;
/** Host dir mounted read-only at /kube: the admin kubeconfig and the test CA, readable by the image user. */
let kubeDir: string;
const containers: Container[] = [];
const keys = new Set<string>();

before(async () => {
  await requireImage();
  env = await startTestEnv();
  ns = await env.newNamespace('image');
  kubeDir = join(env.runDir, 'image-kube');
  mkdirSync(kubeDir);
  copyFileSync(env.kubeconfigPath, join(kubeDir, 'config'));
  copyFileSync(env.caFile, join(kubeDir, 'ca.crt'));
  // As a Secret volume with the pod's fsGroup would be: the private key stays 0600, owned by the reader.
  for (const name of ['', 'config', 'ca.crt']) chownSync(join(kubeDir, name), IMAGE_UID, IMAGE_UID);
});

after(async () => {
  for (const container of containers) await container.remove();
  await env?.stop();
});

let outSeq = 0;
/** A fresh output dir on the host, owned by the image user, mounted at /out. */
function newOut(): string {
  const out = join(env.runDir, `image-out-${++outSeq}`);
  mkdirSync(out);
  chownSync(out, IMAGE_UID, IMAGE_UID);
  return out;
}

function volumes(out: string): string[] {
  return [`${kubeDir}:/kube:ro`, `${out}:/out`];
}

async function provisioned(name: string, layout: 'bucketinfo' | 'cozystack-flat'): Promise<ProvisionedBucket> {
  const bucket = await env.createBucket(ns, name, { layout });
  for (const value of [bucket.accessKeyId, bucket.secretAccessKey]) keys.add(value);
  return bucket;
}

function assertNoKeys(text: string, where: string): void {
  for (const key of keys) assert.ok(!text.includes(key), `${where} holds key material`);
}

function credentialsHold(out: string, accessKeyId: string): boolean {
  const file = join(out, 'aws/credentials');
  return existsSync(file) && readFileSync(file, 'utf8').includes(accessKeyId);
}

describe('init in the image', () => {
  it('waits for the Bucket, verifies the keys against S3 over TLS (--ca-file) and renders them', async () => {
    // The flat Cozystack layout: a scheme-less endpoint, i.e. https, signed by the test CA.
    const bucket = await provisioned('image-init', 'cozystack-flat');
    const out = newOut();
    const args = ['init', '--kubeconfig', '/kube/config', '--namespace', ns, '--bucket', 'image-init', '--ca-file', '/kube/ca.crt'];
    const run = await runImage([...args, '--out', '/out', '--log-format', 'json', '--progress-interval', '1s'], { volumes: volumes(out) });
    assert.equal(run.code, 0, run.stderr);
    assertNoKeys(run.stdout + run.stderr, 'init output');
    assert.match(run.stderr, /"msg":"keys verified/);
    const json = JSON.parse(readFileSync(join(out, 'json/image-init.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(json.accessKeyId, bucket.accessKeyId);
    assert.equal(json.secretAccessKey, bucket.secretAccessKey);
    assert.equal(json.bucketName, bucket.bucketName);
    assert.ok(credentialsHold(out, bucket.accessKeyId));
  });
});

describe('sidecar in the image', () => {
  /** Starts a sidecar on `bucket`, waits until it is ready and the files hold the keys. */
  async function startSidecar(bucket: ProvisionedBucket, init: boolean): Promise<{ container: Container; out: string }> {
    const out = newOut();
    const listen = `127.0.0.1:${await freePort()}`;
    const args = ['sidecar', '--kubeconfig', '/kube/config', '--namespace', ns, '--bucket', bucket.name, '--out', '/out'];
    const flags = init ? [...HARDENED, '--init'] : [...HARDENED];
    const container = await startContainer([...args, '--listen', listen, '--log-format', 'json'], { volumes: volumes(out), flags });
    containers.push(container);
    await waitUntil(
      async () => (await fetch(`http://${listen}/readyz`)).status === 200 && credentialsHold(out, bucket.accessKeyId),
      30_000,
      () => `sidecar never ready with the keys`,
    ).catch(async (err: Error) => assert.fail(`${err.message}\n${await container.logs()}`));
    return { container, out };
  }

  it('follows a COSI rotation (delete + re-create) and stops within 2 s of SIGTERM, exit 0 (--init)', async (t) => {
    const bucket = await provisioned('image-sidecar', 'bucketinfo');
    const { container, out } = await startSidecar(bucket, true);
    const rotated = await env.rotateKeys(ns, bucket.name);
    for (const value of [rotated.accessKeyId, rotated.secretAccessKey]) keys.add(value);
    await waitUntil(
      () => credentialsHold(out, rotated.accessKeyId),
      30_000,
      () => 'the rotated key never reached the files',
    );
    const stopped = await container.signalAndWait('TERM');
    const logs = await container.logs();
    assert.equal(stopped.code, 0, logs);
    t.diagnostic(`exit ${stopped.code} ${stopped.ms} ms after podman kill --signal TERM (podman kill + wait included)`);
    assert.ok(stopped.ms < 2000, `stopped ${stopped.ms} ms after SIGTERM`);
    assertNoKeys(logs, 'sidecar logs');
  });

  it('as PID 1 with no init process, as Kubernetes runs it: stops within 2 s of SIGTERM, exit 0', async (t) => {
    const bucket = await provisioned('image-pid1', 'bucketinfo');
    const { container } = await startSidecar(bucket, false);
    const stopped = await container.signalAndWait('TERM');
    const logs = await container.logs();
    assert.equal(stopped.code, 0, logs);
    t.diagnostic(`exit ${stopped.code} ${stopped.ms} ms after podman kill --signal TERM (podman kill + wait included)`);
    assert.ok(stopped.ms < 2000, `stopped ${stopped.ms} ms after SIGTERM`);
    assertNoKeys(logs, 'sidecar logs');
  });
});
