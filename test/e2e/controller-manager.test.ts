/**
 * startTestEnv({ controllers: true }) runs the real kube-controller-manager: a Deployment gets a
 * ReplicaSet and its Pods, a Job its Pod, each owned as in a real cluster (and so created through
 * the apiserver's admission chain, mutating webhooks included). No scheduler or kubelet: the Pods
 * stay Pending, which is all a webhook test needs.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppsV1Api, BatchV1Api, CoreV1Api, type V1Pod, type V1PodSpec } from '@kubernetes/client-node';
import { startTestEnv, type TestEnv } from '../env/index.js';
import { waitUntil } from '../env/process.js';
import { toolPath } from '../env/tools.js';

const POD_WAIT_MS = 60_000;

let env: TestEnv;
let ns: string;
let core: CoreV1Api;

function podSpec(restartPolicy: 'Always' | 'Never'): V1PodSpec {
  return { restartPolicy, containers: [{ name: 'main', image: 'busybox:1.37', command: ['sleep', '3600'] }] };
}

/** Pods labelled `app=<app>`, once there are `count` of them; fails naming the log to read. */
async function podsOf(app: string, count: number): Promise<V1Pod[]> {
  let pods: V1Pod[] = [];
  await waitUntil(
    async () => {
      pods = (await core.listNamespacedPod({ namespace: ns, labelSelector: `app=${app}` })).items;
      return pods.length >= count;
    },
    POD_WAIT_MS,
    () => `${pods.length} of ${count} pods of ${app} in ${ns}; see ${env.runDir}/logs/kube-controller-manager.log`,
    250,
  );
  return pods;
}

function owner(pod: V1Pod): { kind: string; name: string; controller: boolean | undefined } {
  const refs = pod.metadata?.ownerReferences ?? [];
  assert.equal(refs.length, 1, `pod ${pod.metadata?.name} has one owner`);
  const [ref] = refs;
  return { kind: ref?.kind ?? '', name: ref?.name ?? '', controller: ref?.controller };
}

/** Name of the one ReplicaSet in the namespace, checked to be owned by Deployment `deployment`. */
async function onlyReplicaSet(apps: AppsV1Api, deployment: string): Promise<string> {
  const replicaSets = (await apps.listNamespacedReplicaSet({ namespace: ns })).items;
  assert.equal(replicaSets.length, 1);
  const ref = replicaSets[0]?.metadata?.ownerReferences?.[0];
  assert.deepEqual([ref?.kind, ref?.name], ['Deployment', deployment]);
  return replicaSets[0]?.metadata?.name ?? '';
}

describe('kube-controller-manager in the test environment', () => {
  before(async () => {
    const started = performance.now();
    env = await startTestEnv({ controllers: true });
    process.stdout.write(`test env with kube-controller-manager ready in ${Math.round(performance.now() - started)} ms\n`);
    ns = await env.newNamespace('kcm');
    core = env.controlPlane.adminKubeConfig().makeApiClient(CoreV1Api);
  });
  after(async () => env?.stop());

  it('runs the requested controllers', () => {
    assert.ok(env.controlPlane.controllers.includes('deployment-controller'));
    assert.ok(env.controlPlane.controllers.includes('job-controller'));
  });

  it('a Deployment of 2 replicas gets a ReplicaSet and 2 Pods owned by it', async () => {
    const apps = env.controlPlane.adminKubeConfig().makeApiClient(AppsV1Api);
    const labels = { app: 'web' };
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec('Always') } },
      },
    });
    const pods = await podsOf('web', 2);
    assert.equal(pods.length, 2);
    const rs = await onlyReplicaSet(apps, 'web');
    for (const pod of pods) {
      assert.deepEqual(owner(pod), { kind: 'ReplicaSet', name: rs, controller: true });
      assert.equal(pod.status?.phase, 'Pending', 'no scheduler or kubelet runs them');
      // ServiceAccount admission ran: the namespace's `default` ServiceAccount and its token volume.
      assert.equal(pod.spec?.serviceAccountName, 'default');
      assert.ok(pod.spec?.volumes?.some((v) => v.name.startsWith('kube-api-access-')));
    }
  });

  it('a Job gets a Pod owned by it', async () => {
    const batch = env.controlPlane.adminKubeConfig().makeApiClient(BatchV1Api);
    const labels = { app: 'once' };
    await batch.createNamespacedJob({
      namespace: ns,
      body: { metadata: { name: 'once' }, spec: { backoffLimit: 0, template: { metadata: { labels }, spec: podSpec('Never') } } },
    });
    const [pod] = await podsOf('once', 1);
    assert.ok(pod !== undefined);
    assert.deepEqual(owner(pod), { kind: 'Job', name: 'once', controller: true });
    assert.equal(pod.metadata?.labels?.['job-name'], 'once');
  });
});

describe('kube-controller-manager not built', () => {
  it('fails before starting anything, naming the command that builds it', async () => {
    // A tool cache holding everything but kube-controller-manager.
    const cache = mkdtempSync(join(tmpdir(), 'bucket-agent-no-kcm-'));
    const saved = process.env.BUCKET_AGENT_CACHE;
    try {
      mkdirSync(join(cache, 'bin'));
      for (const tool of ['kine', 'kube-apiserver', 'weed'] as const)
        symlinkSync(toolPath(tool), join(cache, 'bin', basename(toolPath(tool))));
      process.env.BUCKET_AGENT_CACHE = cache;
      await assert.rejects(
        startTestEnv({ controllers: true }),
        /kube-controller-manager v\S+ is not built .* Build it with: bash scripts\/build-tools\.sh/,
      );
    } finally {
      if (saved === undefined) delete process.env.BUCKET_AGENT_CACHE;
      else process.env.BUCKET_AGENT_CACHE = saved;
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
