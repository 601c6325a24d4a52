/**
 * charts/bucket-agent against real tools: helm (lint, template, the values schema) and the real
 * kube-apiserver (+kube-controller-manager, so a Deployment gets real Pods through admission).
 *
 * - `helm lint` and `helm lint --strict` are clean; the README's values table is current.
 * - `helm template` of the default values and of each documented value set is accepted by
 *   `kubectl apply --dry-run=server`. cert-manager's CRDs do not exist on the test apiserver, so
 *   for the cert-manager sets every object but the Certificates and Issuers is dry-run, and those
 *   are checked as rendered (names, Secret, issuer, the cainjector annotation).
 * - The schema refuses bad values, naming them.
 * - The install, as close as a cluster without kubelet allows: the chart's ServiceAccount, RBAC and
 *   MutatingWebhookConfiguration are applied as rendered, except that the webhook entry's
 *   clientConfig calls a URL (the apiserver runs on loopback and cannot reach a Service);
 *   `bucket-agent webhook` (the shipped bundle) runs with the rendered Deployment's own args and
 *   env (downward-API values filled in as the kubelet would, the listen addresses moved to free
 *   loopback ports, `--tls-san 127.0.0.1` for the URL's host) and a token of the chart's
 *   ServiceAccount from the TokenRequest API: it creates its Secret and Lease and patches the
 *   caBundle with only the chart's RBAC; then a labelled Deployment's Pod comes back injected, an
 *   unlabelled one untouched, and what the RBAC does not grant is denied.
 * - The tenant RBAC example grants what the agent reads, and nothing more.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppsV1Api, CoreV1Api, CoordinationV1Api, type V1Container, type V1Deployment, type V1Pod } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { startControlPlane, type ControlPlane } from '../env/control-plane.js';
import { writeKubeconfig } from '../env/kube-config.js';
import { freePort, waitUntil } from '../env/process.js';
import { REPO_ROOT, toolPath } from '../env/tools.js';
import { assertRunClean, metricValue, startCli, transcripts, type Running } from './cli-runs.js';

const CHART = join(REPO_ROOT, 'charts/bucket-agent');
const BUNDLE = join(REPO_ROOT, 'dist/bundle/bucket-agent.js');
const RELEASE = 'bucket-agent';
const RELEASE_NS = 'bucket-agent-system';
const NAME = 'bucket-agent-webhook';
const CERT_MANAGER_KINDS = new Set(['Certificate', 'Issuer', 'ClusterIssuer']);

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  readonly [field: string]: unknown;
}

let cp: ControlPlane;
let helmHome: string;
const cleanups: (() => Promise<unknown>)[] = [];

function exec(cmd: string, args: readonly string[], input?: string, env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** helm with its config, cache and data in a throwaway directory. */
function helm(args: readonly string[]): Promise<Result> {
  return exec(toolPath('helm'), args, undefined, {
    HELM_CACHE_HOME: join(helmHome, 'cache'),
    HELM_CONFIG_HOME: join(helmHome, 'config'),
    HELM_DATA_HOME: join(helmHome, 'data'),
  });
}

function kubectl(args: readonly string[], input?: string, kubeconfig = cp.kubeconfigPath): Promise<Result> {
  return exec(toolPath('kubectl'), ['--kubeconfig', kubeconfig, ...args], input);
}

async function render(release: string, namespace: string, sets: readonly string[], extra: readonly string[] = []): Promise<Manifest[]> {
  const out = await helm(['template', release, CHART, '--namespace', namespace, ...sets.flatMap((s) => ['--set', s]), ...extra]);
  assert.equal(out.code, 0, `helm template ${sets.join(' ')}: ${out.stderr}`);
  return yaml.loadAll(out.stdout).filter((doc): doc is Manifest => doc !== null && typeof doc === 'object');
}

function toYaml(docs: readonly Manifest[]): string {
  return docs.map((doc) => yaml.dump(doc, { noRefs: true })).join('---\n');
}

function only(docs: readonly Manifest[], kind: string, name?: string): Manifest {
  const found = docs.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
  assert.equal(found.length, 1, `one ${kind}${name === undefined ? '' : ` ${name}`} in ${docs.map((d) => d.kind).join(',')}`);
  return found[0] as Manifest;
}

