/**
 * The Velero journey, run for real: a Cozystack bucket (the test provisioner on SeaweedFS), the
 * bucket-agent sidecar keeping `velero/<alias>` current, and Velero itself — `velero server` with
 * velero-plugin-for-aws against the test apiserver, the BackupStorageLocation of
 * examples/velero/ — backing a namespace up, the namespace deleted (kube-controller-manager's
 * namespace controller finalizes it), and restored; then again after a key rotation whose old key
 * SeaweedFS refuses. The agent gets the Role of examples/velero/rbac.yaml and the flags the
 * example Deployment's annotations ask for, so the test proves the example.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CustomObjectsApi, type V1Deployment, type V1PolicyRule } from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';
import { startTestEnv, type ProvisionedBucket, type TestEnv } from '../env/index.js';
import { DEFAULT_CONTROLLERS } from '../env/kube-processes.js';
import { freePort, waitUntil } from '../env/process.js';
import { listProbe, s3Client } from '../env/s3-probe.js';
import { REPO_ROOT } from '../env/tools.js';
import { installVeleroCrds, startVeleroServer, VELERO_GROUP, VELERO_VERSION, type Velero } from '../env/velero.js';
import { assertNoSecrets, assertRunClean, rememberKeys, runCli, startCli, type Running } from '../e2e/cli-runs.js';
import { assertRestored, createWorkload, deleteNamespace } from './workload.js';

interface Container {
  name: string;
  image?: string;
  args?: string[];
  volumeMounts?: { name: string; mountPath: string }[];
}

interface PodSpec {
  initContainers?: Container[];
  containers?: Container[];
}

interface Doc {
  kind?: string;
  items?: Doc[];
  metadata?: { name?: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown> & { template?: { metadata?: Doc['metadata']; spec?: PodSpec } };
  rules?: V1PolicyRule[];
}

const EXAMPLES = join(REPO_ROOT, 'examples/velero');
const parse = (text: string): Doc[] => (loadAll(text) as (Doc | null)[]).filter((d): d is Doc => d !== null);
const only = (docs: Doc[], kind: string, what: string): Doc => {
  const doc = docs.find((d) => d.kind === kind);
  assert.ok(doc !== undefined, `${what} has a ${kind}`);
  return doc;
};
const example = (file: string, kind: string): Doc =>
  only(parse(readFileSync(join(EXAMPLES, file), 'utf8')), kind, `examples/velero/${file}`);
const container = (list: Container[] | undefined, name: string): Container => {
  const found = list?.find((c) => c.name === name);
  assert.ok(found !== undefined, `the injected Deployment has a container ${name}`);
  return found;
};

const BUCKET = example('deployment.yaml', 'Deployment').spec?.template?.metadata?.annotations?.['bucket-agent.io/buckets'] ?? '';

let env: TestEnv;
let veleroNs: string;
let bucket: ProvisionedBucket;
let out: string;
let agent: Running;
let velero: Velero;
/** Where the injected Velero container sees the agent's files (the `bucket-agent` volume). */
let mountPath: string;

before(async () => {
  // namespace-controller: deleting the backed-up namespace must finish, as in a real cluster.
  env = await startTestEnv({ controllers: [...DEFAULT_CONTROLLERS, 'namespace-controller'] });
  veleroNs = await env.newNamespace('velero');
  await installVeleroCrds(env.kubeconfigPath, join(env.runDir, 'velero-home'));
  bucket = await env.createBucket(veleroNs, BUCKET);
  await bucket.secretWritten;
  rememberKeys(bucket);
  const deployment = await injectedExample();
  const pod = deployment.spec?.template?.spec ?? {};
  const server = container(pod.containers, 'velero');
  mountPath = server.volumeMounts?.find((m) => m.name === 'bucket-agent')?.mountPath ?? '';
  agent = await startAgent(container(pod.initContainers, 'bucket-agent').args ?? []);
  await waitForVeleroFile(bucket.accessKeyId, 'first render');
  const workDir = join(env.runDir, 'velero');
  const options = { kubeconfigPath: env.kubeconfigPath, namespace: veleroNs, workDir, logDir: join(env.runDir, 'logs') };
  velero = await startVeleroServer(
    { ...options, deployment: deployment as V1Deployment, serverArgs: server.args, storeValidationFrequency: '5s' },
    env.controlPlane.adminKubeConfig(),
  );
  await createBackupStorageLocation();
});

