/**
 * `bucket-agent webhook` and the pods real controllers create (issue 11 "What must be shown":
 * Deployments (their pods), Jobs ... come back mutated as specified and are accepted by the
 * apiserver). A control plane with kube-controller-manager (deployment, replicaset, job, cronjob
 * controllers): a labelled and annotated Deployment, Job and CronJob get their Pods from the
 * controllers, through the apiserver's admission chain and so through the webhook (self-managed
 * TLS, a MutatingWebhookConfiguration by URL: webhook-harness.ts). Once with native sidecars and
 * once with classic ones (`--native-sidecars false`), where DESIGN.md wants a Job's pod init-only:
 * the webhook only knows it is a Job's pod from the ownerReference the job controller sets.
 *
 * A bad annotation on a pod template cannot be refused at `kubectl apply` (the webhook sees pods
 * only), so the controller's pod creations are refused: the ReplicaSet (or Job) carries the
 * webhook's message naming the annotation in its FailedCreate Event and, for the ReplicaSet, its
 * ReplicaFailure condition. No scheduler or kubelet: the Pods stay Pending, stored as admitted.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../env/control-plane.js';
import { freePort, waitUntil } from '../env/process.js';
import { REPO_ROOT } from '../env/tools.js';
import { assertRunClean, transcripts } from './cli-runs.js';
import { INJECTED, LABEL, WebhookHarness, type Kube } from './webhook-harness.js';

const logDir = join(REPO_ROOT, 'test/.runs', `webhook-workloads-${process.pid}`);
/** Controllers act within a second or two; a CronJob's first Job waits for the next minute. */
const POD_WAIT_MS = 60_000;
const CRON_WAIT_MS = 100_000;
const BUCKETS = 'media,backups=archive';

let cp: ControlPlane;
let harness: WebhookHarness;
let kube: Kube;

type Mode = 'native' | 'classic' | 'init-only';

interface Template {
  metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  spec: { restartPolicy: 'Always' | 'Never'; containers: V1Container[] };
}

/** A pod template that opts in: label `app=<app>` for finding its pods, the injection label, `buckets` and `extra`. */
function template(app: string, restartPolicy: 'Always' | 'Never', extra: Record<string, string> = {}): Template {
  return {
    metadata: { labels: { app, [LABEL]: 'true' }, annotations: { 'bucket-agent.io/buckets': BUCKETS, ...extra } },
    spec: {
      restartPolicy,
      containers: [{ name: 'app', image: 'registry.invalid/app:1', env: [{ name: 'GREETING', value: 'hello' }] }],
    },
  };
}

async function create(path: string, body: object): Promise<void> {
  const answer = await kube.request('POST', path, body);
  assert.equal(answer.status, 201, `POST ${path}: ${JSON.stringify(answer.body).slice(0, 600)}`);
}

const deployment = (ns: string, name: string, tpl: Template, replicas = 2): Promise<void> =>
  create(`/apis/apps/v1/namespaces/${ns}/deployments`, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { replicas, selector: { matchLabels: { app: tpl.metadata.labels.app } }, template: tpl },
  });

const job = (ns: string, name: string, tpl: Template): Promise<void> =>
  create(`/apis/batch/v1/namespaces/${ns}/jobs`, {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: { backoffLimit: 0, template: tpl },
  });

const cronJob = (ns: string, name: string, tpl: Template): Promise<void> =>
  create(`/apis/batch/v1/namespaces/${ns}/cronjobs`, {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name },
    spec: { schedule: '* * * * *', concurrencyPolicy: 'Forbid', jobTemplate: { spec: { backoffLimit: 0, template: tpl } } },
  });

/** The Pods labelled `app=<app>` in `ns`, once there are `count`; fails naming the controller log. */
async function podsOf(ns: string, app: string, count: number, timeoutMs = POD_WAIT_MS): Promise<V1Pod[]> {
  let pods: V1Pod[] = [];
  await waitUntil(
    async () => {
      const answer = await kube.request('GET', `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(`app=${app}`)}`);
      pods = (answer.body.items ?? []) as V1Pod[];
      return pods.length >= count;
    },
    timeoutMs,
    () => `${pods.length} of ${count} pods of ${app} in ${ns}; see ${logDir}/kube-controller-manager.log and the webhook's log`,
    250,
  );
  return pods;
}