function webhookContainer(docs: readonly Manifest[]): V1Container {
  const deployment = only(docs, 'Deployment') as unknown as V1Deployment;
  const container = deployment.spec?.template.spec?.containers[0];
  assert.ok(container !== undefined);
  return container;
}

interface WebhookEntry {
  name: string;
  failurePolicy: string;
  reinvocationPolicy: string;
  timeoutSeconds: number;
  clientConfig: { service?: unknown; url?: string; caBundle?: string };
  objectSelector: { matchLabels: Record<string, string> };
  namespaceSelector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
}

function webhookEntry(docs: readonly Manifest[]): WebhookEntry {
  const entry = (only(docs, 'MutatingWebhookConfiguration').webhooks as WebhookEntry[])[0];
  assert.ok(entry !== undefined);
  return entry;
}

before(async () => {
  helmHome = mkdtempSync(join(tmpdir(), 'chart-test-helm-'));
  cp = await startControlPlane({ logDir: join(REPO_ROOT, 'test/.runs', `chart-${process.pid}`), controllers: true });
  await cp.createNamespace(RELEASE_NS);
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await cp?.stop();
  rmSync(helmHome, { recursive: true, force: true });
  for (const run of transcripts) {
    assertRunClean(run);
    assert.ok(!run.stderr.includes('PRIVATE KEY'), 'a private key reached the log');
  }
});

