/**
 * `bucket-agent webhook` end to end: the shipped bundle with self-managed TLS against the real
 * kube-apiserver (+kine), which calls it by URL (https://127.0.0.1:<port>/mutate) through a
 * MutatingWebhookConfiguration whose caBundle the webhook itself keeps (webhook-harness.ts). Pods
 * are stored, never run (no kubelet): their creation alone goes through admission. Each scenario
 * has its own namespace and webhook configuration (namespaceSelector on the namespace's name), so
 * they cannot see each other's pods.
 *
 * Deployments, Jobs and CronJobs, whose pods the real controllers create: webhook-workloads.test.ts.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { startControlPlane, type ControlPlane } from '../env/control-plane.js';
import { freePort, waitUntil } from '../env/process.js';
import { REPO_ROOT } from '../env/tools.js';
import { assertRunClean, transcripts } from './cli-runs.js';
import { annotationCorpus } from './webhook-corpus.js';
import { INJECTED, LABEL, SYSTEM_NS, WebhookHarness, annotationsOf, pod, type Answer, type Kube, type Webhook } from './webhook-harness.js';

let cp: ControlPlane;
let harness: WebhookHarness;
let kube: Kube;

/** The serial of the certificate a webhook serves now (a fresh TLS connection). */
function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const serial = socket.getPeerX509Certificate()?.serialNumber ?? '';
      socket.destroy();
      resolve(serial);
    });
    socket.on('error', reject);
  });
}

function secretData(name: string): Promise<Record<string, string>> {
  return kube.request('GET', `/api/v1/namespaces/${SYSTEM_NS}/secrets/${name}`).then((a) => (a.body.data ?? {}) as Record<string, string>);
}

function certificatesIn(b64: string | undefined): number {
  return (
    Buffer.from(b64 ?? '', 'base64')
      .toString('utf8')
      .match(/BEGIN CERTIFICATE/g) ?? []
  ).length;
}

before(async () => {
  cp = await startControlPlane({ logDir: join(REPO_ROOT, 'test/.runs', `webhook-${process.pid}`) });
  harness = await WebhookHarness.on(cp);
  kube = harness.kube;
});

after(async () => {
  await harness?.cleanup();
  await cp?.stop();
  for (const run of transcripts) {
    assertRunClean(run);
    assert.ok(!run.stderr.includes('PRIVATE KEY'), 'a private key reached the log');
    assert.ok(!run.stderr.includes('"hello"') && !run.stderr.includes('GREETING'), 'a pod env value reached the log');
  }
});

