/**
 * Journey: the aws CLI in examples/inject/pod.yaml — a Pod with the native sidecar, the rendered
 * aws/ files and the AWS container-credentials endpoint. The sidecar runs on this machine with its
 * own args as the example's ServiceAccount; the aws CLI runs with exactly the env the injector gave
 * the app container (paths and the endpoint's port mapped): the credentials endpoint, and no shared
 * credentials file (the CLI's chain would read that first). The rendered aws/credentials works too,
 * for a tool pointed at it on purpose. `aws s3 cp` and `aws s3 ls` work both ways before and after
 * a rotation whose old key is revoked; a copy of the old credentials file is refused.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { V1PodSpec } from '@kubernetes/client-node';
import { startTestEnv, type ProvisionedBucket, type TestEnv } from '../env/index.js';
import { waitUntil } from '../env/process.js';
import { requireProgram } from '../env/tools.js';
import type { Running } from '../e2e/cli-runs.js';
import { agentContainers, containerOf, localAppCommand, runAppToEnd, startAgent, type AppRun, type LocalPod } from './example-pod.js';
import { assertAgentRunsClean, BUCKET, bucketObjects, freshPod, rotateAndRevoke, setUpExample } from './client-journeys.js';

const JOURNEY = 'inject';
const FILE = 'pod.yaml';

let env: TestEnv;
let ns: string;
let pod: V1PodSpec;
let bucket: ProvisionedBucket;
let local: LocalPod;
let sidecar: Running | undefined;
let appEnv: Readonly<Record<string, string>>;
let home: string;

before(async () => {
  requireProgram('aws', 'pip install awscli==1.45.11');
  env = await startTestEnv();
  let kubeconfig: string;
  ({ ns, kubeconfig, bucket, pod } = await setUpExample(env, { journey: JOURNEY, file: FILE, kind: 'Pod' }, 'uploader', 'awscli'));
  local = await freshPod(env, ns, 'uploader', kubeconfig);
  appEnv = localAppCommand(containerOf(pod, 'uploader'), local).env;
  home = mkdtempSync(join(env.runDir, 'aws-home-')); // no ~/.aws of this machine's user
});
after(async () => {
  await sidecar?.stop();
  await env?.stop();
  assertAgentRunsClean(1);
});

type Way = 'endpoint' | 'files';
const ENDPOINT_VARS = ['AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'];

/** The rendered shared credentials file, which the injector leaves out of the env with the endpoint. */
const credentialsFile = (): string => join(local.out, 'aws/credentials');

/** The aws CLI with the app container's env as injected, or pointed at the credentials file instead; nothing of this machine's. */
function aws(args: readonly string[], way: Way): Promise<AppRun> {
  const vars = Object.fromEntries(Object.entries(appEnv).filter(([name]) => way === 'endpoint' || !ENDPOINT_VARS.includes(name)));
  const files: Record<string, string> = way === 'files' ? { AWS_SHARED_CREDENTIALS_FILE: credentialsFile() } : {};
  return runAppToEnd({ argv: ['aws', ...args], env: { ...vars, ...files, HOME: home } });
}

/** `aws s3 cp` of fresh bytes to `key`, then `aws s3 ls` listing it; the object read back by another client. */
async function copyAndList(key: string, keys: { accessKeyId: string; secretAccessKey: string }, way: Way): Promise<void> {
  const body = randomBytes(8000);
  const file = join(home, 'upload.bin');
  writeFileSync(file, body);
  const cp = await aws(['s3', 'cp', file, `s3://${bucket.bucketName}/${key}`], way);
  assert.equal(cp.code, 0, `aws s3 cp: ${cp.output}`);
  const ls = await aws(['s3', 'ls', `s3://${bucket.bucketName}/${key}`], way);
  assert.equal(ls.code, 0, `aws s3 ls: ${ls.output}`);
  assert.match(ls.output, new RegExp(` 8000 ${key.split('/').pop() ?? ''}\\n`));
  assert.deepEqual((await bucketObjects(env, keys, bucket.bucketName, key)).get(key), body);
}

describe('examples/inject/pod.yaml: the aws CLI with the rendered files and the credentials endpoint', () => {
  it('the app container gets the aws files and the credentials endpoint on loopback', async () => {
    for (const name of ['AWS_CONFIG_FILE', 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'])
      assert.ok(appEnv[name]?.startsWith(local.out), `${name} points into the agent's volume`);
    assert.equal(appEnv.AWS_SHARED_CREDENTIALS_FILE, undefined, 'the endpoint, not a file the CLI would read first');
    assert.match(appEnv.AWS_CONTAINER_CREDENTIALS_FULL_URI ?? '', new RegExp(`^http://127\\.0\\.0\\.1:\\d+/v1/credentials/${BUCKET}$`));
    const agents = agentContainers(pod);
    assert.deepEqual(
      agents.map((c) => c.name),
      ['bucket-agent'],
    );
    sidecar = startAgent(agents[0] ?? assert.fail('no sidecar'), local);
    const health = `http://127.0.0.1:${local.ports.get(9910) ?? 0}/readyz`;
    await waitUntil(
      async () => (await fetch(health)).status === 200,
      30_000,
      () => `readyz never 200:\n${sidecar?.stderrSoFar() ?? ''}`,
    );
  });

  it('aws s3 cp and ls across a rotation with the old key revoked: files and endpoint alike', async () => {
    await copyAndList('aws/files-1.bin', bucket, 'files');
    await copyAndList('aws/endpoint-1.bin', bucket, 'endpoint');
    const stale = join(home, 'old-credentials');
    copyFileSync(credentialsFile(), stale);

    const rotation = await rotateAndRevoke(env, ns, bucket);
    await waitUntil(
      () => readFileSync(credentialsFile(), 'utf8').includes(rotation.accessKeyId),
      30_000,
      () => 'aws/credentials never held the new key',
    );
    await copyAndList('aws/files-2.bin', rotation, 'files');
    await copyAndList('aws/endpoint-2.bin', rotation, 'endpoint');
    const staleEnv = { AWS_CONFIG_FILE: appEnv.AWS_CONFIG_FILE ?? '', AWS_SHARED_CREDENTIALS_FILE: stale, HOME: home };
    const refused = await runAppToEnd({ argv: ['aws', 's3', 'ls', `s3://${bucket.bucketName}/`], env: staleEnv });
    assert.notEqual(refused.code, 0, 'the old credentials file is refused');
    assert.match(refused.output, /InvalidAccessKeyId|AccessDenied|SignatureDoesNotMatch/);
  });
});