describe('helm lint and the chart metadata', () => {
  for (const strict of [false, true]) {
    it(`helm lint${strict ? ' --strict' : ''} is clean`, async () => {
      const out = await helm(['lint', CHART, ...(strict ? ['--strict'] : [])]);
      assert.equal(out.code, 0, out.stdout + out.stderr);
      assert.match(out.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      assert.doesNotMatch(out.stdout, /\[(WARNING|ERROR)\]/);
    });
  }

  it("Chart.yaml's appVersion is package.json's version", () => {
    const chart = yaml.load(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as { apiVersion: string; appVersion: string };
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(chart.apiVersion, 'v2');
    assert.equal(chart.appVersion, pkg.version);
  });

  it('the README values table is current and documents every value (scripts/chart-readme.mjs --check)', async () => {
    const out = await exec(process.execPath, [join(REPO_ROOT, 'scripts/chart-readme.mjs'), '--check']);
    assert.equal(out.code, 0, out.stderr);
  });
});

interface ValueSet {
  readonly name: string;
  readonly sets: readonly string[];
  check(docs: readonly Manifest[], namespace: string): void;
}

const argsOf = (docs: readonly Manifest[]): string[] => webhookContainer(docs).args ?? [];

const VALUE_SETS: readonly ValueSet[] = [
  {
    name: 'default',
    sets: [],
    check: (docs, ns) => {
      const entry = webhookEntry(docs);
      assert.equal(entry.failurePolicy, 'Fail');
      assert.equal(entry.reinvocationPolicy, 'Never');
      assert.equal(entry.timeoutSeconds, 10);
      assert.deepEqual(entry.objectSelector.matchLabels, { 'bucket-agent.io/inject': 'true' });
      assert.deepEqual(entry.namespaceSelector.matchExpressions[0]?.values, ['kube-system', 'kube-public', ns]);
      assert.equal(entry.clientConfig.caBundle, undefined);
      const args = argsOf(docs);
      for (const flag of ['--tls=self', '--native-sidecars=true', '--source=auto', '--prefix=bucket-agent.io/', '--review-timeout=8s'])
        assert.ok(args.includes(flag), `${flag} in ${args.join(' ')}`);
      assert.equal((only(docs, 'PodDisruptionBudget').spec as { minAvailable: number }).minAvailable, 1);
      for (const kind of ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'ServiceAccount', 'Service']) only(docs, kind);
    },
  },
  {
    name: 'cert-manager',
    sets: ['certManager.enabled=true'],
    check: (docs, ns) => {
      const cert = only(docs, 'Certificate', `cm-${NAME}-tls`).spec as {
        secretName: string;
        dnsNames: string[];
        issuerRef: { name: string; kind: string };
      };
      const svc = `cm-${NAME}`;
      assert.deepEqual(cert.dnsNames, [svc, `${svc}.${ns}`, `${svc}.${ns}.svc`, `${svc}.${ns}.svc.cluster.local`]);
      assert.deepEqual(cert.issuerRef, { name: `${svc}-ca`, kind: 'Issuer', group: 'cert-manager.io' });
      assert.ok((only(docs, 'Certificate', `${svc}-ca`).spec as { isCA: boolean }).isCA);
      assert.deepEqual(
        docs.filter((d) => d.kind === 'Issuer').map((d) => Object.keys(d.spec as object)[0]),
        ['selfSigned', 'ca'],
      );
      const mwc = only(docs, 'MutatingWebhookConfiguration');
      assert.equal(mwc.metadata.annotations?.['cert-manager.io/inject-ca-from'], `${ns}/${svc}-tls`);
      const deployment = only(docs, 'Deployment') as unknown as V1Deployment;
      assert.equal(deployment.spec?.template.spec?.volumes?.[0]?.secret?.secretName, cert.secretName);
      assert.equal(deployment.spec?.template.spec?.automountServiceAccountToken, false);
      assert.ok(argsOf(docs).includes('--tls=files') && argsOf(docs).includes('--tls-cert-file=/etc/bucket-agent/tls/tls.crt'));
      for (const kind of ['ClusterRole', 'Role', 'RoleBinding', 'ClusterRoleBinding'])
        assert.ok(!docs.some((d) => d.kind === kind), `no ${kind} with cert-manager`);
    },
  },
  {
    name: 'cert-manager-issuer',
    sets: ['certManager.enabled=true', 'certManager.issuerRef.name=corp-ca', 'certManager.issuerRef.kind=ClusterIssuer'],
    check: (docs) => {
      assert.deepEqual((only(docs, 'Certificate').spec as { issuerRef: object }).issuerRef, {
        name: 'corp-ca',
        kind: 'ClusterIssuer',
        group: 'cert-manager.io',
      });
      assert.ok(!docs.some((d) => d.kind === 'Issuer'));
    },
  },
  {
    name: 'failure-fail',
    sets: ['webhook.failurePolicy=Fail', 'webhook.timeoutSeconds=15', 'webhook.reviewTimeout=12s'],
    check: (docs) => {
      assert.equal(webhookEntry(docs).failurePolicy, 'Fail');
      assert.equal(webhookEntry(docs).timeoutSeconds, 15);
      assert.ok(argsOf(docs).includes('--review-timeout=12s'));
    },
  },
  {
    name: 'failure-ignore',
    sets: ['webhook.failurePolicy=Ignore', 'webhook.reinvocationPolicy=IfNeeded'],
    check: (docs) => {
      assert.equal(webhookEntry(docs).failurePolicy, 'Ignore');
      assert.equal(webhookEntry(docs).reinvocationPolicy, 'IfNeeded');
    },
  },
  {
    name: 'classic-sidecars',
    sets: ['agent.nativeSidecars=false', 'agent.image.pullPolicy=IfNotPresent', 'agent.source=api'],
    check: (docs) => {
      const args = argsOf(docs);
      for (const flag of ['--native-sidecars=false', '--image-pull-policy=IfNotPresent', '--source=api'])
        assert.ok(args.includes(flag), flag);
    },
  },
  {
    name: 'custom-prefix',
    sets: ['agent.prefix=s3.example.com/', 'webhook.excludeNamespaces={legacy,batch}'],
    check: (docs, ns) => {
      const entry = webhookEntry(docs);
      assert.deepEqual(entry.objectSelector.matchLabels, { 's3.example.com/inject': 'true' });
      assert.deepEqual(entry.namespaceSelector.matchExpressions[0]?.values, ['kube-system', 'kube-public', ns, 'legacy', 'batch']);
      assert.ok(argsOf(docs).includes('--prefix=s3.example.com/'));
    },
  },
  {
    name: 'pinned',
    sets: [
      `image.digest=sha256:${'a'.repeat(64)}`,
      'agent.image.repository=registry.example.org/mirror/bucket-agent',
      'agent.image.tag=0.1.0-rc1',
      'replicaCount=3',
      'podDisruptionBudget.minAvailable=2',
      'podAnnotations.example\\.com/team=storage',
      'nodeSelector.kubernetes\\.io/os=linux',
    ],
    check: (docs) => {
      assert.equal(webhookContainer(docs).image, `ghcr.io/bucket-agent/bucket-agent:0.1.0@sha256:${'a'.repeat(64)}`);
      assert.ok(argsOf(docs).includes('--agent-image=registry.example.org/mirror/bucket-agent:0.1.0-rc1'));
      assert.equal((only(docs, 'Deployment').spec as { replicas: number }).replicas, 3);
    },
  },
];

describe('helm template of the documented value sets, accepted by kubectl apply --dry-run=server', () => {
  for (const set of VALUE_SETS) {
    it(`${set.name}${set.sets.length > 0 ? ` (${set.sets.join(', ')})` : ''}`, async () => {
      const ns = `chart-${set.name}`;
      await cp.createNamespace(ns);
      const docs = await render(set.name === 'cert-manager' ? 'cm' : set.name, ns, set.sets);
      set.check(docs, ns);
      // cert-manager's CRDs are not served here: those objects are checked as rendered (above).
      const served = docs.filter((d) => !CERT_MANAGER_KINDS.has(d.kind));
      const out = await kubectl(['apply', '--dry-run=server', '-f', '-'], toYaml(served));
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.stdout.trim().split('\n').length, served.length, out.stdout);
      assert.match(out.stdout, /mutatingwebhookconfiguration\.admissionregistration\.k8s\.io\/\S+ created \(server dry run\)/);
    });
  }

  it('agent.nativeSidecars=auto follows the cluster version (1.28 -> classic, 1.29 -> native)', async () => {
    for (const [version, native] of [
      ['1.28.9', 'false'],
      ['1.29.0', 'true'],
    ] as const) {
      const docs = await render(RELEASE, RELEASE_NS, [], ['--kube-version', version]);
      assert.ok(argsOf(docs).includes(`--native-sidecars=${native}`), `${version}: ${argsOf(docs).join(' ')}`);
    }
  });

  it('helm install --dry-run=server against the test apiserver renders NOTES.txt from the cluster (native sidecars)', async () => {
    const out = await helm(['install', RELEASE, CHART, '--namespace', RELEASE_NS, '--dry-run=server', '--kubeconfig', cp.kubeconfigPath]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /Injected: a native sidecar \(Kubernetes >= 1.29\), image ghcr\.io\/bucket-agent\/bucket-agent:0\.1\.0/);
    assert.match(out.stdout, /bucket-agent\.io\/inject: "true"/);
  });
});

