/**
 * Real round trips through the files `bucket-agent render` writes from a provisioned Bucket's
 * Secret: the aws CLI, the AWS SDK for JavaScript v3, rclone, s3cmd and restic each upload an
 * object to SeaweedFS and read it back, for every Secret layout. The flat Cozystack layout has an endpoint without scheme (https),
 * served by TLS in front of SeaweedFS; the clients trust the test CA through their own flags.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { startTestEnv, type ProvisionedBucket, type TestEnv } from '../env/index.js';
import { REPO_ROOT, requireProgram, toolPath } from '../env/tools.js';
import { readWithJsSdk } from '../clients/readers.js';

const BIN = join(REPO_ROOT, 'dist/src/bin.js');
const CASES = [
  { layout: 'bucketinfo', user: undefined },
  { layout: 'bucketinfo', user: 'alice' },
  { layout: 'cosi-v1alpha2', user: undefined },
  { layout: 'cozystack-flat', user: undefined },
] as const;

let env: TestEnv;
let ns: string;

before(async () => {
  for (const [name, install] of [
    ['aws', 'pip install awscli==1.45.11'],
    ['s3cmd', 'apt-get install -y s3cmd'],
    ['restic', 'apt-get install -y restic'],
  ]) {
    requireProgram(name ?? '', install ?? '');
  }
  env = await startTestEnv();
  ns = await env.newNamespace('roundtrip');
});
after(async () => env?.stop());

interface Ran {
  stdout: string;
  stderr: string;
}

/**
 * Runs a client asynchronously: the TLS proxy in front of S3 and the apiserver's connection proxy
 * live in this process, so a synchronous spawn would block the very event loop that serves them.
 */
async function run(cmd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}, input?: string): Promise<Ran> {
  const child = spawn(cmd, args, { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...extraEnv }, timeout: 60_000 });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.end(input ?? '');
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, `${cmd} ${args.join(' ')} failed (${code}):\n${stdout}\n${stderr}`);
  return { stdout, stderr };
}

/** Fetches the Secret from the apiserver as `kubectl get secret -o json` would and renders it. */
async function renderFromCluster(bucket: ProvisionedBucket, out: string): Promise<void> {
  const core = env.controlPlane.adminKubeConfig().makeApiClient(CoreV1Api);
  const secret = await core.readNamespacedSecret({ name: bucket.secretName, namespace: bucket.namespace });
  const manifest = JSON.stringify({ apiVersion: 'v1', kind: 'Secret', ...secret });
  await run(process.execPath, [BIN, 'render', '--secret-file', '-', '--alias', bucket.name, '--out', out], {}, manifest);
}

function payload(name: string, dir: string): { file: string; content: string } {
  const content = `${name} ${Date.now()} ${Math.random()}\n`;
  const file = join(dir, `${name}.txt`);
  writeFileSync(file, content);
  return { file, content };
}

for (const { layout, user } of CASES) {
  describe(`round trip with the files rendered from a ${layout} Secret${user === undefined ? '' : ` of user ${user}`}`, () => {
    const tls = layout === 'cozystack-flat';
    let bucket: ProvisionedBucket;
    let out: string;
    let scratch: string;

    before(async () => {
      bucket = await env.createBucket(ns, `rt-${layout.replace(/[^a-z0-9]/g, '')}${user ?? ''}`, { layout, user });
      await bucket.secretWritten;
      scratch = mkdtempSync(join(env.runDir, `rt-${layout}-`));
      out = join(scratch, 'out');
      await renderFromCluster(bucket, out);
    });

    it('aws s3 cp up and down (aws/config + aws/credentials)', async () => {
      const awsEnv = {
        AWS_CONFIG_FILE: join(out, 'aws/config'),
        AWS_SHARED_CREDENTIALS_FILE: join(out, 'aws/credentials'),
        ...(tls ? { AWS_CA_BUNDLE: env.caFile } : {}),
      };
      const { file, content } = payload('aws', scratch);
      await run('aws', ['s3', 'cp', file, `s3://${bucket.bucketName}/aws.txt`, '--profile', bucket.name], awsEnv);
      await run('aws', ['s3', 'cp', `s3://${bucket.bucketName}/aws.txt`, join(scratch, 'aws.back')], awsEnv); // default profile
      assert.equal(readFileSync(join(scratch, 'aws.back'), 'utf8'), content);
    });

    it('AWS SDK for JavaScript v3 PutObject and GetObject (aws/ files; path style set in code)', async () => {
      const files = { config: join(out, 'aws/config'), credentials: join(out, 'aws/credentials') };
      const content = `js-sdk ${Date.now()} ${Math.random()}\n`;
      const queries = [{ profile: bucket.name, bucket: bucket.bucketName, key: 'js-sdk.txt', body: content }];
      const got = await readWithJsSdk(files, { mode: 'roundtrip', queries }, tls ? { NODE_EXTRA_CA_CERTS: env.caFile } : {});
      assert.deepEqual(got, [content]);
    });

    it('rclone copy up and down (rclone/rclone.conf)', async () => {
      const flags = ['--config', join(out, 'rclone/rclone.conf'), ...(tls ? ['--ca-cert', env.caFile] : [])];
      const { file, content } = payload('rclone', scratch);
      await run(toolPath('rclone'), [...flags, 'copyto', file, `${bucket.name}:${bucket.bucketName}/rclone.txt`]);
      const r = await run(toolPath('rclone'), [...flags, 'cat', `${bucket.name}:${bucket.bucketName}/rclone.txt`]);
      assert.equal(r.stdout, content);
    });

    it('s3cmd put and get (s3cmd/<alias>.s3cfg)', async () => {
      const flags = ['-c', join(out, `s3cmd/${bucket.name}.s3cfg`), ...(tls ? [`--ca-certs=${env.caFile}`] : [])];
      const { file, content } = payload('s3cmd', scratch);
      await run('s3cmd', [...flags, 'put', file, `s3://${bucket.bucketName}/s3cmd.txt`]);
      await run('s3cmd', [...flags, 'get', '--force', `s3://${bucket.bucketName}/s3cmd.txt`, join(scratch, 's3cmd.back')]);
      assert.equal(readFileSync(join(scratch, 's3cmd.back'), 'utf8'), content);
    });

    it('restic init, backup and restore (restic/<alias>.env sourced by sh)', async () => {
      const envFile = join(out, `restic/${bucket.name}.env`);
      const data = mkdtempSync(join(scratch, 'restic-data-'));
      const { content } = payload('restic', data);
      const cacert = tls ? `--cacert ${JSON.stringify(env.caFile)}` : '';
      const script = `set -eu; set -a; . ${JSON.stringify(envFile)}; set +a
        restic ${cacert} init
        restic ${cacert} backup ${JSON.stringify(data)}
        restic ${cacert} restore latest --target ${JSON.stringify(join(scratch, 'restored'))}`;
      await run('sh', ['-c', script], { RESTIC_PASSWORD: 'test-only-password', XDG_CACHE_HOME: join(scratch, 'cache') });
      assert.equal(readFileSync(join(scratch, 'restored', data, 'restic.txt'), 'utf8'), content);
    });
  });
}