function ownerOf(pod: V1Pod): string {
  const refs = pod.metadata?.ownerReferences ?? [];
  assert.equal(refs.length, 1, `pod ${pod.metadata?.name} has one owner`);
  assert.equal(refs[0]?.controller, true);
  return `${refs[0]?.kind}/${refs[0]?.name}`;
}

interface Shape {
  readonly name: string;
  readonly command: string | null;
  readonly restartPolicy: string | null;
  readonly startupProbe: string | null;
}

function shape(c: V1Container): Shape {
  const command = c.name.startsWith('bucket-agent') ? (c.args?.[0] ?? null) : null;
  return { name: c.name, command, restartPolicy: c.restartPolicy ?? null, startupProbe: c.startupProbe?.httpGet?.path ?? null };
}

const APP: Shape = { name: 'app', command: null, restartPolicy: null, startupProbe: null };
const INIT: Shape = { name: 'bucket-agent-init', command: 'init', restartPolicy: null, startupProbe: null };
/** What DESIGN.md and the README ask for in each mode: init containers, then containers. */
const EXPECTED: Record<Mode, { init: Shape[]; containers: Shape[] }> = {
  native: { init: [{ name: 'bucket-agent', command: 'sidecar', restartPolicy: 'Always', startupProbe: '/readyz' }], containers: [APP] },
  classic: { init: [INIT], containers: [APP, { name: 'bucket-agent', command: 'sidecar', restartPolicy: null, startupProbe: null }] },
  'init-only': { init: [INIT], containers: [APP] },
};

/** What every agent container must carry: the buckets as args, the image, the hardening, the volume it writes. */
function agentFacts(c: V1Container): object {
  const args = c.args ?? [];
  const out = c.volumeMounts?.find((m) => m.name === 'bucket-agent');
  return {
    buckets: args.flatMap((arg, i) => (args[i - 1] === '--bucket' ? [arg] : [])),
    image: c.image,
    runAsNonRoot: c.securityContext?.runAsNonRoot,
    readOnlyRootFilesystem: c.securityContext?.readOnlyRootFilesystem,
    out: [out?.mountPath, out?.readOnly ?? false],
  };
}

const AGENT_FACTS = {
  buckets: ['media', 'backups=archive'],
  image: 'registry.example.org/bucket-agent:0.1.0',
  runAsNonRoot: true,
  readOnlyRootFilesystem: true,
  out: ['/var/run/bucket-agent/out', false],
};

const APP_ENV = {
  GREETING: 'hello',
  AWS_SHARED_CREDENTIALS_FILE: '/bucket/aws/credentials',
  AWS_CONFIG_FILE: '/bucket/aws/config',
  RCLONE_CONFIG: '/bucket/rclone/rclone.conf',
  MC_CONFIG_DIR: '/bucket/mc',
};

/** The app container's mounts of the agent's volume and its env. */
function appFacts(app: V1Container | undefined): object {
  return {
    mounts: (app?.volumeMounts ?? []).filter((m) => m.name === 'bucket-agent').map((m) => [m.mountPath, m.readOnly]),
    env: Object.fromEntries((app?.env ?? []).map((e) => [e.name, e.value])),
  };
}