describe('values.schema.json refuses bad values, naming them', () => {
  const BAD: readonly [string, RegExp][] = [
    ['webhook.failurePolicy=Sometimes', /at '\/webhook\/failurePolicy': value must be one of 'Fail', 'Ignore'/],
    ['webhook.timeoutSeconds=31', /at '\/webhook\/timeoutSeconds': maximum/],
    ['webhook.reinvocationPolicy=Always', /at '\/webhook\/reinvocationPolicy'/],
    ['webhook.reviewTimeout=8', /at '\/webhook\/reviewTimeout'/],
    ['webhook.reviewTimeout=soon', /at '\/webhook\/reviewTimeout'/],
    ['webhook.port=443', /at '\/webhook\/port': minimum/],
    ['agent.nativeSidecars=maybe', /at '\/agent\/nativeSidecars': value must be one of/],
    ['agent.source=s3', /at '\/agent\/source'/],
    ['agent.prefix=bucket-agent.io', /at '\/agent\/prefix': 'bucket-agent.io' does not match pattern/],
    ['image.digest=sha256:abc', /at '\/image\/digest'/],
    ['image.pullPolicy=Sometimes', /at '\/image\/pullPolicy'/],
    ['image.repository=Ghcr.io/UPPER', /at '\/image\/repository'/],
    ['replicaCount=0', /at '\/replicaCount': minimum/],
    ['resources.requests.memory=lots', /at '\/resources\/requests\/memory'/],
    ['certManager.enabled=yes', /at '\/certManager\/enabled': got string, want boolean/],
    ['webhook.excludeNamespaces={Kube_System}', /at '\/webhook\/excludeNamespaces\/0'/],
    ['unknownKey=1', /additional properties 'unknownKey' not allowed/],
    ['webhook.failurepolicy=Fail', /at '\/webhook': additional properties 'failurepolicy' not allowed/],
    // Not the schema's (it cannot compare two values): the template's own check.
    ['podDisruptionBudget.minAvailable=2', /podDisruptionBudget\.minAvailable \(2\) must be below replicaCount \(2\)/],
  ];
  for (const [set, message] of BAD) {
    it(`--set ${set}`, async () => {
      const out = await helm(['template', RELEASE, CHART, '--namespace', RELEASE_NS, '--set', set]);
      assert.notEqual(out.code, 0, `accepted: ${set}`);
      assert.match(out.stderr, message);
    });
  }
});

