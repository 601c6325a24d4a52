/**
 * `bucket-agent sidecar` end to end: the real binary against the real kube-apiserver, SeaweedFS
 * behind the keys, the Cozystack-like provisioner rotating them the COSI way (delete + create)
 * and in place, and real notified parties: a process counting SIGHUPs (found by name), an HTTP
 * server, a command. An app built on the AWS SDK for JavaScript v3 and the aws CLI use the
 * container-credentials endpoint across rotations whose old keys are revoked. Volume mode runs
 * against a directory updated exactly as the kubelet's atomic writer does. Every run's output
 * (and the Events) is scanned for the keys at the end.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestEnv, type ProvisionedBucket, type TestEnv } from '../env/index.js';
import { clearSecretVolume, writeSecretVolume } from '../env/kubelet-volume.js';
import { freePort, waitUntil } from '../env/process.js';
import { listProbe, s3Client } from '../env/s3-probe.js';
import { REPO_ROOT, requireProgram } from '../env/tools.js';
import {
  assertRunClean,
  createPod,
  knownSecrets,
  podEvents,
  rememberKeys,
  runCli,
  startCli,
  transcripts,
  type Running,
} from './cli-runs.js';

let env: TestEnv;
let ns: string;
const cleanups: (() => void | Promise<void>)[] = [];

before(async () => {
  requireProgram('aws', 'pip install awscli==1.45.11');
  env = await startTestEnv();
  ns = await env.newNamespace('sidecar');
});
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await env?.stop();
  // Sidecars end here (SIGTERM): only now is every run's whole output known.
  assertNoKeyMaterial();
});

function assertNoKeyMaterial(): void {
  assert.ok(transcripts.length >= 6, `runs recorded: ${transcripts.length}`);
  for (const run of transcripts) {
    for (const value of knownSecrets)
      assert.ok(!run.stdout.includes(value) && !run.stderr.includes(value), 'a key or the token reached the output');
    // A usage error is printed before logging starts: plain text, by design.
    if (run.code !== 2) assertRunClean(run);
  }
}

// ---- the notified parties ----------------------------------------------------------------------

/** A process that counts SIGHUPs into a file, found by the sidecar by its (unique) name. */
function startCounter(dir: string): { name: string; count(): number } {
  const name = `app-${randomBytes(3).toString('hex')}`;
  const file = join(dir, `${name}.count`);
  const script = `let n = 0; const fs = require('fs'); fs.writeFileSync(${JSON.stringify(file)}, '0');
    process.on('SIGHUP', () => fs.writeFileSync(${JSON.stringify(file)}, String(++n)));
    setInterval(() => { if (process.ppid === 1) process.exit(0); }, 1000);`;
  const child: ChildProcess = spawn(process.execPath, ['-e', script], { argv0: name, stdio: 'ignore' });
  cleanups.push(() => void child.kill('SIGKILL'));
  return { name, count: () => (existsSync(file) ? Number(readFileSync(file, 'utf8')) : 0) };
}

/** An HTTP server that counts the calls it gets. */
async function startReloadServer(): Promise<{ url: string; calls: () => number; bodies: string[] }> {
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      bodies.push(body);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/reload`, calls: () => bodies.length, bodies };
}

// ---- helpers ------------------------------------------------------------------------------------

interface Sidecar {
  readonly running: Running;
  readonly out: string;
  readonly health: string;
  readonly credentials: string | undefined;
}

async function startSidecar(args: string[], opts: { credentials?: boolean; env?: Record<string, string> } = {}): Promise<Sidecar> {
  const out = join(env.runDir, `sidecar-out-${randomBytes(3).toString('hex')}`);
  const health = `http://127.0.0.1:${await freePort()}`;
  const credentials = opts.credentials === true ? `http://127.0.0.1:${await freePort()}` : undefined;
  const all = ['sidecar', '--out', out, '--log-format', 'json', '--listen', health.replace('http://', ''), ...args];
  if (credentials !== undefined) all.push('--credentials-listen', credentials.replace('http://', ''), '--credentials-refresh', '1s');
  const running = startCli(all, opts.env ?? {});
  cleanups.push(async () => void (await running.stop()));
  return { running, out, health, credentials };
}

function apiArgs(bucket: string): string[] {
  return ['--source', 'api', '--kubeconfig', env.kubeconfigPath, '--namespace', ns, '--bucket', bucket];
}

async function status(url: string): Promise<{ code: number; body: string }> {
  const res = await fetch(url);
  return { code: res.status, body: await res.text() };
}

function credentialsFile(out: string): string {
  return readFileSync(join(out, 'aws/credentials'), 'utf8');
}

