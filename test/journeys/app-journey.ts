/**
 * What the application journeys share: applying an example's injected manifests with the real
 * kubectl, its app's script materialised from the example's ConfigMap, the injected agent run as
 * the pod would run it (example-pod.ts) until /readyz, and the app's log read back as lines.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1PodSpec } from '@kubernetes/client-node';
import { after, before } from 'node:test';
import { startTestEnv, type ProvisionedBucket, type TestEnv } from '../env/index.js';
import { run, waitUntil } from '../env/process.js';
import { REPO_ROOT, toolPath } from '../env/tools.js';
import { assertNoSecrets, rememberKeys, runCli, type Run, type Running } from '../e2e/cli-runs.js';
import {
  agentContainers,
  containerOf,
  findManifest,
  injectExample,
  localAgentArgs,
  localAppCommand,
  localPod,
  podSpecOf,
  startAgent,
  startApp,
  type AppCommand,
  type LocalPod,
  type Manifest,
  type RunningApp,
} from './example-pod.js';

/** The health port inject gives the sidecar unless an annotation says otherwise. */
export const HEALTH_PORT = 9910;

/** kubectl with the machine's PATH and HOME only (asynchronous: the apiserver's connection proxy lives in this process). */
export function kubectl(kubeconfig: string, args: readonly string[]): Promise<Run> {
  return run(
    toolPath('kubectl'),
    ['--kubeconfig', kubeconfig, ...args],
    { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
    90_000,
  );
}

/** `kubectl apply -n ns` of documents (an example after inject): created for real, as a user would. */
export async function kubectlApply(kubeconfig: string, ns: string, docs: readonly Manifest[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bucket-agent-apply-'));
  const file = join(dir, 'manifests.json');
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs }));
  const applied = await kubectl(kubeconfig, ['apply', '-n', ns, '-f', file]);
  await rm(dir, { recursive: true, force: true });
  assert.equal(applied.code, 0, `kubectl apply: ${applied.stderr}`);
}

export interface JourneyFile {
  /** The file's test environment (management cluster, when there are two). */
  env(): TestEnv;
  /** Runs `cleanup` in after(), in reverse order, before the environment stops. */
  defer(cleanup: () => Promise<unknown>): void;
}

/** One test environment per file: started in before() (after `prepare`, which checks programs), stopped in after(). */
export function journeyFile(prepare: () => void = () => undefined): JourneyFile {
  let env: TestEnv | undefined;
  const cleanups: (() => Promise<unknown>)[] = [];
  before(async () => {
    prepare();
    env = await startTestEnv();
  });
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await env?.stop();
  });
  return {
    env: () => {
      assert.ok(env !== undefined, 'the test environment is not started');
      return env;
    },
    defer: (cleanup) => void cleanups.push(cleanup),
  };
}

/**
 * The ConfigMap's keys as files in a new temporary directory, for the app's mount of it. Outside
 * the repository, so no linter takes the scripts for its own; `require('@aws-sdk/client-s3')`
 * resolves through NODE_PATH, the pod's /deps mount mapped to the repository (see DEPS_VOLUME).
 */
export function writeConfigMap(docs: readonly Manifest[], name: string): { dir: string; remove: () => Promise<void> } {
  const data = (findManifest(docs, 'ConfigMap', name).data ?? {}) as Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), `bucket-agent-${name}-`));
  for (const [key, text] of Object.entries(data)) writeFileSync(join(dir, key), text);
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The examples' init container installs the SDK into volume `deps` (/deps); here the repository holds it in node_modules. */
export const DEPS_VOLUME = { deps: REPO_ROOT } as const;

/** The SDK an example's init container installs is the one this repository tests with. */
export function assertSdkPinned(pod: V1PodSpec): void {
  const installed = (
    JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules/@aws-sdk/client-s3/package.json'), 'utf8')) as { version: string }
  ).version;
  const install = (pod.initContainers ?? []).flatMap((c) => c.command ?? []).find((arg) => arg.startsWith('@aws-sdk/client-s3@'));
  assert.equal(install, `@aws-sdk/client-s3@${installed}`, 'the example installs the SDK version the test runs');
}

/** A short fingerprint of an access key id, as the example apps log it (never the key itself). */
export function fingerprint(accessKeyId: string): string {
  return createHash('sha256').update(accessKeyId).digest('hex').slice(0, 12);
}

export interface AgentPod {
  readonly local: LocalPod;
  readonly sidecar: Running;
  readonly health: string;
  /** Stops the sidecar; asserts that none of its output (and the init run's) carries key material. */
  stop(): Promise<void>;
}

/**
 * Runs the agent containers inject added, in the pod's order: an `init` to its end (exit 0), the
 * sidecar until its /readyz is 200 (what the native sidecar's startupProbe waits for).
 */