describe('the chart installed on the real apiserver: its RBAC, its webhook configuration, the webhook with its own args', () => {
  let docs: Manifest[];
  let webhook: Running;
  let saKubeconfig: string;
  let health: string;
  let core: CoreV1Api;
  let apps: AppsV1Api;

  before(async () => {
    core = cp.adminKubeConfig().makeApiClient(CoreV1Api);
    apps = cp.adminKubeConfig().makeApiClient(AppsV1Api);
    // The cluster's own version decides agent.nativeSidecars=auto, as helm install would.
    const version = JSON.parse((await kubectl(['version', '-o', 'json'])).stdout) as { serverVersion: { gitVersion: string } };
    docs = await render(RELEASE, RELEASE_NS, [], ['--kube-version', version.serverVersion.gitVersion]);
    const port = await freePort();
    const healthPort = await freePort();
    health = `http://127.0.0.1:${healthPort}`;
    await applyChartObjects(docs, port);
    saKubeconfig = await serviceAccountKubeconfig(only(docs, 'ServiceAccount').metadata.name);
    webhook = startWebhook(webhookContainer(docs), { port, healthPort, kubeconfig: saKubeconfig });
    cleanups.push(() => webhook.stop());
    await waitUntil(
      async () => (await fetch(`${health}/readyz`)).ok,
      60_000,
      () => `webhook not ready:\n${webhook.stderrSoFar()}`,
      250,
    );
    await untilAdmitting(core);
  });

  it('with only the chart RBAC, the webhook created its Secret and Lease and patched the caBundle', async () => {
    const secret = await core.readNamespacedSecret({ name: `${NAME}-tls`, namespace: RELEASE_NS });
    assert.equal(secret.type, 'kubernetes.io/tls');
    assert.deepEqual(Object.keys(secret.data ?? {}).sort(), ['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    const lease = await cp
      .adminKubeConfig()
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name: `${NAME}-tls`, namespace: RELEASE_NS });
    assert.equal(lease.spec?.holderIdentity, `${NAME}-7d9c8b6f5-x2x7q`);
    const mwc = JSON.parse((await kubectl(['get', 'mutatingwebhookconfiguration', NAME, '-o', 'json'])).stdout) as {
      webhooks: WebhookEntry[];
    };
    const caBundle = Buffer.from(mwc.webhooks[0]?.clientConfig.caBundle ?? '', 'base64').toString();
    assert.equal(caBundle, Buffer.from(secret.data?.['ca.crt'] ?? '', 'base64').toString());
    assert.doesNotMatch(webhook.stderrSoFar(), /forbidden|permission denied/i);
  });

  it("a labelled Deployment's Pod (made by the real ReplicaSet controller) comes back injected", async () => {
    const ns = `chart-app-${Math.random().toString(16).slice(2, 8)}`;
    await cp.createNamespace(ns);
    await createDeployment(apps, ns, { app: 'web', labels: { 'bucket-agent.io/inject': 'true' }, buckets: 'backup-prod=backups' });
    await createDeployment(apps, ns, { app: 'plain', labels: {}, buckets: 'backup-prod' });
    const [web] = await podsOf(core, ns, 'web');
    const [plain] = await podsOf(core, ns, 'plain');
    assert.ok(web !== undefined && plain !== undefined);
    assertInjected(web);
    assert.equal(plain.metadata?.annotations?.['bucket-agent.io/status'], undefined);
    assert.equal(plain.spec?.initContainers, undefined);
  });

  it("a labelled Pod in the release's own namespace is never sent to the webhook", async () => {
    const pod = await core.createNamespacedPod({
      namespace: RELEASE_NS,
      body: {
        metadata: { name: 'own-ns', labels: { 'bucket-agent.io/inject': 'true' }, annotations: { 'bucket-agent.io/buckets': 'x' } },
        spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
      },
      dryRun: 'All',
    });
    assert.equal(pod.metadata?.annotations?.['bucket-agent.io/status'], undefined);
  });

  it("the ServiceAccount's token may do what the webhook does, and nothing else", async () => {
    const allowed: string[][] = [
      ['get', 'secret', `${NAME}-tls`, '-n', RELEASE_NS],
      ['get', 'secrets', '-n', RELEASE_NS, '--field-selector', `metadata.name=${NAME}-tls`],
      ['get', 'lease', `${NAME}-tls`, '-n', RELEASE_NS],
      ['get', 'mutatingwebhookconfiguration', NAME],
    ];
    const denied: string[][] = [
      ['get', 'secrets', '-n', RELEASE_NS],
      ['get', 'secret', 'another', '-n', RELEASE_NS],
      ['get', 'secret', `${NAME}-tls`, '-n', 'default'],
      ['create', 'secret', 'generic', 'x', '-n', 'default'],
      ['delete', 'secret', `${NAME}-tls`, '-n', RELEASE_NS],
      ['get', 'leases', '-n', RELEASE_NS],
      ['get', 'mutatingwebhookconfigurations'],
      ['get', 'mutatingwebhookconfiguration', 'another'],
      ['patch', 'mutatingwebhookconfiguration', 'another', '--type=json', '-p', '[]'],
      ['get', 'validatingwebhookconfigurations'],
      ['get', 'pods', '-n', RELEASE_NS],
      ['create', 'configmap', 'x', '-n', RELEASE_NS],
    ];
    for (const args of allowed) {
      const out = await kubectl(args, undefined, saKubeconfig);
      assert.equal(out.code, 0, `${args.join(' ')}: ${out.stderr}`);
    }
    for (const args of denied) {
      const out = await kubectl(args, undefined, saKubeconfig);
      assert.notEqual(out.code, 0, `allowed: ${args.join(' ')}`);
      assert.match(out.stderr, /forbidden/i, `${args.join(' ')}: ${out.stderr}`);
    }
  });

  it('reports its memory (self-managed TLS, after the reviews above)', async (t) => {
    const metrics = await (await fetch(`${health}/metrics`)).text();
    const rss = metricValue(metrics, 'process_resident_memory_bytes');
    t.diagnostic(`webhook --tls self RSS: ${(rss / 1048576).toFixed(1)} MiB`);
    assert.ok(rss > 0 && rss < 128 * 1048576, `RSS ${rss} within the chart's memory request`);
  });
});