describe('bucket-agent webhook (self-managed TLS, real apiserver)', () => {
  let ns: string;
  let main: Webhook;

  before(async () => {
    ns = await harness.newNamespace('hook');
    // The configuration first, as a chart installs it: the webhook patches its caBundle at start
    // (one created later waits for the next look, see the last describe).
    const port = await freePort();
    await harness.createWebhookConfig('bucket-agent-main', ns, port, 'Fail');
    main = await harness.startWebhook({ service: 'bucket-agent-webhook', port }, ['--webhook-config', 'bucket-agent-main']);
    await harness.untilAdmitting(ns);
  });

  it('keeps the CA in a kubernetes.io/tls Secret and in the caBundle', async () => {
    const secret = await kube.request('GET', `/api/v1/namespaces/${SYSTEM_NS}/secrets/bucket-agent-webhook-tls`);
    assert.equal(secret.body.type, 'kubernetes.io/tls');
    const data = secret.body.data as Record<string, string>;
    assert.deepEqual(Object.keys(data).sort(), ['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    const mwc = await kube.request('GET', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/bucket-agent-main');
    const caBundle = (mwc.body.webhooks as { clientConfig: { caBundle: string } }[])[0]?.clientConfig.caBundle;
    assert.equal(Buffer.from(caBundle ?? '', 'base64').toString(), Buffer.from(data['ca.crt'] ?? '', 'base64').toString());
  });

  it('a labelled bare Pod comes back mutated and is stored', async () => {
    const created = await harness.createPod(ns, pod('web', { [LABEL]: 'true' }, { 'bucket-agent.io/buckets': 'media,backups=archive' }));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(annotationsOf(created)[INJECTED], 'injected');
    const spec = created.body.spec as {
      initContainers?: { name: string; restartPolicy?: string }[];
      containers: { env?: { name: string }[] }[];
      volumes?: { emptyDir?: { medium?: string } }[];
    };
    assert.ok(
      spec.initContainers?.some((c) => c.restartPolicy === 'Always'),
      'a native sidecar',
    );
    assert.ok(spec.volumes?.some((v) => v.emptyDir?.medium === 'Memory'));
    const env = spec.containers[0]?.env?.map((e) => e.name) ?? [];
    assert.ok(env.includes('GREETING') && env.includes('AWS_SHARED_CREDENTIALS_FILE'), env.join(','));
  });

  it('bad annotations are refused at create with the message naming the annotation', async () => {
    const refused = await harness.createPod(ns, pod('bad', { [LABEL]: 'true' }, { 'bucket-agent.io/buckets': 'Bad_Name' }));
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.match(String(refused.body.message), /admission webhook "inject.bucket-agent.io" denied the request: .*bucket-agent.io\/buckets/);
  });

  it('unlabelled pods are untouched', async () => {
    const created = await harness.createPod(ns, pod('plain', {}, { 'bucket-agent.io/buckets': 'media' }));
    assert.equal(created.status, 201);
    assert.equal(annotationsOf(created)[INJECTED], undefined);
    assert.equal((created.body.spec as { initContainers?: unknown[] }).initContainers, undefined);
  });

  it('a generated corpus of 600 annotation combinations: never a 5xx, every mutated pod accepted by a server-side dry run', async (t) => {
    const corpus = annotationCorpus(600, 0x5eed);
    const outcomes = { admitted: 0, refused: 0 };
    const failures: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < corpus.length; i = next++) {
        const entry = corpus[i];
        if (entry === undefined) continue;
        const answer = await harness.createPod(ns, pod(`c-${i}`, entry.labels, entry.annotations), true);
        if (answer.status === 201 && (entry.labels[LABEL] !== 'true' || annotationsOf(answer)[INJECTED] === 'injected' || entry.maySkip))
          outcomes.admitted++;
        else if (answer.status === 400 && /denied the request: bucket-agent\.io\//.test(String(answer.body.message))) outcomes.refused++;
        else failures.push(`${JSON.stringify(entry)} -> ${answer.status} ${String(answer.body.message).slice(0, 300)}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    assert.deepEqual(failures, []);
    t.diagnostic(`corpus: ${JSON.stringify(outcomes)}`);
    assert.ok(outcomes.admitted > 100 && outcomes.refused > 100, JSON.stringify(outcomes));
    const metrics = await (await fetch(`${main.health}/metrics`)).text();
    assert.match(metrics, /bucket_agent_webhook_reviews_total\{outcome="error"\} 0\n/);
    assert.match(metrics, /bucket_agent_webhook_reviews_total\{outcome="bad-request"\} 0\n/);
  });

  it('two webhook replicas share one certificate: the same serial served by both', async () => {
    const second = await harness.startWebhook({ service: 'bucket-agent-webhook' }, ['--webhook-config', 'bucket-agent-main']);
    assert.equal(await servedSerial(second.port), await servedSerial(main.port));
    const lease = await kube.request('GET', `/apis/coordination.k8s.io/v1/namespaces/${SYSTEM_NS}/leases/bucket-agent-webhook-tls`);
    assert.ok(String((lease.body.spec as { holderIdentity?: string }).holderIdentity).length > 0);
    const issued = (text: string): number =>
      Number(/bucket_agent_webhook_certificates_issued_total\{kind="serving"\} (\d+)/.exec(text)?.[1] ?? -1);
    assert.equal(issued(await (await fetch(`${second.health}/metrics`)).text()), 0, 'the second replica issued nothing');
    await second.running.stop();
  });
});

describe('failurePolicy with the webhook down', () => {
  for (const policy of ['Fail', 'Ignore'] as const) {
    it(`${policy}: ${policy === 'Fail' ? 'the pod is refused' : 'the pod is admitted unmutated'}`, async () => {
      const ns = await harness.newNamespace(`down-${policy.toLowerCase()}`);
      const deadPort = await freePort();
      await harness.createWebhookConfig(`bucket-agent-down-${policy.toLowerCase()}`, ns, deadPort, policy);
      const body = pod('web', { [LABEL]: 'true' }, { 'bucket-agent.io/buckets': 'media' });
      let answer: Answer | undefined;
      // The apiserver picks the new configuration up from its watch within a moment.
      await waitUntil(
        async () => {
          answer = await harness.createPod(ns, body, true);
          return policy === 'Fail' ? answer.status >= 500 : answer.status === 201;
        },
        10_000,
        () => JSON.stringify(answer?.body),
      );
      if (policy === 'Fail') assert.match(String(answer?.body.message), /failed calling webhook "inject.bucket-agent.io"/);
      else assert.equal(annotationsOf(answer ?? { status: 0, body: {} })[INJECTED], undefined);
    });
  }
});

describe('certificate rotation during steady admissions', () => {
  it('serving and CA rotations (12 s certificates, 36 s CA, a 2 s trust delay) lose no admission', async (t) => {
    const ns = await harness.newNamespace('rotate');
    const hook = await harness.startWebhook({ service: 'rotating-webhook' }, [
      // Within the 45 s below: serving certificates renewed every 8 s; a new CA staged at 12 s (less
      // than two serving lifetimes left) and serving 2 s later (the harness's --trust-delay).
      ...['--webhook-config', 'bucket-agent-rotate', '--cert-validity', '12s', '--ca-validity', '36s'],
    ]);
    await harness.createWebhookConfig('bucket-agent-rotate', ns, hook.port, 'Fail');
    await harness.untilAdmitting(ns);
    const serials = new Set<string>();
    const caBundleSizes = new Set<number>();
    const result = { ok: 0, failed: [] as string[] };
    const until = Date.now() + 45_000;
    const body = pod('steady', { [LABEL]: 'true' }, { 'bucket-agent.io/buckets': 'media' });
    const admissions = async (): Promise<void> => {
      while (Date.now() < until) {
        const answer = await harness.createPod(ns, body, true);
        if (answer.status === 201 && annotationsOf(answer)[INJECTED] === 'injected') result.ok++;
        else result.failed.push(`${answer.status} ${String(answer.body.message).slice(0, 200)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const observe = async (): Promise<void> => {
      while (Date.now() < until) {
        serials.add(await servedSerial(hook.port));
        caBundleSizes.add(certificatesIn((await secretData('rotating-webhook-tls'))['ca.crt']));
        await new Promise((r) => setTimeout(r, 1000));
      }
    };
    await Promise.all([admissions(), admissions(), observe()]);
    t.diagnostic(
      `admissions ok ${result.ok}, failed ${result.failed.length}; serving certificates ${serials.size}; ca.crt sizes ${[...caBundleSizes].join(',')}`,
    );
    assert.deepEqual(result.failed, [], `${result.failed.length} failed of ${result.ok + result.failed.length}`);
    assert.ok(result.ok > 300, `admissions: ${result.ok}`);
    assert.ok(serials.size >= 4, `serving certificates seen: ${serials.size}`);
    assert.ok(
      [...caBundleSizes].some((n) => n >= 2),
      `a CA rotation with old and new CA both trusted (ca.crt sizes ${[...caBundleSizes].join(',')})`,
    );
  });
});

describe('a MutatingWebhookConfiguration created after the webhook started', () => {
  // The webhook looks for its configuration at start; not found, it looks again only at the next
  // reconcile (RECONCILE_EVERY_MS, a minute), not at the retry of a failed one (RECONCILE_RETRY_MS,
  // 5 s): labelled pods meet failurePolicy Fail for up to a minute (kubectl apply of a directory,
  // a configuration re-created by an upgrade).
  it('gets its caBundle within 15 s (three RECONCILE_RETRY_MS)', async () => {
    const ns = await harness.newNamespace('late');
    const hook = await harness.startWebhook({ service: 'late-webhook' }, ['--webhook-config', 'bucket-agent-late']);
    await hook.running.waitForLog(/MutatingWebhookConfiguration bucket-agent-late not found/);
    await harness.createWebhookConfig('bucket-agent-late', ns, hook.port, 'Fail');
    await harness.untilAdmitting(ns, 15_000);
  });
});
