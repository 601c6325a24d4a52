/**
 * `bucket-agent inject` against the real apiserver (issue 11 "What must be shown"): its output for
 * every manifest under examples/ passes `kubectl apply --dry-run=server` (full validation and
 * admission, ServiceAccount admission included), native and classic; injecting twice equals
 * injecting once; and a created pod keeps what the injector decided about the service-account
 * token (the agent's own mount, none added to an app that opted out).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, type V1Container, type V1Pod } from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';
import { startControlPlane, type ControlPlane } from '../env/control-plane.js';
import { installBucketCrd } from '../env/provisioner.js';
import { REPO_ROOT, toolPath } from '../env/tools.js';
import { installVeleroCrds } from '../env/velero.js';

const BIN = join(REPO_ROOT, 'dist/bundle/bucket-agent.js');
const NAMESPACE = 'inject-e2e';
const logDir = join(REPO_ROOT, 'test/.runs', `inject-${process.pid}`);
let cp: ControlPlane;
let kubectl: string;
let failed = false;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Asynchronous on purpose: the apiserver's connection proxy lives in this process, and a
 * spawnSync would stop it from forwarding while kubectl waits for it.
 */
function run(command: string, args: string[], input: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { PATH: process.env.PATH, HOME: process.env.HOME }, timeout: 90_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // A program that does not read its stdin may close it before it is written.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

async function inject(file: string, flags: string[] = [], input = ''): Promise<string> {
  const r = await run(process.execPath, [BIN, 'inject', '--log-level', 'error', ...(file === '-' ? [] : ['-f', file]), ...flags], input);
  assert.equal(r.code, 0, `inject ${file} ${flags.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

interface Doc {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
}

const docsOf = (text: string): Doc[] => (loadAll(text) as (Doc | null)[]).filter((doc): doc is Doc => doc !== null);

/** The namespace a file's objects name (the bundled Secret's), else the test's. */
function namespaceOf(text: string): string {
  return docsOf(text).find((doc) => doc.metadata?.namespace !== undefined)?.metadata?.namespace ?? NAMESPACE;
}

function dryRun(manifests: string): Promise<Run> {
  return run(kubectl, ['--kubeconfig', cp.kubeconfigPath, 'apply', '--dry-run=server', '-n', namespaceOf(manifests), '-f', '-'], manifests);
}

/** Every YAML manifest under examples/, recursively. */
function examples(dir = join(REPO_ROOT, 'examples')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return examples(path);
    return /\.ya?ml$/.test(entry.name) ? [path] : [];
  });
}

/**
 * What a dry run cannot create for the pods of the same file: their namespaces and
 * ServiceAccounts (ServiceAccount admission refuses a pod whose account does not exist).
 */
async function prepare(files: readonly string[]): Promise<void> {
  const docs = files.flatMap((file) => docsOf(readFileSync(file, 'utf8')));
  const namespaces = new Set([NAMESPACE, ...docs.flatMap((doc) => doc.metadata?.namespace ?? [])]);
  for (const ns of namespaces) await cp.createNamespace(ns);
  // Each account in its own namespace, or the test's (the file's other objects land there too).
  const accounts = docs
    .filter((doc) => doc.kind === 'ServiceAccount')
    .map((doc) => ({ ...doc, metadata: { ...doc.metadata, namespace: doc.metadata?.namespace ?? NAMESPACE } }));
  const text = accounts.map((doc) => JSON.stringify(doc)).join('\n---\n');
  const r = await run(kubectl, ['--kubeconfig', cp.kubeconfigPath, 'apply', '-f', '-'], text);
  assert.equal(r.code, 0, r.stderr);
}

function check(name: string, fn: () => Promise<void> | void): void {
  it(name, { timeout: 120_000 }, async () => {
    try {
      await fn();
    } catch (err) {
      failed = true;
      throw err;
    }
  });
}

before(async () => {
  kubectl = toolPath('kubectl');
  cp = await startControlPlane({ logDir });
  // The custom resources examples/ holds: the Bucket a user creates, Velero's BackupStorageLocation.
  await installBucketCrd(cp.adminKubeConfig());
  await installVeleroCrds(cp.kubeconfigPath, join(logDir, 'velero-home'));
  await prepare(examples());
});

after(async () => {
  await cp?.stop();
  if (!failed) await rm(logDir, { recursive: true, force: true });
  else process.stdout.write(`inject e2e logs kept in ${logDir}\n`);
});

describe('bucket-agent inject on the real apiserver', () => {
  const files = examples();

  check('examples/ holds injectable manifests', async () => {
    const outputs = await Promise.all(files.map((file) => inject(file)));
    const injected = files.filter((_, i) => outputs[i]?.includes('bucket-agent.io/status: injected'));
    assert.ok(injected.length >= 3, `injected: ${injected.map((f) => relative(REPO_ROOT, f)).join(', ')}`);
  });

  for (const flags of [[], ['--no-native-sidecars'], ['--source', 'api', '--image-pull-policy', 'IfNotPresent']]) {
    for (const file of files) {
      check(
        `${relative(REPO_ROOT, file)} ${flags.join(' ') || '(defaults)'}: kubectl apply --dry-run=server accepts the output`,
        async () => {
          const r = await dryRun(await inject(file, flags));
          assert.equal(r.code, 0, `${r.stderr}\n${r.stdout}`);
        },
      );
    }
  }

  for (const file of files) {
    check(`${relative(REPO_ROOT, file)}: injecting twice equals injecting once`, async () => {
      for (const flags of [[], ['--no-native-sidecars']]) {
        const once = await inject(file, flags);
        assert.equal(await inject('-', flags, once), once);
      }
    });
  }

  check('a created pod: the agent has its own token mount, the app that opted out has none', async () => {
    const out = await inject(join(REPO_ROOT, 'examples/inject/pod.yaml'));
    const r = await run(kubectl, ['--kubeconfig', cp.kubeconfigPath, 'apply', '-n', NAMESPACE, '-f', '-'], out);
    assert.equal(r.code, 0, r.stderr);
    const pod = await cp.adminKubeConfig().makeApiClient(CoreV1Api).readNamespacedPod({ name: 'uploader', namespace: NAMESPACE });
    const agent = pod.spec?.initContainers?.find((c) => c.name === 'bucket-agent');
    const tokenMounts = (agent?.volumeMounts ?? []).filter((m) => m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount');
    assert.deepEqual(
      tokenMounts.map((m) => m.name),
      ['bucket-agent-token'],
    );
    assert.equal(agent?.restartPolicy, 'Always');
    const app = pod.spec?.containers.find((c) => c.name === 'uploader');
    assert.deepEqual(
      (app?.volumeMounts ?? []).map((m) => m.mountPath),
      ['/etc/bucket'],
    );
    assert.ok(!(pod.spec?.volumes ?? []).some((v) => v.name.startsWith('kube-api-access-')), 'automount stayed off');
  });

  check('automount left on: the ServiceAccount plugin gives the app its token and leaves the agent with its own', async () => {
    const text = readFileSync(join(REPO_ROOT, 'examples/inject/pod.yaml'), 'utf8')
      .replace(/^\s*automountServiceAccountToken: false.*\n/m, '')
      .replace('name: uploader\n  labels', 'name: uploader-automount\n  labels');
    const out = await inject('-', ['--source', 'api'], text);
    const r = await run(
      kubectl,
      ['--kubeconfig', cp.kubeconfigPath, 'apply', '--dry-run=server', '-n', NAMESPACE, '-o', 'json', '-f', '-'],
      out,
    );
    assert.equal(r.code, 0, r.stderr);
    const items = (JSON.parse(r.stdout) as { items: V1Pod[] }).items;
    const pod = items.find((item) => item.kind === 'Pod');
    const saMounts = (c: V1Container | undefined) =>
      (c?.volumeMounts ?? []).filter((m) => m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount').map((m) => m.name);
    assert.deepEqual(saMounts(pod?.spec?.initContainers?.find((c) => c.name === 'bucket-agent')), ['bucket-agent-token']);
    const app = saMounts(pod?.spec?.containers.find((c) => c.name === 'uploader'));
    assert.equal(app.length, 1);
    assert.match(app[0] ?? '', /^kube-api-access-/);
  });

  check('a refused annotation: inject exits 2 naming document, object and annotation', async () => {
    const text = readFileSync(join(REPO_ROOT, 'examples/inject/pod.yaml'), 'utf8');
    const r = await run(process.execPath, [BIN, 'inject'], text.replace('buckets: backup-prod', 'buckets: Backup_Prod'));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /document 4: Pod uploader: bucket-agent\.io\/buckets: \\?"Backup_Prod\\?" is not a valid Bucket name/);
  });
});