export async function startAgents(pod: V1PodSpec, local: LocalPod): Promise<AgentPod> {
  const runs: Run[] = [];
  let sidecar: Running | undefined;
  for (const agent of agentContainers(pod)) {
    if (agent.args?.[0] === 'init') {
      const run = await runCli(localAgentArgs(agent, local), { POD_NAME: local.name, POD_NAMESPACE: local.namespace });
      assert.equal(run.code, 0, `init: ${run.stderr}`);
      runs.push(run);
    } else sidecar = startAgent(agent, local);
  }
  assert.ok(sidecar !== undefined, 'inject added no sidecar');
  const running = sidecar;
  const health = `http://127.0.0.1:${local.ports.get(HEALTH_PORT) ?? 0}`;
  await waitUntil(
    async () => (await fetch(`${health}/readyz`).catch(() => undefined))?.status === 200,
    60_000,
    () => `the sidecar never became ready:\n${running.stderrSoFar()}`,
  );
  const stop = async (): Promise<void> => {
    runs.push(await running.stop());
    for (const run of runs) assertNoSecrets(`${run.stdout}\n${run.stderr}`, 'agent output');
  };
  return { local, sidecar: running, health, stop };
}

/** The app's output lines (stdout and stderr) from line `from` on that match `pattern`. */
export function outputLines(app: RunningApp, pattern: RegExp, from = 0): string[] {
  return app
    .output()
    .split('\n')
    .slice(from)
    .filter((line) => pattern.test(line));
}

/** How many complete lines the app has written: a `from` for outputLines meaning "from now on". */
export function lineCount(app: RunningApp): number {
  return app.output().split('\n').length - 1;
}

/** A line of the script apps' log: a request (`n`, `ok`, `key`: the fingerprint, `error`) or an `event`. */
export interface AppLine {
  readonly n?: number;
  readonly ok?: boolean;
  readonly key?: string;
  readonly error?: string;
  readonly event?: string;
}

/** The app's stdout lines that are JSON objects (the example apps log one per request or event). */
export function jsonLines<T extends object>(app: RunningApp): T[] {
  return app
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{') && line.endsWith('}'))
    .map((line) => JSON.parse(line) as T);
}

/** Asserts the app is still the process started before the rotation (no restart), and its log holds no key. */
export async function assertStillRunning(app: RunningApp): Promise<void> {
  const exited = await Promise.race([app.done.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 100))]);
  assert.equal(exited, false, `the app exited:\n${app.output()}`);
  assertNoSecrets(app.output(), 'app output');
}

export interface ScriptExampleSpec {
  /** examples/<example>/deployment.yaml */
  readonly example: string;
  readonly bucket: string;
  /** The Deployment; its ConfigMap (the app's script) has the same name. */
  readonly deployment: string;
  readonly container: string;
  /** Container ports the agent or the app listen on, mapped to free local ports. */
  readonly ports?: readonly number[];
}

export interface ScriptExample {
  readonly ns: string;
  readonly bucket: ProvisionedBucket;
  readonly local: LocalPod;
  readonly agents: AgentPod;
  readonly command: AppCommand;
  readonly app: RunningApp;
}

/**
 * An example whose app is a script in a ConfigMap on the SDK: its Bucket provisioned in a new
 * namespace, the manifest injected and applied, the agents started with the pod's ServiceAccount
 * (the example's Role the only grant), the app container's command started with its mounts.
 */
export async function startScriptExample(journey: JourneyFile, spec: ScriptExampleSpec): Promise<ScriptExample> {
  const env = journey.env();
  const ns = await env.newNamespace(spec.example);
  const bucket = await env.createBucket(ns, spec.bucket);
  await bucket.secretWritten;
  rememberKeys(bucket);
  const docs = await injectExample(spec.example, 'deployment.yaml');
  await kubectlApply(env.kubeconfigPath, ns, docs);
  const pod = podSpecOf(findManifest(docs, 'Deployment', spec.deployment));
  assertSdkPinned(pod);
  const dir = join(env.runDir, spec.example);
  const kubeconfig = await env.serviceAccountKubeconfig(ns, pod.serviceAccountName ?? '', []);
  const local = await localPod({ out: join(dir, 'out'), kubeconfig, namespace: ns, name: `${spec.deployment}-local` }, spec.ports);
  const agents = await startAgents(pod, local);
  journey.defer(() => agents.stop());
  const script = writeConfigMap(docs, spec.deployment);
  journey.defer(script.remove);
  const command = localAppCommand(containerOf(pod, spec.container), local, { app: script.dir, ...DEPS_VOLUME });
  const app = startApp(command, { HOME: dir });
  journey.defer(() => app.stop());
  return { ns, bucket, local, agents, command, app };
}