describe('examples/tenant-rbac.yaml', () => {
  it('lets the agent read its Bucket Secrets and Bucket and create Events, and nothing more', async () => {
    await cp.createNamespace('tenant-a');
    const out = await kubectl(['apply', '-f', join(CHART, 'examples/tenant-rbac.yaml')]);
    assert.equal(out.code, 0, out.stderr);
    // [verb, group, resource, name, namespace]: a SubjectAccessReview for the pod's ServiceAccount.
    const yes: Access[] = [
      ['get', '', 'secrets', 'bucket-backup-prod'],
      ['list', '', 'secrets', 'bucket-backup-prod'],
      ['watch', '', 'secrets', 'bucket-backup-prod-credentials'],
      ['get', 'apps.cozystack.io', 'buckets', 'backup-prod'],
      ['watch', 'apps.cozystack.io', 'buckets', 'backup-prod'],
      ['create', '', 'events', ''],
    ];
    const no: Access[] = [
      ['list', '', 'secrets', ''],
      ['get', '', 'secrets', 'bucket-other'],
      ['update', '', 'secrets', 'bucket-backup-prod'],
      ['create', '', 'secrets', ''],
      ['get', 'apps.cozystack.io', 'buckets', 'other'],
      ['delete', 'apps.cozystack.io', 'buckets', 'backup-prod'],
      ['list', 'apps.cozystack.io', 'buckets', ''],
      ['patch', '', 'events', 'x'],
      ['get', '', 'pods', 'web'],
      ['get', '', 'secrets', 'bucket-backup-prod', 'default'],
    ];
    for (const access of yes) assert.equal(await allowed('system:serviceaccount:tenant-a:web', access), true, access.join(' '));
    for (const access of no) assert.equal(await allowed('system:serviceaccount:tenant-a:web', access), false, access.join(' '));
  });
});