/** Mutated as specified: the agent containers of `mode`, their args and hardening, the volume, the app's mount and env. */
function assertInjected(pod: V1Pod, mode: Mode): void {
  const where = `pod ${pod.metadata?.name ?? ''} (${mode})`;
  const spec = pod.spec ?? { containers: [] };
  const all = [...(spec.initContainers ?? []), ...spec.containers];
  assert.equal(pod.metadata?.annotations?.[INJECTED], 'injected', where);
  assert.deepEqual({ init: (spec.initContainers ?? []).map(shape), containers: spec.containers.map(shape) }, EXPECTED[mode], where);
  const agents = all.filter((c) => c.name.startsWith('bucket-agent'));
  assert.deepEqual(
    agents.map(agentFacts),
    agents.map(() => AGENT_FACTS),
    where,
  );
  assert.equal(spec.volumes?.find((v) => v.name === 'bucket-agent')?.emptyDir?.medium, 'Memory', `${where}: the in-memory volume`);
  assert.deepEqual(appFacts(spec.containers.find((c) => c.name === 'app')), { mounts: [['/bucket', true]], env: APP_ENV }, where);
  // Stored as admitted, and the rest of the admission chain ran after the webhook (ServiceAccount).
  assert.equal(pod.status?.phase, 'Pending', where);
  assert.ok(
    spec.volumes?.some((v) => v.name.startsWith('kube-api-access-')),
    `${where}: ServiceAccount admission ran`,
  );
}

interface EventSeen {
  readonly kind: string;
  readonly name: string;
  readonly reason: string;
  readonly message: string;
}

/** The Events in `ns` about `kind/name` with `reason`, once there is one. */
async function eventsAbout(ns: string, kind: string, name: string, reason: string): Promise<EventSeen[]> {
  let seen: EventSeen[] = [];
  await waitUntil(
    async () => {
      const answer = await kube.request('GET', `/api/v1/namespaces/${ns}/events`);
      const items = (answer.body.items ?? []) as { involvedObject: { kind?: string; name?: string }; reason?: string; message?: string }[];
      seen = items.map((e) => ({
        kind: e.involvedObject.kind ?? '',
        name: e.involvedObject.name ?? '',
        reason: e.reason ?? '',
        message: e.message ?? '',
      }));
      return seen.some((e) => e.kind === kind && e.name.startsWith(name) && e.reason === reason);
    },
    POD_WAIT_MS,
    () => `no ${reason} Event about ${kind} ${name}*; Events: ${JSON.stringify(seen)}`,
    250,
  );
  return seen.filter((e) => e.kind === kind && e.name.startsWith(name) && e.reason === reason);
}

/** Tests registered and passed: the logs are kept unless every one passed (a failed `before` leaves them unpassed). */
const tally = { registered: 0, passed: 0 };

function check(name: string, fn: () => Promise<void>, timeout = 120_000): void {
  tally.registered++;
  it(name, { timeout }, async () => {
    await fn();
    tally.passed++;
  });
}

const flavourOf = (native: boolean): 'native' | 'classic' => (native ? 'native' : 'classic');
/** The namespace of each flavour, its webhook admitting there. */
const namespaces = new Map<string, string>();

/** A namespace, its webhook configuration and the webhook (`--native-sidecars <native>`) admitting there, and its CronJob. */
async function setUp(native: boolean): Promise<string> {
  const flavour = flavourOf(native);
  const ns = await harness.newNamespace(flavour);
  // The configuration first, as a chart installs it: the webhook patches its caBundle at start.
  const port = await freePort();
  await harness.createWebhookConfig(`bucket-agent-${flavour}`, ns, port, 'Fail');
  await harness.startWebhook({ service: `${flavour}-webhook`, port }, [
    ...['--webhook-config', `bucket-agent-${flavour}`, '--native-sidecars', String(native)],
  ]);
  await harness.untilAdmitting(ns);
  // Created up front for both flavours: their first Jobs come at the same next minute, while the other cases run.
  await cronJob(ns, 'nightly', template('nightly', 'Never'));
  return ns;
}

before(async () => {
  cp = await startControlPlane({ logDir, controllers: true });
  harness = await WebhookHarness.on(cp);
  kube = harness.kube;
  for (const native of [true, false]) namespaces.set(flavourOf(native), await setUp(native));
});

