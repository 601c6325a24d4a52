/**
 * Journey: examples/rclone-cronjob — a CronJob whose Jobs `rclone sync` a volume into the bucket.
 * The real `bucket-agent inject` turns the manifest into an init-only pod (the Job completes when
 * rclone does); each "Job" here is that pod run on this machine: the init container's own args as
 * the example's ServiceAccount (its own Role, applied with kubectl), then the sync container's own
 * command with the data volume mapped to a local directory, with the rclone the tests build. The
 * keys rotate between two Jobs and the old key is revoked: the next Job syncs with the new key,
 * and the first Job's files no longer work.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { V1PodSpec } from '@kubernetes/client-node';
import { startTestEnv, type ProvisionedBucket, type TestEnv } from '../env/index.js';
import { renderedKeyId } from '../e2e/cli-runs.js';
import { agentContainers, containerOf, localAppCommand, runApp, runAppToEnd } from './example-pod.js';
import type { LocalPod } from './example-pod.js';
import {
  assertAgentRunsClean,
  BUCKET,
  bucketObjects,
  freshPod,
  rotateAndRevoke,
  runInit,
  toolsOnPath,
  setUpExample,
} from './client-journeys.js';

const JOURNEY = 'rclone-cronjob';
const FILE = 'cronjob.yaml';

let env: TestEnv;
let ns: string;
let kubeconfig: string;
let pod: V1PodSpec;
let bucket: ProvisionedBucket;
let path: { PATH: string };
let data: string;

before(async () => {
  env = await startTestEnv();
  ({ ns, kubeconfig, bucket, pod } = await setUpExample(env, { journey: JOURNEY, file: FILE, kind: 'CronJob' }, 'rclone-sync', 'rclone'));
  path = toolsOnPath(join(env.runDir, 'rclone-bin'), ['rclone']);
  data = join(env.runDir, 'rclone-data');
  mkdirSync(join(data, 'logs'), { recursive: true });
});
after(async () => {
  await env?.stop();
  assertAgentRunsClean(2);
});

/** One Job of the CronJob: its init container, then its sync container, on a fresh pod volume. */
async function runJob(name: string): Promise<LocalPod> {
  const local = await freshPod(env, ns, name, kubeconfig);
  await runInit(agentContainers(pod)[0] ?? assert.fail('no agent container'), local);
  await runApp(syncCommand(local), path);
  return local;
}

function syncCommand(local: LocalPod): ReturnType<typeof localAppCommand> {
  return localAppCommand(containerOf(pod, 'sync'), local, { data });
}

/** The bucket's objects under data/, as relative name -> bytes. */
async function synced(keys: { accessKeyId: string; secretAccessKey: string }): Promise<Map<string, Buffer>> {
  const objects = await bucketObjects(env, keys, bucket.bucketName, 'data/');
  return new Map([...objects].map(([name, body]) => [name.slice('data/'.length), body]));
}

function put(name: string, body: Buffer): void {
  writeFileSync(join(data, name), body);
}

describe('examples/rclone-cronjob: a CronJob running rclone sync, init-only', () => {
  it('inject gives the Job an init container alone, so the Job completes when rclone does', () => {
    const agents = agentContainers(pod);
    assert.deepEqual(
      agents.map((c) => [c.name, c.args?.[0], c.restartPolicy]),
      [['bucket-agent-init', 'init', undefined]],
    );
    assert.ok(!pod.containers.some((c) => c.name.startsWith('bucket-agent')), 'no sidecar container would keep the Job alive');
    assert.equal(containerOf(pod, 'sync').image, 'rclone/rclone:1.76.0');
  });

  it('Job 1 syncs the volume; after a rotation with the old key revoked, Job 2 syncs with the new key', async () => {
    const files = { 'report.csv': randomBytes(3000), 'logs/app.log': randomBytes(70_000), 'gone.txt': Buffer.from('deleted later\n') };
    for (const [name, body] of Object.entries(files)) put(name, body);
    const job1 = await runJob('rclone-sync-1');
    assert.equal(renderedKeyId(job1.out, BUCKET), undefined, 'formats rclone,env: no json/ rendered');
    assert.deepEqual(await synced(bucket), new Map(Object.entries(files)));

    const rotation = await rotateAndRevoke(env, ns, bucket);
    // The first Job's files hold the revoked key: rclone is refused with them.
    const stale = await runAppToEnd(syncCommand(job1), path);
    assert.notEqual(stale.code, 0, `rclone with the revoked key must fail:\n${stale.output}`);
    assert.match(stale.output, /InvalidAccessKeyId/);

    rmSync(join(data, 'gone.txt'));
    const changed = { 'report.csv': randomBytes(4000), 'logs/app.log': files['logs/app.log'], 'new.bin': randomBytes(1) };
    put('report.csv', changed['report.csv']);
    put('new.bin', changed['new.bin']);
    const job2 = await runJob('rclone-sync-2');
    assert.notEqual(job2.out, job1.out);
    assert.deepEqual(await synced(rotation), new Map(Object.entries(changed)), 'sync mirrors the volume: changed, added, deleted');
  });
});