type Access = [verb: string, group: string, resource: string, name: string, namespace?: string];

/** What the authorizer answers for a ServiceAccount (a SubjectAccessReview, the question kubectl auth can-i asks). */
async function allowed(user: string, [verb, group, resource, name, namespace]: Access): Promise<boolean> {
  const home = user.split(':')[2] ?? '';
  const review = {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${home}`, 'system:authenticated'],
      resourceAttributes: { verb, group, resource, name, namespace: namespace ?? home },
    },
  };
  const out = await kubectl(['create', '-o', 'json', '-f', '-'], JSON.stringify(review));
  assert.equal(out.code, 0, out.stderr);
  return (JSON.parse(out.stdout) as { status: { allowed?: boolean } }).status.allowed === true;
}

/** The chart's ServiceAccount, RBAC and webhook configuration, as rendered but for the clientConfig. */
async function applyChartObjects(docs: readonly Manifest[], port: number): Promise<void> {
  const kinds = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'MutatingWebhookConfiguration']);
  const objects = docs.filter((d) => kinds.has(d.kind));
  assert.equal(objects.length, kinds.size);
  const mwc = JSON.parse(JSON.stringify(only(objects, 'MutatingWebhookConfiguration'))) as Manifest & { webhooks: WebhookEntry[] };
  for (const entry of mwc.webhooks) {
    assert.ok(entry.clientConfig.service !== undefined);
    entry.clientConfig = { url: `https://127.0.0.1:${port}/mutate` };
  }
  const applied = objects.map((d) => (d.kind === 'MutatingWebhookConfiguration' ? mwc : d));
  const out = await kubectl(['apply', '-f', '-'], toYaml(applied));
  assert.equal(out.code, 0, out.stderr);
  cleanups.push(() => kubectl(['delete', 'mutatingwebhookconfiguration', NAME, '--ignore-not-found']));
}

/** A kubeconfig with a bound token of the chart's ServiceAccount (TokenRequest, as the kubelet projects it). */
async function serviceAccountKubeconfig(name: string): Promise<string> {
  const token = await kubectl(['create', 'token', name, '-n', RELEASE_NS, '--duration', '1h']);
  assert.equal(token.code, 0, token.stderr);
  return writeKubeconfig(join(cp.stateDir, `kubeconfig-chart-${name}.json`), {
    server: cp.server,
    caPem: cp.caPem,
    credentials: { token: token.stdout.trim() },
    name: `chart-${name}`,
    namespace: RELEASE_NS,
  });
}

/**
 * The rendered container's args and env, run as the kubelet would: env from the downward API
 * filled in (a pod name as a ReplicaSet would give it); the chart's `:8443`/`:8080` listeners
 * moved to free loopback ports; the in-cluster token replaced by --kubeconfig; --tls-san 127.0.0.1
 * so that the certificate covers the URL the apiserver calls (and the webhook claims that entry).
 */