after(async () => {
  await harness?.cleanup();
  await cp?.stop();
  for (const run of transcripts) {
    assertRunClean(run);
    assert.ok(!run.stderr.includes('PRIVATE KEY'), 'a private key reached the log');
    assert.ok(!run.stderr.includes('"hello"') && !run.stderr.includes('GREETING'), 'a pod env value reached the log');
  }
  if (tally.passed === tally.registered) await rm(logDir, { recursive: true, force: true });
  else process.stdout.write(`webhook-workloads e2e logs kept in ${logDir}\n`);
});

for (const native of [true, false]) {
  const flavour = flavourOf(native);
  describe(`webhook with ${flavour} sidecars: pods created by the controllers`, () => {
    let ns: string;

    before(() => {
      ns = namespaces.get(flavour) ?? '';
    });

    check(
      `a Deployment of 2 replicas: both Pods (owned by its ReplicaSet) get the ${flavour} sidecar, the volume and the env`,
      async () => {
        await deployment(ns, 'web', template('web', 'Always'));
        const pods = await podsOf(ns, 'web', 2);
        assert.equal(pods.length, 2);
        for (const pod of pods) {
          assert.match(ownerOf(pod), /^ReplicaSet\/web-/);
          assertInjected(pod, flavour);
        }
      },
    );

    const jobMode: Mode = native ? 'native' : 'init-only';
    check(`a Job: its Pod gets ${native ? 'the native sidecar (it does not keep a Job alive)' : 'the init container alone'}`, async () => {
      await job(ns, 'once', template('once', 'Never'));
      const [pod] = await podsOf(ns, 'once', 1);
      assert.ok(pod !== undefined);
      assert.equal(ownerOf(pod), 'Job/once');
      assertInjected(pod, jobMode);
    });

    if (!native) {
      check(
        'a Job asking for mode: sidecar with classic sidecars: the job controller is refused, the Event names the annotation',
        async () => {
          await job(ns, 'forever', template('forever', 'Never', { 'bucket-agent.io/mode': 'sidecar' }));
          const events = await eventsAbout(ns, 'Job', 'forever', 'FailedCreate');
          assert.match(events[0]?.message ?? '', /admission webhook "inject.bucket-agent.io" denied the request: bucket-agent\.io\/mode\b/);
          assert.deepEqual(await podsOf(ns, 'forever', 0), []);
        },
      );
    } else {
      check(
        'a bad annotation on the Deployment template: the ReplicaSet is refused, its Event and condition name the annotation',
        async () => {
          await deployment(ns, 'bad', template('bad', 'Always', { 'bucket-agent.io/buckets': 'Bad_Name' }));
          const denied = /admission webhook "inject.bucket-agent.io" denied the request: bucket-agent\.io\/buckets: .*Bad_Name/;
          const events = await eventsAbout(ns, 'ReplicaSet', 'bad-', 'FailedCreate');
          assert.match(events[0]?.message ?? '', denied);
          let conditions: { type?: string; reason?: string; message?: string }[] = [];
          await waitUntil(
            async () => {
              const list = await kube.request('GET', `/apis/apps/v1/namespaces/${ns}/replicasets?labelSelector=app%3Dbad`);
              const [rs] = (list.body.items ?? []) as { status?: { conditions?: typeof conditions } }[];
              conditions = rs?.status?.conditions ?? [];
              return conditions.some((c) => c.type === 'ReplicaFailure');
            },
            POD_WAIT_MS,
            () => `no ReplicaFailure condition: ${JSON.stringify(conditions)}`,
            250,
          );
          const failure = conditions.find((c) => c.type === 'ReplicaFailure');
          assert.equal(failure?.reason, 'FailedCreate');
          assert.match(failure?.message ?? '', denied);
          assert.deepEqual(await podsOf(ns, 'bad', 0), []);
        },
      );
    }

    check(
      `a CronJob: the Pod of the Job it starts gets ${native ? 'the native sidecar' : 'the init container alone'}`,
      async () => {
        const [pod] = await podsOf(ns, 'nightly', 1, CRON_WAIT_MS);
        assert.ok(pod !== undefined);
        assert.match(ownerOf(pod), /^Job\/nightly-/);
        assertInjected(pod, jobMode);
      },
      CRON_WAIT_MS + 20_000,
    );
  });
}
