import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import {
  AdmissionregistrationV1Api,
  ApiException,
  AuthenticationV1Api,
  CoreV1Api,
  KubeConfig,
  VersionApi,
  Watch,
} from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../env/control-plane.js';
import { waitUntil } from '../env/process.js';
import { REPO_ROOT } from '../env/tools.js';

const logDir = join(REPO_ROOT, 'test/.runs', `control-plane-${process.pid}`);
let cp: ControlPlane;
let failed = false;

/** `it`, remembering failures so the logs are kept for them and removed otherwise. */
function check(name: string, fn: (t: TestContext) => Promise<void>): void {
  it(name, { timeout: 60_000 }, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      failed = true;
      throw err;
    }
  });
}

function clientFrom(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

function isStatus(code: number): (err: unknown) => boolean {
  return (err) => err instanceof ApiException && err.code === code;
}

before(async () => {
  const started = performance.now();
  try {
    cp = await startControlPlane({ logDir });
  } catch (err) {
    failed = true;
    throw err;
  }
  process.stdout.write(`control plane ready in ${Math.round(performance.now() - started)} ms\n`);
});

after(async () => {
  await cp?.stop();
  if (!failed) await rm(logDir, { recursive: true, force: true });
  else process.stdout.write(`control-plane logs kept in ${logDir}\n`);
});

describe('test control plane', () => {
  check('serves the pinned Kubernetes version to the admin kubeconfig', async (t) => {
    const info = await cp.adminKubeConfig().makeApiClient(VersionApi).getCode();
    assert.match(info.gitVersion, /^v1\.\d+\.\d+$/);
    const mib = Object.entries(await cp.memoryUsage()).map(([k, v]) => `${k} ${Math.round(v / 2 ** 20)} MiB`);
    t.diagnostic(`${info.gitVersion}; RSS: ${mib.join(', ')}`);
  });

  check('a ServiceAccount token is allowed inside its Role and denied (403) outside it', async () => {
    const path = await cp.serviceAccountKubeconfig('rbac-test', 'reader', [
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] },
    ]);
    const sa = clientFrom(path);
    const review = await sa.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
    assert.equal(review.status?.userInfo?.username, 'system:serviceaccount:rbac-test:reader');
    const core = sa.makeApiClient(CoreV1Api);
    await core.listNamespacedConfigMap({ namespace: 'rbac-test' });
    await assert.rejects(core.listNamespacedSecret({ namespace: 'rbac-test' }), isStatus(403));
    await assert.rejects(core.listNamespacedConfigMap({ namespace: 'default' }), isStatus(403));
  });

  check('calls an https webhook by URL and applies its patch', async () => {
    const hook = await startMutatingWebhook();
    try {
      await registerWebhook(`https://127.0.0.1:${hook.port}/mutate`);
      await cp.createNamespace('webhook-test');
      const core = cp.adminKubeConfig().makeApiClient(CoreV1Api);
      const labels = { 'webhook-test': 'yes' };
      // The apiserver picks up new webhook configurations from an informer, so retry until it does.
      let mutated: Record<string, string> | undefined;
      await waitUntil(
        async () => {
          const cm = await core.createNamespacedConfigMap({
            namespace: 'webhook-test',
            dryRun: 'All',
            body: { metadata: { name: 'probe', labels } },
          });
          mutated = cm.metadata?.labels;
          return mutated?.mutated === 'by-test-webhook';
        },
        20_000,
        () => `webhook never applied; saw ${hook.seen.length} reviews`,
      );
      const review = hook.seen.at(-1);
      assert.equal(review?.request.kind.kind, 'ConfigMap');
      assert.equal(review?.request.dryRun, true);
      assert.equal(review?.request.namespace, 'webhook-test');

      // A Pod goes through ServiceAccount admission first: the `default` SA must exist for that.
      const pod = await core.createNamespacedPod({
        namespace: 'webhook-test',
        dryRun: 'All',
        body: { metadata: { name: 'app', labels }, spec: { containers: [{ name: 'app', image: 'busybox' }] } },
      });
      assert.equal(pod.metadata?.labels?.mutated, 'by-test-webhook');
      assert.equal(pod.spec?.serviceAccountName, 'default');
      assert.ok(
        pod.spec?.volumes?.some((v) => v.name.startsWith('kube-api-access-')),
        'projected token volume',
      );
    } finally {
      await cp
        .adminKubeConfig()
        .makeApiClient(AdmissionregistrationV1Api)
        .deleteMutatingWebhookConfiguration({ name: 'control-plane-test' })
        .catch(() => undefined);
      await new Promise((resolve) => hook.server.close(resolve));
    }
  });

  check('restartApiserver keeps storage, tokens and clients working', async () => {
    const core = cp.adminKubeConfig().makeApiClient(CoreV1Api);
    const saPath = await cp.serviceAccountKubeconfig('restart-test', 'reader', [
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get'] },
    ]);
    await core.createNamespacedConfigMap({ namespace: 'restart-test', body: { metadata: { name: 'kept' } } });
    await cp.restartApiserver();
    const kept = await core.readNamespacedConfigMap({ namespace: 'restart-test', name: 'kept' });
    assert.equal(kept.metadata?.name, 'kept');
    const sa = clientFrom(saPath).makeApiClient(CoreV1Api);
    await sa.readNamespacedConfigMap({ namespace: 'restart-test', name: 'kept' });
  });

  check('dropConnections ends open watches and new requests work', async () => {
    await cp.createNamespace('drop-test');
    const kc = cp.adminKubeConfig();
    let watchEnded: (err: unknown) => void = () => undefined;
    const ended = new Promise<unknown>((resolve) => {
      watchEnded = resolve;
    });
    // watch() resolves once the response has started, so the connection is open by then.
    await new Watch(kc).watch('/api/v1/namespaces/drop-test/configmaps', {}, () => undefined, watchEnded);
    assert.ok(cp.dropConnections() > 0);
    await ended;
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({ namespace: 'drop-test', body: { metadata: { name: 'after-drop' } } });
    await core.readNamespacedConfigMap({ namespace: 'drop-test', name: 'after-drop' });
  });

  check('stallConnections leaves a watch hanging without an error', async () => {
    await cp.createNamespace('stall-test');
    const kc = cp.adminKubeConfig();
    const events: string[] = [];
    let endedWith: unknown = 'not ended';
    const watch = await new Watch(kc).watch(
      '/api/v1/namespaces/stall-test/configmaps',
      {},
      (_type, obj: { metadata?: { name?: string } }) => events.push(obj.metadata?.name ?? ''),
      (err) => {
        endedWith = err;
      },
    );
    assert.ok(cp.stallConnections() > 0);
    const core = clientFrom(cp.kubeconfigPath).makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({ namespace: 'stall-test', body: { metadata: { name: 'unseen' } } });
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(events, [], 'a stalled watch must not deliver events');
    assert.equal(endedWith, 'not ended', 'a stalled watch must not end');
    watch.abort();
  });
});