async function waitForKeys(out: string, accessKeyId: string, what: string): Promise<void> {
  const holds = (): boolean => existsSync(join(out, 'aws/credentials')) && credentialsFile(out).includes(accessKeyId);
  await waitUntil(holds, 30_000, () => `${what}: files never held ${accessKeyId.slice(0, 4)}…`);
}

/** One list request with the aws CLI, configured by `awsEnv` alone (files or the credentials endpoint). */
async function awsLs(bucket: ProvisionedBucket, awsEnv: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const args = ['s3api', 'list-objects-v2', '--bucket', bucket.bucketName, '--max-keys', '1', '--endpoint-url', env.s3Endpoint];
  const child = spawn('aws', args, { env: { PATH: process.env.PATH, HOME: process.env.HOME, AWS_DEFAULT_REGION: 'us-east-1', ...awsEnv } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stderr };
}

async function provisioned(name: string): Promise<ProvisionedBucket> {
  const bucket = await env.createBucket(ns, name);
  await bucket.secretWritten;
  rememberKeys(bucket);
  return bucket;
}

// ---- tests --------------------------------------------------------------------------------------

describe('bucket-agent sidecar, api source', () => {
  it('20 rotations (delete+create and in place): files replaced, signal, HTTP and command delivered, old key revoked, aws CLI works', async () => {
    const bucket = await provisioned('rot');
    const dir = join(env.runDir, 'notify');
    mkdirSync(dir, { recursive: true });
    const counter = startCounter(dir);
    const reload = await startReloadServer();
    const execLog = join(dir, 'exec.log');
    const pod = 'app-rot';
    const uid = await createPod(env.controlPlane.adminKubeConfig(), ns, pod);
    const sidecar = await startSidecar(
      [
        ...apiArgs('rot'),
        '--notify',
        `signal:HUP:${counter.name}`,
        '--notify',
        `http:POST:${reload.url}`,
        '--notify',
        `exec:echo "$BUCKET_AGENT_ALIASES" >> ${execLog}`,
      ],
      { env: { POD_NAME: pod, POD_NAMESPACE: ns, POD_UID: uid } },
    );
    await waitForKeys(sidecar.out, bucket.accessKeyId, 'first render');
    await waitUntil(
      async () => (await status(`${sidecar.health}/readyz`)).code === 200,
      10_000,
      () => 'readyz never 200',
    );
    assert.equal(counter.count(), 0, 'no notification for the first render: the app has not started');
    const awsEnv = { AWS_CONFIG_FILE: join(sidecar.out, 'aws/config'), AWS_SHARED_CREDENTIALS_FILE: join(sidecar.out, 'aws/credentials') };
    let previous = bucket;
    for (let i = 1; i <= 20; i++) {
      const rotation = await env.rotateKeys(ns, 'rot', { mode: i % 2 === 0 ? 'in-place' : 'recreate', graceMs: 200 });
      rememberKeys(rotation);
      await waitForKeys(sidecar.out, rotation.accessKeyId, `rotation ${i}`);
      await waitUntil(
        () => counter.count() >= i && reload.calls() >= i && (readFileSync(execLog, 'utf8').match(/rot/g) ?? []).length >= i,
        20_000,
        () => `rotation ${i}: signal ${counter.count()}, http ${reload.calls()}`,
      );
      await rotation.revoked;
      assert.notEqual(
        await listProbe(s3Client(env.s3Endpoint, previous), bucket.bucketName),
        'OK',
        `rotation ${i}: the old key is revoked`,
      );
      if (i % 5 === 0 || i === 1) {
        const ls = await awsLs(rotation, awsEnv);
        assert.equal(ls.code, 0, `rotation ${i}: aws CLI with the rendered files: ${ls.stderr}`);
      }
      previous = rotation;
    }
    assert.equal(counter.count(), 20, 'exactly one signal per rotation');
    assert.deepEqual(JSON.parse(reload.bodies[0] ?? '{}'), { event: 'rendered', aliases: ['rot'] });
    const metrics = (await status(`${sidecar.health}/metrics`)).body;
    assert.match(metrics, /^bucket_agent_rotations_total\{alias="rot"\} 20$/m);
    assert.match(metrics, /^bucket_agent_notify_total\{kind="signal",outcome="ok"\} 20$/m);
    for (const value of knownSecrets) assert.ok(!metrics.includes(value), 'no key in /metrics');
    const events = await podEvents(env.controlPlane.adminKubeConfig(), ns, pod);
    assert.ok(
      events.some((e) => e.reason === 'CredentialsRotated'),
      'rotations are recorded as Events',
    );
    for (const value of knownSecrets) assert.ok(!JSON.stringify(events).includes(value), 'no key in Events');
  });

  it('an AWS SDK app given only the credentials-endpoint variables keeps writing and reading across 3 rotations, old keys revoked; the aws CLI too', async () => {
    const bucket = await provisioned('sdk');
    const sidecar = await startSidecar(apiArgs('sdk'), { credentials: true });
    await waitForKeys(sidecar.out, bucket.accessKeyId, 'first render');
    const endpointEnv = {
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${sidecar.credentials ?? ''}/v1/credentials/sdk`,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: join(sidecar.out, 'aws/container-token'),
    };
    const app = startSdkApp(bucket, endpointEnv);
    await app.waitForOps(5);
    for (let i = 1; i <= 3; i++) {
      const before = app.signedWith().size;
      // The old key keeps working for a few seconds, as in COSI; the app re-fetches every second.
      const rotation = await env.rotateKeys(ns, 'sdk', { graceMs: 5_000 });
      rememberKeys(rotation);
      await waitUntil(
        () => app.signedWith().has(rotation.accessKeyId),
        30_000,
        () => `rotation ${i}: the app never signed with the new key`,
      );
      await rotation.revoked;
      const done = app.ops();
      await app.waitForOps(done + 5);
      assert.ok(app.signedWith().size > before, `rotation ${i}: a new key in use`);
      const cli = await awsLs(rotation, endpointEnv);
      assert.equal(cli.code, 0, `rotation ${i}: aws CLI through the endpoint: ${cli.stderr}`);
    }
    const report = await app.stop();
    assert.equal(report.failures, 0, `the app never failed: ${report.lastError}`);
    assert.ok(report.ops >= 20, `the app kept working (${report.ops} put+get)`);
  });

  it('the credentials endpoint refuses a missing or wrong token and unknown aliases, and never logs the token', async () => {
    await provisioned('ep');
    const sidecar = await startSidecar(apiArgs('ep'), { credentials: true });
    await waitUntil(
      () => existsSync(join(sidecar.out, 'aws/container-token')),
      30_000,
      () => 'no token file',
    );
    const token = readFileSync(join(sidecar.out, 'aws/container-token'), 'utf8');
    knownSecrets.add(token);
    const url = `${sidecar.credentials ?? ''}/v1/credentials`;
    const get = async (path: string, auth?: string): Promise<number> =>
      (await fetch(`${url}/${path}`, { headers: auth === undefined ? {} : { Authorization: auth } })).status;
    assert.equal(await get('ep'), 401);
    assert.equal(await get('ep', 'wrong-token'), 403);
    assert.equal(await get('nope', token), 404);
    assert.equal(await get('ep', token), 200);
    assert.equal((await fetch(`${url}/ep`, { method: 'POST', headers: { Authorization: token } })).status, 405);
    assert.ok(!sidecar.running.stderrSoFar().includes(token), 'the token is never logged');
  });
});

describe('bucket-agent sidecar, volume source (a directory updated as the kubelet does)', () => {
  it('waits for an empty optional volume, renders, follows a swap, keeps files while the Secret is gone, takes the re-created one', async () => {
    const secrets = join(env.runDir, 'secrets');
    const volume = join(secrets, 'bucket-vol');
    mkdirSync(volume, { recursive: true });
    const execLog = join(env.runDir, 'vol-exec.log');
    const sidecar = await startSidecar([
      '--source',
      'volume',
      '--secrets-dir',
      secrets,
      '--bucket',
      'vol',
      '--no-verify',
      '--notify',
      `exec:echo x >> ${execLog}`,
    ]);
    await sidecar.running.waitForLog(/following credentials through Secret volumes/);
    assert.equal((await status(`${sidecar.health}/readyz`)).code, 503, 'not ready before the kubelet fills the volume');
    const keys = (i: number): { accessKeyId: string; secretAccessKey: string } => ({
      accessKeyId: `AKIAVOLUME${i}${randomBytes(5).toString('hex')}`,
      secretAccessKey: randomBytes(20).toString('base64url'),
    });
    const write = (k: { accessKeyId: string; secretAccessKey: string }): void => {
      rememberKeys(k);
      writeSecretVolume(volume, { BucketInfo: bucketInfo(k) });
    };
    const first = keys(1);
    write(first);
    await waitForKeys(sidecar.out, first.accessKeyId, 'volume first render');
    assert.equal((await status(`${sidecar.health}/readyz`)).code, 200);
    const second = keys(2);
    write(second);
    await waitForKeys(sidecar.out, second.accessKeyId, 'volume swap');
    await waitUntil(
      () => existsSync(execLog) && readFileSync(execLog, 'utf8').split('\n').length > 1,
      10_000,
      () => 'volume: notify not run',
    );
    clearSecretVolume(volume);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.ok(credentialsFile(sidecar.out).includes(second.accessKeyId), 'the last good files stay while the Secret is gone');
    const third = keys(3);
    write(third);
    await waitForKeys(sidecar.out, third.accessKeyId, 'volume re-created');
  });

  it('init --source volume waits for the kubelet to fill an optional Secret volume', async () => {
    const secrets = join(env.runDir, 'secrets-init');
    const volume = join(secrets, 'bucket-ivol');
    mkdirSync(volume, { recursive: true });
    const out = join(env.runDir, 'init-vol-out');
    const running = startCli([
      'init',
      '--source',
      'volume',
      '--secrets-dir',
      secrets,
      '--bucket',
      'ivol',
      '--no-verify',
      '--out',
      out,
      '--log-format',
      'json',
      '--timeout',
      '60s',
    ]);
    await running.waitForLog(/waiting for Secret bucket-ivol/);
    const k = { accessKeyId: `AKIAINITVOL${randomBytes(5).toString('hex')}`, secretAccessKey: randomBytes(20).toString('base64url') };
    rememberKeys(k);
    writeSecretVolume(volume, { BucketInfo: bucketInfo(k) });
    const run = await running.done;
    assert.equal(run.code, 0, run.stderr);
    assert.ok(credentialsFile(out).includes(k.accessKeyId));
  });

  it('bad flags: a non-loopback credentials address is refused at start (exit 2)', async () => {
    const run = await runCli(['sidecar', '--bucket', 'x', '--out', join(env.runDir, 'never'), '--credentials-listen', '0.0.0.0:9911']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--credentials-listen: "0\.0\.0\.0:9911" is not a loopback address/);
  });
});

function bucketInfo(k: { accessKeyId: string; secretAccessKey: string }): string {
  const spec = {
    bucketName: 'vol-bucket',
    authenticationType: 'KEY',
    secretS3: { endpoint: 'http://127.0.0.1:9', region: '', accessKeyID: k.accessKeyId, accessSecretKey: k.secretAccessKey },
    secretAzure: null,
    protocols: ['s3'],
  };
  return JSON.stringify({ metadata: { name: 'bc-vol' }, spec });
}

// ---- the SDK app --------------------------------------------------------------------------------

interface SdkApp {
  ops(): number;
  signedWith(): Set<string>;
  waitForOps(n: number): Promise<void>;
  stop(): Promise<{ ops: number; failures: number; lastError: string }>;
}

/**
 * A real app on @aws-sdk/client-s3 that puts and gets an object in a loop, credentials from the
 * container endpoint only (the default provider chain reads the two variables). It reports each
 * operation and the access key that signed it (from the request's Authorization header).
 */
function startSdkApp(bucket: ProvisionedBucket, endpointEnv: Record<string, string>): SdkApp {
  const script = `
    const { S3Client, PutObjectCommand, GetObjectCommand } = await import('@aws-sdk/client-s3');
    const s3 = new S3Client({ endpoint: ${JSON.stringify(env.s3Endpoint)}, region: 'us-east-1', forcePathStyle: true });
    s3.middlewareStack.add((next) => async (args) => {
      const auth = args.request?.headers?.authorization ?? '';
      const key = /Credential=([^/]+)\\//.exec(auth)?.[1];
      if (key) process.stdout.write(JSON.stringify({ signedWith: key }) + '\\n');
      return next(args);
    }, { step: 'deserialize' });
    let stop = false;
    process.on('SIGTERM', () => (stop = true));
    for (let i = 0; !stop; i++) {
      const body = 'object ' + i;
      try {
        await s3.send(new PutObjectCommand({ Bucket: ${JSON.stringify(bucket.bucketName)}, Key: 'app.txt', Body: body }));
        const got = await (await s3.send(new GetObjectCommand({ Bucket: ${JSON.stringify(bucket.bucketName)}, Key: 'app.txt' }))).Body.transformToString();
        process.stdout.write(JSON.stringify({ ok: got === body }) + '\\n');
      } catch (err) {
        process.stdout.write(JSON.stringify({ ok: false, error: String(err && err.name) + ': ' + String(err && err.message) }) + '\\n');
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    // The repository root, where node_modules/@aws-sdk/client-s3 resolves from.
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...endpointEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanups.push(() => void child.kill('SIGKILL'));
  const keys = new Set<string>();
  const state = { ops: 0, failures: 0, lastError: '' };
  let buffer = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines.filter(Boolean)) {
      const record = JSON.parse(line) as { signedWith?: string; ok?: boolean; error?: string };
      if (record.signedWith !== undefined) keys.add(record.signedWith);
      else if (record.ok === true) state.ops++;
      else {
        state.failures++;
        state.lastError = record.error ?? 'wrong content';
      }
    }
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return {
    ops: () => state.ops,
    signedWith: () => keys,
    waitForOps: (n) =>
      waitUntil(
        () => state.ops >= n,
        60_000,
        () => `app reached ${state.ops} of ${n} operations (failures ${state.failures}: ${state.lastError})`,
      ),
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      return state;
    },
  };
}
