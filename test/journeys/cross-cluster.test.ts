/**
 * Journey examples/cross-cluster/: two real control planes side by side, one SeaweedFS. The
 * Bucket lives in the management cluster (the test env with its provisioner), where
 * management.yaml gives a ServiceAccount read access to it alone; a kubeconfig with that
 * account's token goes into the Secret `management-kubeconfig` of the tenant cluster, created with
 * kubectl as the README says; tenant.yaml, injected and applied in the tenant cluster, mounts it
 * into the agent. The agent runs with the pod's args and that Secret materialised as the kubelet
 * would mount it; the app's loop reads an object with the aws CLI, across a rotation in the
 * management cluster whose old key SeaweedFS then refuses.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ApiException, CoreV1Api } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../env/control-plane.js';
import type { TestEnv } from '../env/index.js';
import { writeSecretVolume } from '../env/kubelet-volume.js';
import { waitUntil } from '../env/process.js';
import { listProbe, s3Client } from '../env/s3-probe.js';
import { requireProgram } from '../env/tools.js';
import { knownSecrets, rememberKeys } from '../e2e/cli-runs.js';
import {
  containerOf,
  findManifest,
  injectExample,
  localAppCommand,
  localPod,
  podSpecOf,
  readExample,
  startApp,
  type RunningApp,
} from './example-pod.js';
import { assertStillRunning, journeyFile, kubectl, kubectlApply, lineCount, outputLines, startAgents } from './app-journey.js';

/** Names the example fixes: the management namespace (annotation), the Bucket, the account, the Secret. */
const MANAGEMENT_NS = 'tenant-acme';
const BUCKET = 'invoices';
const READER = 'acme-bucket-reader';
const SECRET = 'management-kubeconfig';
const TENANT_NS = 'billing';
const GRACE_MS = 10_000;

const journey = journeyFile(() => requireProgram('aws', 'pip install awscli==1.45.11'));
/** The management cluster: the test env, with the provisioner and SeaweedFS. */
const management = (): TestEnv => journey.env();

/** `read ok: <text>` and `read failed` lines from line `from` on. */
const reads = (app: RunningApp, from = 0): string[] => outputLines(app, /^read /, from);

async function waitForRead(app: RunningApp, text: string, from: number, n: number): Promise<void> {
  await waitUntil(
    () => reads(app, from).filter((l) => l === `read ok: ${text}`).length >= n,
    90_000,
    () => `the app never read "${text}" ${n} times:\n${app.output()}`,
  );
}

/** The tenant cluster's copy of the kubeconfig Secret, as the kubelet would mount it into the agent. */
async function mountKubeconfigSecret(tenant: ControlPlane, dir: string): Promise<string> {
  const core = tenant.adminKubeConfig().makeApiClient(CoreV1Api);
  const secret = await core.readNamespacedSecret({ name: SECRET, namespace: TENANT_NS });
  const data = Object.fromEntries(Object.entries(secret.data ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64')]));
  writeSecretVolume(dir, data);
  return dir;
}

describe('examples/cross-cluster: a tenant-cluster pod, a management-cluster Bucket', () => {
  it(
    'the app reads the bucket through the kubeconfig Secret, across a rotation in the management cluster',
    { timeout: 300_000 },
    async () => {
      // The tenant cluster: a second control plane beside the management one, no S3 of its own.
      const tenant = await startControlPlane({ logDir: join(management().runDir, 'tenant-logs') });
      journey.defer(() => tenant.stop());
      await management().controlPlane.createNamespace(MANAGEMENT_NS);
      const bucket = await management().createBucket(MANAGEMENT_NS, BUCKET);
      await bucket.secretWritten;
      rememberKeys(bucket);
      await kubectlApply(management().kubeconfigPath, MANAGEMENT_NS, readExample('cross-cluster', 'management.yaml'));
      // A bound token of the account, as `kubectl create token` gives it (README).
      const managementKubeconfig = await management().serviceAccountKubeconfig(MANAGEMENT_NS, READER, []);
      const token = (JSON.parse(readFileSync(managementKubeconfig, 'utf8')) as { users: { user: { token: string } }[] }).users[0]?.user
        .token;
      knownSecrets.add(token ?? '');

      await tenant.createNamespace(TENANT_NS);
      const created = await kubectl(tenant.kubeconfigPath, [
        'create',
        'secret',
        'generic',
        SECRET,
        '-n',
        TENANT_NS,
        `--from-file=kubeconfig=${managementKubeconfig}`,
      ]);
      assert.equal(created.code, 0, created.stderr);
      const docs = await injectExample('cross-cluster', 'tenant.yaml');
      await kubectlApply(tenant.kubeconfigPath, TENANT_NS, docs);
      const pod = podSpecOf(findManifest(docs, 'Deployment', 'invoice-reader'));
      const dir = join(management().runDir, 'cross-cluster');
      const kubeconfig = await mountKubeconfigSecret(tenant, join(dir, 'kubeconfig-secret'));
      const local = await localPod({ out: join(dir, 'out'), kubeconfig, namespace: TENANT_NS, name: 'invoice-reader-local' });
      const agents = await startAgents(pod, local);
      journey.defer(() => agents.stop());
      await assert.rejects(
        tenant.adminKubeConfig().makeApiClient(CoreV1Api).readNamespacedSecret({ name: bucket.secretName, namespace: TENANT_NS }),
        (err: unknown) => err instanceof ApiException && err.code === 404,
        'the credentials are in the management cluster only',
      );

      await s3Client(management().s3Endpoint, bucket).putObject(bucket.bucketName, 'latest.txt', 'invoice 1');
      const app = startApp(localAppCommand(containerOf(pod, 'reader'), local), { HOME: dir });
      journey.defer(() => app.stop());
      await waitForRead(app, 'invoice 1', 0, 1);

      const rotation = await management().rotateKeys(MANAGEMENT_NS, BUCKET, { graceMs: GRACE_MS });
      rememberKeys(rotation);
      await s3Client(management().s3Endpoint, rotation).putObject(bucket.bucketName, 'latest.txt', 'invoice 2');
      await waitUntil(
        () => readFileSync(join(local.out, 'env/invoices.env'), 'utf8').includes(rotation.accessKeyId),
        30_000,
        () => 'the files never held the new key',
      );
      await rotation.revoked;
      assert.notEqual(await listProbe(s3Client(management().s3Endpoint, bucket), bucket.bucketName), 'OK', 'SeaweedFS refuses the old key');
      const from = lineCount(app);
      await waitForRead(app, 'invoice 2', from, 2);
      assert.deepEqual(
        reads(app, from).filter((l) => l === 'read failed'),
        [],
        `no failed read once the old key is revoked:\n${app.output()}`,
      );
      await assertStillRunning(app);
    },
  );
});
