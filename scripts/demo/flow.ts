/**
 * The demo's steps, in the order a platform and a pod live them: the cluster and S3 come up, a
 * tenant creates a Bucket, init waits for its credentials and renders them, the sidecar takes
 * over and serves the credentials endpoint, two apps write, the platform rotates the keys.
 * Everything started is registered with the Teardown as soon as it exists.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { assertNoSecrets, rememberKeys } from '../../test/e2e/cli-runs.js';
import { startTestEnv, type ProvisionedBucket, type TestEnv } from '../../test/env/index.js';
import { waitUntil } from '../../test/env/process.js';
import { secretNameFor } from '../../test/env/provisioner.js';
import { startInit, startSidecar, type AgentTarget, type InitResult, type Sidecar } from './agents.js';
import { startRcloneLoop, startSdkApp, type ClientRun } from './clients.js';
import { ClusterObserver } from './observe.js';
import {
  BUCKET,
  CREDENTIALS_REFRESH,
  OUT_ROOT,
  RCLONE_INTERVAL_MS,
  ROTATIONS,
  SDK_INTERVAL_MS,
  SECRET_DELAY_MS,
  type DemoOptions,
} from './options.js';
import { keyLabel, ms, type Reporter } from './report.js';
import { rotate, type RotationFigures } from './rotations.js';
import { allWell, clientTotals, type DemoSummary } from './summary.js';
import type { Teardown } from './teardown.js';
import { ensureTools } from './tools.js';

interface Keys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

interface Stage {
  readonly env: TestEnv;
  readonly target: AgentTarget;
  readonly report: Reporter;
  readonly teardown: Teardown;
  readonly keys: Keys[];
}

export async function runDemo(options: DemoOptions, report: Reporter, teardown: Teardown): Promise<DemoSummary> {
  report.info(
    `bucket-agent demo on Node ${process.version}: everything runs on this machine, on loopback, for about a minute; Ctrl-C stops it cleanly`,
  );
  await ensureTools(options.build, report, teardown);
  report.step('starting a real control plane (kube-apiserver + kine) and SeaweedFS S3, on loopback');
  const envStarted = Date.now();
  const env = await startTestEnv();
  teardown.add('the control plane and SeaweedFS', () => env.stop());
  const envStartMs = Date.now() - envStarted;
  report.ok(`kube-apiserver ${env.controlPlane.server}, SeaweedFS S3 ${env.s3Endpoint}: up in ${ms(envStartMs)}`);
  report.info(`their logs, and the agents' and apps': ${join(env.runDir, 'logs')}`);
  const namespace = await env.newNamespace('demo');
  const logDir = join(env.runDir, 'logs');
  const target = { kubeconfig: env.kubeconfigPath, namespace, bucket: BUCKET, out: outDir(options, teardown), logDir };
  const stage: Stage = { env, target, report, teardown, keys: [] };
  const { bucket, init } = await bucketAndInit(stage);
  const sidecar = await sidecarStep(stage);
  const clients = await clientsStep(stage, sidecar, bucket.bucketName);
  const rotations: RotationFigures[] = [];
  for (let n = 1; n <= ROTATIONS; n += 1)
    rotations.push(await rotate({ env, namespace, out: target.out, sidecar, clients, report, keys: stage.keys }, n));
  return closing(stage, { envStartMs, init, sidecar, clients, rotations });
}

function outDir(options: DemoOptions, teardown: Teardown): string {
  if (options.out !== undefined) return options.out;
  const dir = mkdtempSync(join(OUT_ROOT, 'bucket-agent-demo-'));
  teardown.add('the output directory', () => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'bucket');
}

/** The Bucket is created; init starts as soon as it exists and waits for the Secret the provisioner writes later. */
async function bucketAndInit(stage: Stage): Promise<{ bucket: ProvisionedBucket; init: InitResult }> {
  const { env, target, report } = stage;
  const secret = secretNameFor(BUCKET, 'bucketinfo', undefined);
  report.step(`a tenant creates Bucket ${BUCKET} in namespace ${target.namespace}; init starts at once and waits for its credentials`);
  const observer = await ClusterObserver.start(env.controlPlane.adminKubeConfig(), target.namespace, { bucket: BUCKET, secret }, report);
  stage.teardown.add('the watches', () => observer.stop());
  const provisioned = env.createBucket(target.namespace, BUCKET, { secretDelayMs: SECRET_DELAY_MS });
  await waitUntil(
    () => observer.bucketSeen,
    10_000,
    () => 'the Bucket never appeared',
    10,
  );
  const init = await startInit(target, report, stage.teardown);
  const bucket = await provisioned;
  stage.keys.push(bucket);
  if (init.run.code !== 0) throw new Error(`init exited ${init.run.code}; its log: ${join(target.logDir, 'init.log')}`);
  const seen = observer.firstSeen(bucket.accessKeyId);
  const after = seen === undefined || init.rendered === undefined ? '' : `, ${ms(init.rendered.at - seen)} after the Secret appeared`;
  report.ok(`init: exit 0 after ${ms(init.endedAt - init.startedAt)}; files written${after}, keys verified against S3 first`);
  report.info(`${init.files.length} files in ${target.out}: ${init.files.join(' ')}`);
  return { bucket, init };
}

