/**
 * What the command-line-client journeys (rclone, restic, mc, aws CLI) share on top of
 * example-pod.ts: the example's own RBAC applied with kubectl, Bucket `backup-prod` provisioned,
 * the injected agent run as the pod's ServiceAccount, the Go-built clients on PATH under their
 * plain names, a rotation whose old key is revoked and refused, and the end-of-file scan of every
 * agent run for key material.
 */
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';
import type { ProvisionedBucket, Rotation, TestEnv } from '../env/index.js';
import { listProbe, s3Client } from '../env/s3-probe.js';
import type { S3Keys } from '../env/s3-keys.js';
import { toolPath, type GoTool } from '../env/tools.js';
import { assertRunClean, knownSecrets, rememberKeys, transcripts } from '../e2e/cli-runs.js';
import { findManifest, injectExample, localPod, podSpecOf, readExample, runAppToEnd, startAgent, type LocalPod } from './example-pod.js';

/** The Bucket every client example names. */
export const BUCKET = 'backup-prod';

/** The example's documents other than its workload (ServiceAccount, Role, RoleBinding), applied for real. */
export async function applyExampleRbac(env: TestEnv, ns: string, journey: string, file: string): Promise<void> {
  const docs = readExample(journey, file).filter((doc) => ['ServiceAccount', 'Role', 'RoleBinding'].includes(doc.kind ?? ''));
  assert.ok(docs.length === 3, `examples/${journey}/${file}: expected a ServiceAccount, a Role and a RoleBinding`);
  const manifest = join(env.runDir, `${journey}-rbac.json`);
  writeFileSync(manifest, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs }));
  const argv = [toolPath('kubectl'), '--kubeconfig', env.kubeconfigPath, 'apply', '-n', ns, '-f', manifest];
  const r = await runAppToEnd({ argv, env: {} });
  assert.equal(r.code, 0, `kubectl apply the RBAC of examples/${journey}/${file}: ${r.output}`);
}

/** Bucket `backup-prod` in `ns`, its Secret written and its keys remembered for the scan. */
export async function provisionBucket(env: TestEnv, ns: string): Promise<ProvisionedBucket> {
  const bucket = await env.createBucket(ns, BUCKET);
  await bucket.secretWritten;
  rememberKeys(bucket);
  return bucket;
}

/** One client example set up on a running env: its namespace, RBAC, the ServiceAccount's kubeconfig, the Bucket. */
export interface ExampleSetup {
  readonly ns: string;
  readonly kubeconfig: string;
  readonly bucket: ProvisionedBucket;
  /** The pod spec of the example's `kind` workload, as `bucket-agent inject` makes it. */
  readonly pod: V1PodSpec;
}

/**
 * A namespace named after `prefix` with the example's own RBAC applied, a kubeconfig of its
 * ServiceAccount `account` that only that RBAC grants, Bucket `backup-prod`, and the injected pod.
 */
export async function setUpExample(
  env: TestEnv,
  example: { journey: string; file: string; kind: string },
  account: string,
  prefix: string,
): Promise<ExampleSetup> {
  const ns = await env.newNamespace(prefix);
  await applyExampleRbac(env, ns, example.journey, example.file);
  const kubeconfig = await env.serviceAccountKubeconfig(ns, account, []);
  const bucket = await provisionBucket(env, ns);
  const pod = podSpecOf(findManifest(await injectExample(example.journey, example.file), example.kind));
  return { ns, kubeconfig, bucket, pod };
}

/** A LocalPod named `name` with a fresh output dir, as the pod's ServiceAccount `kubeconfig`. */
export async function freshPod(env: TestEnv, ns: string, name: string, kubeconfig: string): Promise<LocalPod> {
  const dir = mkdtempSync(join(env.runDir, `${name}-`));
  chmodSync(dir, 0o755); // as a pod's volumes are reachable by every uid of the pod
  const out = join(dir, 'out');
  return localPod({ out, kubeconfig, namespace: ns, name });
}

/** Runs an injected init container to its exit (a Job's pod start); asserts exit 0. */
export async function runInit(init: V1Container, local: LocalPod): Promise<void> {
  assert.equal(init.args?.[0], 'init', `${init.name} runs init`);
  const run = await startAgent(init, local).done;
  assert.equal(run.code, 0, `init of pod ${local.name}: ${run.stderr}`);
}

/**
 * A directory holding each Go-built tool under its plain name (`rclone`, `mc`), readable and
 * executable by any uid (the cache may sit under a private home), and PATH with it first.
 */
export function toolsOnPath(dir: string, tools: readonly GoTool[]): { PATH: string } {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const tool of tools) {
    const target = join(dir, tool);
    copyFileSync(toolPath(tool), target);
    chmodSync(target, 0o755);
  }
  return { PATH: `${dir}:${process.env.PATH ?? ''}` };
}

/**
 * Rotates the keys COSI's way (delete + create), waits until the old key is revoked and checks
 * that S3 refuses it.
 */
export async function rotateAndRevoke(env: TestEnv, ns: string, old: S3Keys & { bucketName: string }): Promise<Rotation> {
  const rotation = await env.rotateKeys(ns, BUCKET, { mode: 'recreate', graceMs: 500 });
  rememberKeys(rotation);
  await rotation.revoked;
  assert.notEqual(await listProbe(s3Client(env.s3Endpoint, old), old.bucketName), 'OK', 'the old key is refused');
  return rotation;
}

/** Every object under `prefix`, by key, read with minio-js and `keys`: a client other than the app's. */
export async function bucketObjects(env: TestEnv, keys: S3Keys, bucket: string, prefix: string): Promise<Map<string, Buffer>> {
  const client = s3Client(env.s3Endpoint, keys);
  const names: string[] = [];
  for await (const item of client.listObjectsV2(bucket, prefix, true) as AsyncIterable<{ name?: string }>) {
    if (item.name !== undefined) names.push(item.name);
  }
  const objects = new Map<string, Buffer>();
  for (const name of names.sort()) {
    const chunks: Buffer[] = [];
    for await (const chunk of await client.getObject(bucket, name)) chunks.push(chunk as Buffer);
    objects.set(name, Buffer.concat(chunks));
  }
  return objects;
}

/** No key value in any agent run's output, and nothing but log lines on stderr. */
export function assertAgentRunsClean(minRuns: number): void {
  assert.ok(transcripts.length >= minRuns, `agent runs recorded: ${transcripts.length}`);
  assert.ok(knownSecrets.size >= 4, 'the keys of at least two rotations are known to the scan');
  for (const run of transcripts) assertRunClean(run);
}