after(async () => {
  await velero?.stop();
  const run = await agent?.stop();
  await env?.stop();
  if (run !== undefined) assertRunClean(run);
  if (velero !== undefined) assertNoSecrets(readFileSync(velero.process.logFile, 'utf8'), 'velero server log');
});

/** What `bucket-agent inject` makes of examples/velero/deployment.yaml. */
async function injectedExample(): Promise<Doc> {
  const run = await runCli(['inject', '-f', join(EXAMPLES, 'deployment.yaml')]);
  assert.equal(run.code, 0, run.stderr);
  return only(parse(run.stdout), 'Deployment', 'the injected example');
}

/**
 * The injected agent container's own args, run here: its --out and --listen moved to this
 * machine, and the cluster reached with the Role of rbac.yaml instead of the pod's token.
 */
async function startAgent(injectedArgs: readonly string[]): Promise<Running> {
  const rules = example('rbac.yaml', 'Role').rules ?? [];
  const kubeconfig = await env.serviceAccountKubeconfig(veleroNs, 'velero', rules);
  out = join(env.runDir, 'bucket');
  const local: Record<string, string> = { '--out': out, '--listen': `127.0.0.1:${await freePort()}` };
  const args = injectedArgs.map((arg, i) => local[injectedArgs[i - 1] ?? ''] ?? arg);
  assert.deepEqual(args.slice(0, 3), ['sidecar', '--bucket', BUCKET]);
  return startCli([...args, '--kubeconfig', kubeconfig, '--namespace', veleroNs, '--log-format', 'json']);
}

function veleroFile(): string {
  return join(out, 'velero', BUCKET);
}

async function waitForVeleroFile(accessKeyId: string, what: string): Promise<void> {
  await waitUntil(
    () => existsSync(veleroFile()) && readFileSync(veleroFile(), 'utf8').includes(accessKeyId),
    30_000,
    () => `${what}: ${veleroFile()} never held the new key\n${agent.stderrSoFar()}`,
  );
}

/** examples/velero/backupstoragelocation.yaml with this environment's bucket, endpoint and file. */
async function createBackupStorageLocation(): Promise<void> {
  const bsl = example('backupstoragelocation.yaml', 'BackupStorageLocation');
  const spec = bsl.spec as { objectStorage: { bucket: string }; config: Record<string, string> };
  spec.objectStorage.bucket = bucket.bucketName;
  spec.config.s3Url = env.s3Endpoint;
  const file = spec.config.credentialsFile ?? '';
  assert.ok(mountPath !== '' && file.startsWith(`${mountPath}/`), `the example's credentialsFile is under the mount path ${mountPath}`);
  spec.config.credentialsFile = join(out, file.slice(mountPath.length + 1));
  assert.equal(spec.config.credentialsFile, veleroFile(), 'the example reads the velero/<alias> file of its bucket');
  const custom = env.controlPlane.adminKubeConfig().makeApiClient(CustomObjectsApi);
  const body = { apiVersion: `${VELERO_GROUP}/${VELERO_VERSION}`, ...bsl };
  await custom.createNamespacedCustomObject({
    group: VELERO_GROUP,
    version: VELERO_VERSION,
    namespace: veleroNs,
    plural: 'backupstoragelocations',
    body,
  });
}

const bslName = (): string => example('backupstoragelocation.yaml', 'BackupStorageLocation').metadata?.name ?? '';

/** Backup, delete the namespace, restore, and check every object came back with its data. */
async function roundTrip(app: string, tag: string): Promise<void> {
  const backup = await velero.backup(`${tag}-backup`, [app]);
  assert.deepEqual(backup, { phase: 'Completed', errors: 0, warnings: 0 }, `${tag}: backup`);
  await deleteNamespace(env.controlPlane.adminKubeConfig(), app);
  const restore = await velero.restore(`${tag}-restore`, `${tag}-backup`);
  assert.equal(restore.phase, 'Completed', `${tag}: restore ${JSON.stringify(restore)}`);
  assert.equal(restore.errors, 0, `${tag}: restore errors`);
  await assertRestored(env.controlPlane.adminKubeConfig(), app);
}

