/**
 * Journey examples/two-buckets/: one pod, two Buckets (`photos`, and `app-logs` as alias `logs`).
 * The pod's two containers run their own shell loops for real — the aws CLI on the profiles, rclone
 * on the remotes, the bucket names from the env files — with the injected variables, against
 * SeaweedFS. The keys of one bucket are rotated (COSI delete + create, old key then revoked): its
 * files change, the other's stay byte for byte, and both tools keep working on both buckets.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ProvisionedBucket, TestEnv } from '../env/index.js';
import { waitUntil } from '../env/process.js';
import { listProbe, s3Client } from '../env/s3-probe.js';
import { requireProgram, toolPath } from '../env/tools.js';
import { rememberKeys } from '../e2e/cli-runs.js';
import {
  containerOf,
  findManifest,
  injectExample,
  localAppCommand,
  localPod,
  podSpecOf,
  startApp,
  type RunningApp,
} from './example-pod.js';
import { toolsOnPath } from './client-journeys.js';
import { assertStillRunning, journeyFile, kubectlApply, lineCount, outputLines, startAgents } from './app-journey.js';

/** Covers an aws CLI or rclone run that read the old files just before the swap (~1-3 s on a loaded machine). */
const GRACE_MS = 10_000;
const ALIASES = ['photos', 'logs'] as const;

const journey = journeyFile(() => {
  requireProgram('aws', 'pip install awscli==1.45.11');
  toolPath('rclone');
});
const env = (): TestEnv => journey.env();

/** `<tool> <alias> ok|failed` lines of an app's output, from line `from` on. */
const results = (app: RunningApp, from = 0): string[] => outputLines(app, /^(aws|rclone) \S+ (ok|failed)$/, from);

async function provisioned(ns: string, name: string): Promise<ProvisionedBucket> {
  const bucket = await env().createBucket(ns, name);
  await bucket.secretWritten;
  rememberKeys(bucket);
  return bucket;
}

/** Waits until every (tool, alias) pair has succeeded `n` times since `from` (per app). */
async function allWorking(apps: readonly RunningApp[], from: readonly number[], n: number): Promise<void> {
  const pending = (): string[] =>
    apps.flatMap((app, i) => {
      const lines = results(app, from[i]);
      const tool = lines[0]?.split(' ')[0] ?? '?';
      return ALIASES.filter((a) => lines.filter((l) => l.endsWith(`${a} ok`)).length < n).map((a) => `${tool} ${a} (app ${i})`);
    });
  await waitUntil(
    () => pending().length === 0,
    90_000,
    () => `not working: ${pending().join(', ')}\n${apps.map((a) => a.output()).join('\n')}`,
  );
}

describe('examples/two-buckets: one pod, two Buckets', () => {
  it(
    'both buckets by their aliases (aws profiles, rclone remotes, env files); rotating one leaves the other untouched',
    { timeout: 300_000 },
    async () => {
      const ns = await env().newNamespace('two-buckets');
      const photos = await provisioned(ns, 'photos');
      const logs = await provisioned(ns, 'app-logs');
      const docs = await injectExample('two-buckets', 'deployment.yaml');
      await kubectlApply(env().kubeconfigPath, ns, docs);
      const pod = podSpecOf(findManifest(docs, 'Deployment', 'gallery'));
      const dir = join(env().runDir, 'two-buckets');
      const kubeconfig = await env().serviceAccountKubeconfig(ns, pod.serviceAccountName ?? '', []);
      const local = await localPod({ out: join(dir, 'out'), kubeconfig, namespace: ns, name: 'gallery-local' });
      const agents = await startAgents(pod, local);
      journey.defer(() => agents.stop());
      const tools = { ...toolsOnPath(join(dir, 'bin'), ['rclone']), HOME: dir };
      const apps = ['writer', 'reader'].map((name) => startApp(localAppCommand(containerOf(pod, name), local), tools));
      for (const app of apps) journey.defer(() => app.stop());
      await allWorking(apps, [0, 0], 1);

      const file = (path: string): string => readFileSync(join(local.out, path), 'utf8');
      const logsFiles = ['env/logs.env', 'aws/credentials', 'rclone/rclone.conf'].map((path) => section(file(path), path, 'logs'));
      const rotation = await env().rotateKeys(ns, 'photos', { graceMs: GRACE_MS });
      rememberKeys(rotation);
      await waitUntil(
        () => file('env/photos.env').includes(rotation.accessKeyId),
        30_000,
        () => 'env/photos.env never held the new key',
      );
      assert.ok(file('aws/credentials').includes(rotation.accessKeyId) && file('rclone/rclone.conf').includes(rotation.accessKeyId));
      assert.deepEqual(
        ['env/logs.env', 'aws/credentials', 'rclone/rclone.conf'].map((path) => section(file(path), path, 'logs')),
        logsFiles,
        'the other bucket: what the files say about it is unchanged',
      );
      await rotation.revoked;
      assert.notEqual(await listProbe(s3Client(env().s3Endpoint, photos), photos.bucketName), 'OK', 'SeaweedFS refuses the old photos key');
      assert.equal(await listProbe(s3Client(env().s3Endpoint, logs), logs.bucketName), 'OK', 'the logs key was never touched');

      const from = apps.map(lineCount);
      await allWorking(apps, from, 2);
      for (const [i, app] of apps.entries()) {
        assert.deepEqual(
          results(app, from[i]).filter((l) => l.endsWith('failed')),
          [],
          `no failure once the old key is revoked:\n${app.output()}`,
        );
        await assertStillRunning(app);
      }
    },
  );
});

/** The lines of a file that belong to alias `logs`: the whole env file, or its INI section. */
function section(text: string, path: string, alias: string): string {
  if (path.startsWith('env/')) return text;
  const start = text.indexOf(`[${alias}]`);
  assert.ok(start >= 0, `${path} has no [${alias}]`);
  const next = text.indexOf('\n[', start + 1);
  return text.slice(start, next < 0 ? undefined : next);
}