async function sidecarStep(stage: Stage): Promise<Sidecar> {
  const { report, target } = stage;
  report.step(
    `the sidecar takes over: it watches Secret ${secretNameFor(BUCKET, 'bucketinfo', undefined)} and serves the credentials endpoint`,
  );
  const sidecar = await startSidecar(target, report, stage.teardown);
  report.ok(`sidecar ready in ${ms(sidecar.readyAfterMs)}: /readyz 200 on ${sidecar.health}, credentials at ${sidecar.credentialsUrl}`);
  return sidecar;
}

async function clientsStep(stage: Stage, sidecar: Sidecar, bucketName: string): Promise<ClientRun[]> {
  const { env, report, target } = stage;
  report.step('two apps start writing, each getting its keys the way a pod would');
  const sdk = startSdkApp({
    s3Endpoint: env.s3Endpoint,
    bucketName,
    credentialsUrl: sidecar.credentialsUrl,
    tokenFile: sidecar.tokenFile,
    logFile: join(target.logDir, 'sdk-app.log'),
  });
  stage.teardown.add('the SDK app', () => sdk.stop(), sdk.kill);
  const rclone = startRcloneLoop({ out: target.out, alias: BUCKET, bucketName, logFile: join(target.logDir, 'rclone.log') });
  stage.teardown.add('the rclone loop', () => rclone.stop(), rclone.kill);
  const clients = [sdk, rclone];
  await waitUntil(
    () => clients.every((c) => c.attempts.filter((a) => a.ok).length >= 3),
    30_000,
    () =>
      `the apps do not write: ${clients.map((c) => `${c.name} ${JSON.stringify(clientTotals(c))}`).join(', ')}; logs in ${target.logDir}`,
  );
  report.ok(
    `AWS SDK (JS v3) app: an object every ${SDK_INTERVAL_MS} ms, keys only from AWS_CONTAINER_CREDENTIALS_FULL_URI + AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (the SDK fetches again every ${CREDENTIALS_REFRESH})`,
  );
  report.ok(`rclone: rclone rcat every ${RCLONE_INTERVAL_MS} ms with RCLONE_CONFIG=${join(target.out, 'rclone/rclone.conf')}`);
  report.info(`keys in use: ${keyLabel(stage.keys[0]?.accessKeyId ?? '')}`);
  return clients;
}

interface Parts {
  readonly envStartMs: number;
  readonly init: InitResult;
  readonly sidecar: Sidecar;
  readonly clients: readonly ClientRun[];
  readonly rotations: readonly RotationFigures[];
}

/** Apps stopped, the sidecar's own figures read, then the sidecar stopped and its output checked for keys. */
async function closing(stage: Stage, parts: Parts): Promise<DemoSummary> {
  const { report } = stage;
  report.step('the apps stop; the sidecar is asked for its figures and stopped (SIGTERM)');
  for (const client of parts.clients) await client.stop();
  const figures = {
    rotations: await parts.sidecar.metric('bucket_agent_rotations_total'),
    credentialsAnswers: await parts.sidecar.metric('bucket_agent_credentials_requests_total', { code: '200' }),
    rssMiB: Math.round((await parts.sidecar.metric('process_resident_memory_bytes')) / 2 ** 20),
  };
  const run = await parts.sidecar.stop();
  report.info(`sidecar exited ${run.code}`);
  const clean = agentOutputClean(stage, [run.stdout, run.stderr, parts.init.run.stdout, parts.init.run.stderr]);
  const clients = Object.fromEntries(parts.clients.map((c) => [c.name, clientTotals(c)]));
  return {
    node: process.version,
    envStartMs: parts.envStartMs,
    init: { exitCode: parts.init.run.code, ms: parts.init.endedAt - parts.init.startedAt, files: parts.init.files },
    sidecarReadyMs: parts.sidecar.readyAfterMs,
    rotations: parts.rotations,
    clients,
    sidecar: figures,
    agentOutputClean: clean,
    ok: allWell(parts.rotations, clients, clean),
  };
}

function agentOutputClean(stage: Stage, outputs: readonly string[]): boolean {
  for (const keys of stage.keys) rememberKeys(keys);
  try {
    for (const text of outputs) assertNoSecrets(text, "the agents' output");
  } catch {
    stage.report.fail("a key reached the agents' output");
    return false;
  }
  const lines = outputs.join('\n').split('\n').filter(Boolean).length;
  stage.report.ok(`no key in the agents' output (${lines} lines checked against all ${stage.keys.length} key pairs, ids and secrets)`);
  return true;
}