/** The backup's objects, listed in SeaweedFS with `keys`. */
async function storedObjects(keys: ProvisionedBucket, prefix: string): Promise<string[]> {
  const names: string[] = [];
  const stream = s3Client(env.s3Endpoint, keys).listObjectsV2(bucket.bucketName, prefix, true);
  for await (const item of stream as AsyncIterable<{ name?: string }>) if (item.name !== undefined) names.push(item.name);
  return names;
}

/** `velero install`'s flags for the example's label, annotations, plugin and BSL config. */
function installArgs(): { args: string[]; config: Record<string, string> } {
  const deployment = example('deployment.yaml', 'Deployment');
  const template = deployment.spec?.template;
  const config = (example('backupstoragelocation.yaml', 'BackupStorageLocation').spec as { config: Record<string, string> }).config;
  const pairs = (entries: [string, string][]): string => entries.map(([k, v]) => `${k}=${v}`).join(',');
  const annotations = Object.entries(template?.metadata?.annotations ?? {}).filter(([k]) => k.startsWith('bucket-agent.io/'));
  const plugin = template?.spec?.initContainers?.[0]?.image ?? '';
  const args = ['install', '--dry-run', '-o', 'yaml', '--provider', 'aws', '--plugins', plugin, '--no-secret', '--bucket', 'bucket-x'];
  args.push('--use-volume-snapshots=false', '--pod-labels', 'bucket-agent.io/inject=true');
  args.push('--backup-location-config', pairs(Object.entries(config)), '--pod-annotations', pairs(annotations));
  return { args, config };
}

/**
 * examples/velero/README.md's one-command route: `velero install` given the example's label,
 * annotations and BSL config writes the example's BackupStorageLocation, and `bucket-agent
 * inject` takes its output (a List, CRDs included) and gives the agent the example's args.
 */
async function installRoute(): Promise<void> {
  const { args, config } = installArgs();
  const install = await velero.cli(args);
  assert.equal(install.code, 0, install.stderr);
  const items = parse(install.stdout)[0]?.items ?? [];
  assert.deepEqual((only(items, 'BackupStorageLocation', 'velero install').spec as { config: unknown }).config, config);
  const file = join(env.runDir, 'velero-install.yaml');
  writeFileSync(file, install.stdout);
  const injected = await runCli(['inject', '-f', file]);
  assert.equal(injected.code, 0, injected.stderr);
  const pod = only(parse(injected.stdout)[0]?.items ?? [], 'Deployment', 'the injected install').spec?.template?.spec;
  const fromExample = container((await injectedExample()).spec?.template?.spec?.initContainers, 'bucket-agent').args;
  assert.deepEqual(container(pod?.initContainers, 'bucket-agent').args, fromExample);
}

describe('Velero with the bucket-agent sidecar on a Cozystack bucket', () => {
  it("velero install with the example's settings writes its BackupStorageLocation, and bucket-agent inject takes the output", installRoute);

  let app: string;

  it('the BackupStorageLocation of examples/velero is Available with the rendered file', async () => {
    await velero.waitAvailable(bslName(), new Date(0));
    app = await env.newNamespace('app');
    await createWorkload(env.controlPlane.adminKubeConfig(), app);
  });

  it('backup -> delete the namespace -> restore brings back its objects with their data', async () => {
    await roundTrip(app, 'first');
    assert.ok((await storedObjects(bucket, 'backups/first-backup/')).length > 0, 'the backup is in the bucket');
  });

  it('after a rotation with the old key revoked: the file is re-rendered, the BSL is validated Available with it, backup -> delete -> restore again', async () => {
    const rotation = await env.rotateKeys(veleroNs, BUCKET, { graceMs: 1_000 });
    rememberKeys(rotation);
    await waitForVeleroFile(rotation.accessKeyId, 'rotation');
    assert.ok(!readFileSync(veleroFile(), 'utf8').includes(bucket.accessKeyId), 'the old key is gone from the file');
    await rotation.revoked;
    assert.notEqual(await listProbe(s3Client(env.s3Endpoint, bucket), bucket.bucketName), 'OK', 'SeaweedFS refuses the old key');
    await velero.waitAvailable(bslName(), new Date());
    await roundTrip(app, 'second');
    const stored = await storedObjects(rotation, 'backups/second-backup/');
    assert.ok(stored.length > 0, 'the second backup is in the bucket, written with the new key');
    assert.ok((await storedObjects(rotation, 'backups/first-backup/')).length > 0, 'the backup made with the old key is there too');
  });
});
