/**
 * Journey: examples/mc — a Pod uploading a directory with the MinIO client `mc` in a loop, its
 * credentials kept current by the injected native sidecar. The sidecar runs on this machine with
 * its own args as the example's ServiceAccount; the app container's own script runs as its own
 * uid (1000), with its volumes mapped to local directories and the mc built from
 * github.com/minio/mc. mc creates `share/` and `certs/` in its config dir at every start, and the
 * agent's files are read-only to the app: pointed straight at them, mc refuses to run; the
 * example's writable MC_CONFIG_DIR with a symlink to the rendered config.json works, and goes on
 * working across a rotation whose old key is revoked (mc with a copy of the old file is refused).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';
import { startTestEnv, type ProvisionedBucket, type TestEnv } from '../env/index.js';
import { waitUntil } from '../env/process.js';
import type { S3Keys } from '../env/s3-keys.js';
import type { Running } from '../e2e/cli-runs.js';
import {
  agentContainers,
  asContainerUser,
  containerOf,
  localAppCommand,
  runAppToEnd,
  startAgent,
  startApp,
  type AppCommand,
  type AppRun,
  type LocalPod,
  type RunningApp,
} from './example-pod.js';
import { assertAgentRunsClean, BUCKET, bucketObjects, freshPod, rotateAndRevoke, toolsOnPath, setUpExample } from './client-journeys.js';

const JOURNEY = 'mc';
const FILE = 'pod.yaml';
const HEALTH_PORT = 9910;
/** A line of `mc ls` (`[date]  20KiB STANDARD name`), not of `mc cp`'s progress. */
const LISTED = (name: string): RegExp => new RegExp(`B STANDARD ${name.replace('.', '\\.')}$`, 'm');

let env: TestEnv;
let ns: string;
let pod: V1PodSpec;
let app: V1Container;
let bucket: ProvisionedBucket;
let path: { PATH: string };
let local: LocalPod;
let sidecar: Running | undefined;
let uploader: RunningApp | undefined;
const dirs = { data: '', mcConfig: '' };

before(async () => {
  env = await startTestEnv();
  let kubeconfig: string;
  ({ ns, kubeconfig, bucket, pod } = await setUpExample(env, { journey: JOURNEY, file: FILE, kind: 'Pod' }, 'mc-uploader', 'mc'));
  app = containerOf(pod, 'uploader');
  path = toolsOnPath(join(env.runDir, 'mc-bin'), ['mc']);
  local = await freshPod(env, ns, 'mc-uploader', kubeconfig);
  dirs.data = join(env.runDir, 'mc-data');
  dirs.mcConfig = join(env.runDir, 'mc-config');
  mkdirSync(dirs.data, { recursive: true });
  mkdirSync(dirs.mcConfig, { recursive: true });
  chmodSync(dirs.mcConfig, 0o777); // an emptyDir: writable by the app's uid
});
after(async () => {
  await uploader?.stop();
  await sidecar?.stop();
  await env?.stop();
  assertAgentRunsClean(1);
});

/** The mc/config.json alias the app sees. */
function renderedAlias(): { accessKey?: string } | undefined {
  try {
    const config = JSON.parse(readFileSync(join(local.out, 'mc/config.json'), 'utf8')) as {
      aliases?: Record<string, { accessKey?: string }>;
    };
    return config.aliases?.[BUCKET];
  } catch {
    return undefined;
  }
}

async function waitForKey(keyId: string, what: string): Promise<void> {
  await waitUntil(
    () => renderedAlias()?.accessKey === keyId,
    30_000,
    () => `${what}: mc/config.json never held ${keyId.slice(0, 4)}…`,
  );
}

/** Waits until the bucket holds `uploads/<name>` with `body`, read with `keys` by another client. */
async function waitForUpload(keys: S3Keys, name: string, body: Buffer): Promise<void> {
  await waitUntil(
    async () => (await bucketObjects(env, keys, bucket.bucketName, `uploads/${name}`)).get(`uploads/${name}`)?.equals(body) === true,
    60_000,
    () => `uploads/${name} never arrived; the app said:\n${uploader?.output() ?? ''}`,
  );
}

/** `mc ARGS` as the app container's uid, with MC_CONFIG_DIR = `configDir`. */
function mc(configDir: string, args: readonly string[]): Promise<AppRun> {
  const command: AppCommand = { argv: ['mc', ...args], env: { MC_CONFIG_DIR: configDir } };
  return runAppToEnd(asContainerUser(command, app), path);
}

describe('examples/mc: mc in a loop with a native sidecar', () => {
  it('inject adds the native sidecar alone and keeps the example MC_CONFIG_DIR', async () => {
    const agents = agentContainers(pod);
    assert.deepEqual(
      agents.map((c) => [c.name, c.args?.[0], c.restartPolicy]),
      [['bucket-agent', 'sidecar', 'Always']],
    );
    assert.deepEqual(
      app.env?.filter((e) => e.name === 'MC_CONFIG_DIR').map((e) => e.value),
      ['/mc-config'],
      'the env the user set wins over the injected one',
    );
    sidecar = startAgent(agents[0] ?? assert.fail('no sidecar'), local);
    const health = `http://127.0.0.1:${local.ports.get(HEALTH_PORT) ?? 0}/readyz`;
    await waitUntil(
      async () => (await fetch(health)).status === 200,
      30_000,
      () => `readyz never 200:\n${sidecar?.stderrSoFar() ?? ''}`,
    );
    await waitForKey(bucket.accessKeyId, 'first render');
  });

  it('pointed straight at the read-only rendered dir, mc cannot start', async () => {
    const run = await mc(join(local.out, 'mc'), ['ls', `${BUCKET}/${bucket.bucketName}`]);
    assert.notEqual(run.code, 0, run.output);
    assert.match(run.output, /Failed to create share .* folder/);
  });

  it('the app loop: mc cp and mc ls work, and keep working across a rotation with the old key revoked', async () => {
    const first = randomBytes(20_000);
    writeFileSync(join(dirs.data, 'first.bin'), first);
    const command = localAppCommand(app, local, { data: dirs.data, 'mc-config': dirs.mcConfig });
    assert.match(command.env.INTERVAL ?? '', /^\d+$/, 'the example reads INTERVAL');
    uploader = startApp({ ...asContainerUser(command, app), env: { ...command.env, INTERVAL: '1' } }, path);
    await waitForUpload(bucket, 'first.bin', first);
    await waitUntil(
      () => LISTED('first.bin').test(uploader?.output() ?? ''),
      30_000,
      () => 'mc ls never listed first.bin',
    );
    // The file the app read before the rotation, kept with its own writable config dir.
    const stale = join(env.runDir, 'mc-stale-config');
    mkdirSync(stale, { recursive: true });
    cpSync(join(local.out, 'mc/config.json'), join(stale, 'config.json'));
    chmodSync(stale, 0o777);

    const rotation = await rotateAndRevoke(env, ns, bucket);
    await waitForKey(rotation.accessKeyId, 'after the rotation');
    const mark = uploader.output().length;
    const second = randomBytes(30_000);
    writeFileSync(join(dirs.data, 'second.bin'), second);
    await waitForUpload(rotation, 'second.bin', second);
    await waitUntil(
      () => LISTED('second.bin').test(uploader?.output().slice(mark) ?? ''),
      30_000,
      () => 'mc ls never listed second.bin',
    );
    const refused = await mc(stale, ['ls', `${BUCKET}/${bucket.bucketName}`]);
    assert.notEqual(refused.code, 0, `mc with the old key must fail:\n${refused.output}`);
    assert.match(refused.output, /The access key ID you provided does not exist/i);
  });
});