function startWebhook(container: V1Container, opts: { port: number; healthPort: number; kubeconfig: string }): Running {
  const fieldValues: Record<string, string> = { 'metadata.namespace': RELEASE_NS, 'metadata.name': `${NAME}-7d9c8b6f5-x2x7q` };
  const env: Record<string, string> = {};
  for (const entry of container.env ?? []) {
    const value = entry.value ?? fieldValues[entry.valueFrom?.fieldRef?.fieldPath ?? ''];
    assert.ok(value !== undefined, `env ${entry.name}: no value for ${JSON.stringify(entry.valueFrom)}`);
    env[entry.name] = value;
  }
  const [command, ...flags] = container.args ?? [];
  assert.equal(command, 'webhook');
  const moved = flags.map((flag) =>
    flag.startsWith('--listen=')
      ? `--listen=127.0.0.1:${opts.port}`
      : flag.startsWith('--health-listen=')
        ? `--health-listen=127.0.0.1:${opts.healthPort}`
        : flag,
  );
  assert.ok(moved.includes(`--listen=127.0.0.1:${opts.port}`) && moved.includes(`--health-listen=127.0.0.1:${opts.healthPort}`));
  return startCli(['webhook', ...moved, '--tls-san=127.0.0.1', `--kubeconfig=${opts.kubeconfig}`], env, BUNDLE);
}

/** Until the apiserver gets mutated pods from the webhook (its caBundle patched in): a dry-run probe. */
async function untilAdmitting(core: CoreV1Api): Promise<void> {
  await cp.createNamespace('chart-probe');
  let last = '';
  await waitUntil(
    async () => {
      try {
        const pod = await core.createNamespacedPod({
          namespace: 'chart-probe',
          body: {
            metadata: { name: 'probe', labels: { 'bucket-agent.io/inject': 'true' }, annotations: { 'bucket-agent.io/buckets': 'data' } },
            spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
          },
          dryRun: 'All',
        });
        return pod.metadata?.annotations?.['bucket-agent.io/status'] === 'injected';
      } catch (err) {
        last = err instanceof Error ? err.message.slice(0, 300) : String(err);
        return false;
      }
    },
    60_000,
    () => `the apiserver gets no mutated pods: ${last}`,
    250,
  );
}

async function createDeployment(
  apps: AppsV1Api,
  namespace: string,
  spec: { app: string; labels: Record<string, string>; buckets: string },
): Promise<void> {
  const { app } = spec;
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: app },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app } },
        template: {
          metadata: { labels: { app, ...spec.labels }, annotations: { 'bucket-agent.io/buckets': spec.buckets } },
          spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1', env: [{ name: 'GREETING', value: 'hello' }] }] },
        },
      },
    },
  });
}

/** The pod as the webhook returned it: marked, a native sidecar of the chart's agent image, the app's variables. */
function assertInjected(pod: V1Pod): void {
  const { annotations = {}, ownerReferences = [] } = pod.metadata ?? {};
  assert.equal(annotations['bucket-agent.io/status'], 'injected');
  assert.equal(ownerReferences[0]?.kind, 'ReplicaSet');
  const sidecar = pod.spec?.initContainers?.find((c) => c.name === 'bucket-agent');
  assert.equal(sidecar?.restartPolicy, 'Always', 'a native sidecar: the cluster is >= 1.29 and nativeSidecars is auto');
  assert.equal(sidecar?.image, 'ghcr.io/bucket-agent/bucket-agent:0.1.0');
  const env = pod.spec?.containers[0]?.env?.map((e) => e.name) ?? [];
  assert.ok(env.includes('GREETING') && env.includes('AWS_SHARED_CREDENTIALS_FILE') && env.includes('RCLONE_CONFIG'), env.join(','));
}

async function podsOf(core: CoreV1Api, namespace: string, app: string): Promise<V1Pod[]> {
  let pods: V1Pod[] = [];
  await waitUntil(
    async () => {
      pods = (await core.listNamespacedPod({ namespace, labelSelector: `app=${app}` })).items;
      return pods.length >= 1;
    },
    60_000,
    () => `no pod of Deployment ${namespace}/${app} (kube-controller-manager.log under test/.runs/chart-${process.pid})`,
    250,
  );
  return pods;
}
