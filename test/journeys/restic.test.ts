/**
 * Journey: examples/restic-backup — a Job backing a volume up with restic into the bucket. The
 * injected init container runs as the example's ServiceAccount and renders restic/backup-prod.env;
 * the backup container's own script then creates the repository (first run), backs up and lists
 * the snapshot, with the volume and its cache mapped to local directories and the repository
 * password given as the user's Secret would give it. Then: snapshots and a byte-exact restore with
 * the rendered file; a rotation with the old key revoked; a second Job backs up into the same
 * repository with the new key, and the first Job's file is refused.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { V1PodSpec } from '@kubernetes/client-node';
import { startTestEnv, type ProvisionedBucket, type TestEnv } from '../env/index.js';
import { requireProgram } from '../env/tools.js';
import { agentContainers, containerOf, localAppCommand, runApp, runAppToEnd, type AppRun, type LocalPod } from './example-pod.js';
import { assertAgentRunsClean, BUCKET, freshPod, rotateAndRevoke, runInit, setUpExample } from './client-journeys.js';

const JOURNEY = 'restic-backup';
const FILE = 'job.yaml';
/** What the user's Secret `restic-password` holds; the agent never sees it. */
const PASSWORD = randomBytes(24).toString('base64');

let env: TestEnv;
let ns: string;
let kubeconfig: string;
let pod: V1PodSpec;
let bucket: ProvisionedBucket;
let data: string;
let cache: string;

before(async () => {
  requireProgram('restic', 'apt-get install -y restic');
  env = await startTestEnv();
  ({ ns, kubeconfig, bucket, pod } = await setUpExample(env, { journey: JOURNEY, file: FILE, kind: 'Job' }, 'restic-backup', 'restic'));
  data = join(env.runDir, 'restic-data');
  cache = join(env.runDir, 'restic-cache');
  mkdirSync(join(data, 'db'), { recursive: true });
  mkdirSync(cache, { recursive: true });
});
after(async () => {
  await env?.stop();
  assertAgentRunsClean(2);
});

/** One run of the Job: init, then the backup container's script; returns the pod and its output. */
async function runJob(name: string): Promise<{ local: LocalPod; output: string }> {
  const local = await freshPod(env, ns, name, kubeconfig);
  await runInit(agentContainers(pod)[0] ?? assert.fail('no agent container'), local);
  const command = localAppCommand(containerOf(pod, 'backup'), local, { data, cache });
  const run = await runApp(command, { RESTIC_PASSWORD: PASSWORD });
  return { local, output: run.output };
}

/** restic with the rendered env file sourced, as a user would run it by hand. */
function restic(local: LocalPod, args: string): Promise<AppRun> {
  const envFile = join(local.out, `restic/${BUCKET}.env`);
  const script = `set -eu; set -a; . ${JSON.stringify(envFile)}; set +a; restic ${args}`;
  return runAppToEnd({ argv: ['sh', '-c', script], env: { RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: cache } });
}

interface Snapshot {
  readonly id: string;
  readonly hostname: string;
  readonly paths: readonly string[];
}

async function snapshots(local: LocalPod): Promise<Snapshot[]> {
  const r = await restic(local, 'snapshots --json');
  assert.equal(r.code, 0, r.output);
  return JSON.parse(r.output) as Snapshot[];
}

/** Restores snapshot `id` into a fresh directory and returns the bytes of `file` (relative to the volume). */
async function restored(local: LocalPod, id: string, file: string): Promise<Buffer> {
  const target = mkdtempSync(join(env.runDir, 'restic-restore-'));
  const r = await restic(local, `restore ${id} --target ${JSON.stringify(target)}`);
  assert.equal(r.code, 0, r.output);
  return readFileSync(join(target, data, file));
}

describe('examples/restic-backup: a restic backup Job, init-only', () => {
  it('the Job gets an init container alone, and the password from the user Secret, not from the agent', () => {
    assert.deepEqual(
      agentContainers(pod).map((c) => c.name),
      ['bucket-agent-init'],
    );
    const password = containerOf(pod, 'backup').env?.find((e) => e.name === 'RESTIC_PASSWORD');
    assert.deepEqual(password?.valueFrom?.secretKeyRef, { name: 'restic-password', key: 'password' });
  });

  it('backup, snapshots and a byte-exact restore; after a rotation with the old key revoked, a second backup to the same repository', async () => {
    const first = { 'db/dump.sql': randomBytes(200_000), 'notes.txt': Buffer.from('first\n') };
    for (const [name, body] of Object.entries(first)) writeFileSync(join(data, name), body);
    const job1 = await runJob('restic-backup-1');
    assert.match(job1.output, /created restic repository/, 'the first run creates the repository');
    assert.match(job1.output, /snapshot [0-9a-f]+ saved/);
    const [snap1, ...more] = await snapshots(job1.local);
    assert.ok(snap1 !== undefined && more.length === 0, 'one snapshot');
    assert.equal(snap1.hostname, 'restic-backup');
    assert.deepEqual(snap1.paths, [data]);
    assert.deepEqual(await restored(job1.local, snap1.id, 'db/dump.sql'), first['db/dump.sql']);

    const rotation = await rotateAndRevoke(env, ns, bucket);
    const stale = await restic(job1.local, 'snapshots --json');
    assert.notEqual(stale.code, 0, `restic with the revoked key must fail:\n${stale.output}`);

    const second = { ...first, 'notes.txt': Buffer.from('second\n'), 'new.bin': randomBytes(5000) };
    for (const [name, body] of Object.entries(second)) writeFileSync(join(data, name), body);
    const job2 = await runJob('restic-backup-2');
    assert.doesNotMatch(job2.output, /created restic repository/, 'the repository exists: init is skipped');
    assert.match(job2.output, /using parent snapshot/, 'the fixed --host finds the first backup as parent');
    const all = await snapshots(job2.local);
    assert.equal(all.length, 2, 'both backups in the same repository');
    const latest = all[1] ?? assert.fail('no second snapshot');
    for (const name of ['notes.txt', 'new.bin', 'db/dump.sql'] as const)
      assert.deepEqual(await restored(job2.local, latest.id, name), second[name], `${name} restored with the new key`);
    assert.notEqual(rotation.accessKeyId, bucket.accessKeyId);
  });
});