interface AdmissionReview {
  request: { uid: string; kind: { kind: string }; namespace?: string; dryRun?: boolean };
}

async function startMutatingWebhook(): Promise<{ server: Server; port: number; seen: AdmissionReview[] }> {
  const cert = await cp.issueCertificate({ commonName: 'test-webhook', usage: 'server', ips: ['127.0.0.1'] });
  const seen: AdmissionReview[] = [];
  const patch = [{ op: 'add', path: '/metadata/labels/mutated', value: 'by-test-webhook' }];
  const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AdmissionReview;
      seen.push(review);
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          response: {
            uid: review.request.uid,
            allowed: true,
            patchType: 'JSONPatch',
            patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
          },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('webhook has no port');
  return { server, port: addr.port, seen };
}

async function registerWebhook(url: string): Promise<void> {
  await cp
    .adminKubeConfig()
    .makeApiClient(AdmissionregistrationV1Api)
    .createMutatingWebhookConfiguration({
      body: {
        metadata: { name: 'control-plane-test' },
        webhooks: [
          {
            name: 'mutate.control-plane.test',
            admissionReviewVersions: ['v1'],
            sideEffects: 'None',
            failurePolicy: 'Fail',
            timeoutSeconds: 5,
            clientConfig: { url, caBundle: Buffer.from(cp.caPem).toString('base64') },
            objectSelector: { matchLabels: { 'webhook-test': 'yes' } },
            rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps', 'pods'] }],
          },
        ],
      },
    });
}
