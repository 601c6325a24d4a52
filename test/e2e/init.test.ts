/**
 * `bucket-agent init` end to end: the real binary as a child process, the real kube-apiserver
 * with the Bucket CRD and the Cozystack-like provisioner, real SeaweedFS behind the keys. Every
 * run's output (and the Events) is scanned for the keys.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../env/control-plane.js';
import { startTestEnv, type BucketOptions, type ProvisionedBucket, type TestEnv } from '../env/index.js';
import { REPO_ROOT } from '../env/tools.js';

import {
  assertNoSecrets,
  assertRunClean,
  createPod,
  errorMessage,
  knownSecrets,
  messages,
  podEvents,
  readJson,
  rememberKeys,
  runCli,
  startCli,
  transcripts,
} from './cli-runs.js';
// ---------------------------------------------------------------------------------------------

let env: TestEnv;
let admin: KubeConfig;
let core: CoreV1Api;
let work: string;

before(async () => {
  env = await startTestEnv();
  admin = env.controlPlane.adminKubeConfig();
  core = admin.makeApiClient(CoreV1Api);
  work = await mkdtemp(join(tmpdir(), 'bucket-agent-init-'));
});

after(async () => {
  await env?.stop();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

let outSeq = 0;
function newOut(): string {
  return join(work, `out-${++outSeq}`);
}

/** The flags every run shares: the admin kubeconfig, JSON logs, a quick progress pace. */
function baseArgs(ns: string, out: string, kubeconfig = env.kubeconfigPath): string[] {
  return ['init', '--kubeconfig', kubeconfig, '--namespace', ns, '--out', out, '--log-format', 'json', '--progress-interval', '1s'];
}

async function provisioned(ns: string, name: string, opts: BucketOptions = {}): Promise<ProvisionedBucket> {
  const bucket = await env.createBucket(ns, name, opts);
  rememberKeys(bucket);
  return bucket;
}

/** A Secret written by hand, for payloads the provisioner would never write. */
async function putSecret(ns: string, name: string, stringData: Record<string, string>): Promise<void> {
  const body = { metadata: { name, namespace: ns }, stringData };
  try {
    await core.createNamespacedSecret({ namespace: ns, body });
  } catch {
    await core.replaceNamespacedSecret({ name, namespace: ns, body });
  }
}

function bucketInfo(endpoint: string, bucketName: string, keys: { accessKeyId: string; secretAccessKey: string }): Record<string, string> {
  const spec = {
    bucketName,
    authenticationType: 'KEY',
    secretS3: { endpoint, region: '', accessKeyID: keys.accessKeyId, accessSecretKey: keys.secretAccessKey },
    secretAzure: null,
    protocols: ['s3'],
  };
  return { BucketInfo: JSON.stringify({ metadata: { name: 'bc-test' }, spec }) };
}

function assertRendered(out: string, alias: string, bucket: ProvisionedBucket): void {
  const record = readJson(join(out, 'json', `${alias}.json`));
  assert.equal(record.alias, alias);
  assert.equal(record.bucketName, bucket.bucketName);
  assert.equal(record.accessKeyId, bucket.accessKeyId, 'the keys of the Secret are rendered');
  assert.equal(record.secretAccessKey, bucket.secretAccessKey);
  assert.match(readFileSync(join(out, 'aws/credentials'), 'utf8'), new RegExp(`^\\[${alias}\\]$`, 'm'));
}

/** A made-up key, remembered so the scan looks for it too. */
function randomKey(length: number): string {
  const key = randomBytes(length).toString('base64url').slice(0, length);
  knownSecrets.add(key);
  return key;
}

describe('bucket-agent init', () => {
  it('renders at once when the Bucket and its Secret are already there, verifying the keys', async () => {
    const ns = await env.newNamespace('init');
    const bucket = await provisioned(ns, 'ready');
    await bucket.secretWritten;
    const out = newOut();
    const run = await runCli(baseArgs(ns, out).concat('--bucket', 'ready'));
    assertRunClean(run);
    assert.equal(run.code, 0, run.stderr);
    assertRendered(out, 'ready', bucket);
    assert.match(readFileSync(join(out, 'aws/credentials'), 'utf8'), /^\[default\]$/m, 'one bucket: also [default]');
    assert.ok(
      messages(run).some((m) => m.startsWith('keys verified')),
      run.stderr,
    );
    assert.ok(!messages(run).some((m) => m.startsWith('waiting for Secret')), 'nothing to wait for, nothing said about waiting');
    assert.ok(run.stdout.includes('aws/credentials'), 'prints the paths it wrote');
  });

  it('reads a kubeconfig from a directory (a mounted Secret) and writes Events on the pod', async () => {
    const ns = await env.newNamespace('init');
    const bucket = await provisioned(ns, 'mounted');
    await bucket.secretWritten;
    const dir = join(work, `kubeconfig-secret-${ns}`);
    await mkdir(dir);
    await writeFile(join(dir, 'value'), readFileSync(env.kubeconfigPath));
    const uid = await createPod(admin, ns, 'app-0');
    const out = newOut();
    const run = await runCli(baseArgs(ns, out, dir).concat('--bucket', 'mounted=data'), {
      POD_NAME: 'app-0',
      POD_NAMESPACE: ns,
      POD_UID: uid,
    });
    assertRunClean(run);
    assert.equal(run.code, 0, run.stderr);
    assertRendered(out, 'data', bucket);
    const events = await podEvents(admin, ns, 'app-0');
    const ready = events.find((e) => e.reason === 'BucketReady');
    assert.ok(ready !== undefined, JSON.stringify(events));
    assert.equal(ready.involved, `Pod/app-0/${uid}`);
    assert.match(ready.message, /data \(Secret bucket-mounted\)/);
    assertNoSecrets(JSON.stringify(events), 'Events');
  });

  it('waits by watching when the Secret appears late, and says what it waits for', async () => {
    const ns = await env.newNamespace('init');
    const bucket = await provisioned(ns, 'late', { secretDelayMs: 2500 });
    const out = newOut();
    const run = await runCli(baseArgs(ns, out).concat('--bucket', 'late'));
    assertRunClean(run);
    assert.equal(run.code, 0, run.stderr);
    assertRendered(out, 'late', bucket);
    const waiting = messages(run).filter((m) => m.startsWith('waiting for Secret bucket-late (or bucket-late-credentials) in '));
    assert.ok(waiting.length >= 2, `announced and repeated at the progress pace:\n${run.stderr}`);
    assert.match(waiting.at(-1) ?? '', /: Bucket Ready=False \(Provisioning\) for \d+(\.\d)?s$/);
  });

  it('keeps waiting when the Bucket is created after init starts', async () => {
    const ns = await env.newNamespace('init');
    const out = newOut();
    const running = startCli(baseArgs(ns, out).concat('--bucket', 'after'));
    await running.waitForLog(/Bucket after not found/);
    const bucket = await provisioned(ns, 'after', { secretDelayMs: 300 });
    const run = await running.done;
    assertRunClean(run);
    assert.equal(run.code, 0, run.stderr);
    assertRendered(out, 'after', bucket);
    assert.ok(messages(run).includes('Bucket after appeared'), run.stderr);
  });

  it('times out with exit code 5 and a summary when the Bucket never appears', async () => {
    const ns = await env.newNamespace('init');
    const out = newOut();
    const run = await runCli(baseArgs(ns, out).concat('--bucket', 'ghost', '--timeout', '3s'));
    assertRunClean(run);
    assert.equal(run.code, 5, run.stderr);
    const summary = errorMessage(run);
    assert.match(summary, /^timed out after 3s waiting for the credentials of 1 of 1 bucket\(s\)\. Bucket ghost in namespace /);
    assert.match(
      summary,
      /no such Bucket object; none of the Secrets bucket-ghost, bucket-ghost-credentials appeared \(check the name and namespace\)/,
    );
    assert.ok(!existsSync(out), 'nothing rendered');
  });

  it('reports a failed Bucket while waiting, as a log line and a pod Event, then times out', async () => {
    const ns = await env.newNamespace('init');
    await provisioned(ns, 'broken', { secretDelayMs: 600_000 });
    const uid = await createPod(admin, ns, 'app-1');
    const running = startCli(baseArgs(ns, newOut()).concat('--bucket', 'broken', '--timeout', '5s'), {
      POD_NAME: 'app-1',
      POD_NAMESPACE: ns,
      POD_UID: uid,
    });
    await running.waitForLog(/waiting for Secret bucket-broken/);
    await env.failBucket(ns, 'broken', 'InstallFailed', 'helm install failed: quota exceeded');
    const run = await running.done;
    assertRunClean(run);
    assert.equal(run.code, 5, run.stderr);
    assert.ok(
      messages(run).some((m) => m.includes('Ready=False (InstallFailed): helm install failed: quota exceeded; still waiting')),
      run.stderr,
    );
    assert.ok(
      messages(run).some((m) => /^waiting for Secret bucket-broken .*: Bucket Ready=False \(InstallFailed\) for \d/.test(m)),
      run.stderr,
    );
    assert.match(errorMessage(run), /the platform reports Ready=False \(InstallFailed\): helm install failed: quota exceeded since /);
    const events = await podEvents(admin, ns, 'app-1');
    const reasons = events.map((e) => `${e.type}/${e.reason}`);
    for (const expected of ['Normal/BucketWaiting', 'Warning/BucketFailed', 'Warning/BucketTimeout'])
      assert.ok(reasons.includes(expected), reasons.join(', '));
    const failed = events.filter((e) => e.reason === 'BucketFailed');
    assert.equal(failed.length, 1, 'Ready=False (Provisioning) is waiting, not failing');
    assert.match(failed[0]?.message ?? '', /Ready=False \(InstallFailed\): helm install failed: quota exceeded/);
  });

  describe('every Secret layout, with and without a user', () => {
    const cases = [
      { layout: 'bucketinfo', user: undefined, secret: 'bucket-l1' },
      { layout: 'bucketinfo', user: 'alice', secret: 'bucket-l2-alice' },
      { layout: 'cozystack-flat', user: undefined, secret: 'bucket-l3-credentials' },
      { layout: 'cozystack-flat', user: 'bob', secret: 'bucket-l4-bob-credentials' },
      { layout: 'cosi-v1alpha2', user: undefined, secret: 'bucket-l5' },
      { layout: 'cosi-v1alpha2', user: 'carol', secret: 'bucket-l6-carol' },
    ] as const;
    cases.forEach((c, i) => {
      it(`${c.layout}${c.user === undefined ? '' : ` for user ${c.user}`}: finds ${c.secret}, verifies, renders`, async () => {
        const ns = await env.newNamespace('layout');
        const name = `l${i + 1}`;
        const bucket = await provisioned(ns, name, { layout: c.layout, user: c.user, secretDelayMs: 500 });
        const out = newOut();
        // The flat layout's endpoint has no scheme, i.e. https: the test CA signs that server.
        const args = baseArgs(ns, out).concat(
          '--bucket',
          name,
          '--ca-file',
          env.caFile,
          ...(c.user === undefined ? [] : ['--user', c.user]),
        );
        const run = await runCli(args);
        assertRunClean(run);
        assert.equal(run.code, 0, run.stderr);
        assertRendered(out, name, bucket);
        assert.equal((readJson(join(out, 'json', `${name}.json`)).source as { name?: string }).name, c.secret);
        assert.ok(
          messages(run).some((m) => m.startsWith('keys verified')),
          run.stderr,
        );
      });
    });

    it('with --user, falls back to bucket-<n> when there is no per-user Secret', async () => {
      const ns = await env.newNamespace('layout');
      const bucket = await provisioned(ns, 'shared');
      const out = newOut();
      const run = await runCli(baseArgs(ns, out).concat('--bucket', 'shared', '--user', 'dave'));
      assertRunClean(run);
      assert.equal(run.code, 0, run.stderr);
      assertRendered(out, 'shared', bucket);
      assert.equal((readJson(join(out, 'json', 'shared.json')).source as { name?: string }).name, 'bucket-shared');
    });
  });

  describe('keys that do not work fail verification with exit code 7, in plain words', () => {
    let ns: string;
    let real: ProvisionedBucket;
    let other: ProvisionedBucket;
    before(async () => {
      ns = await env.newNamespace('verify');
      [real, other] = await Promise.all([provisioned(ns, 'real'), provisioned(ns, 'other')]);
      await Promise.all([real.secretWritten, other.secretWritten]);
    });

    const cases: { name: string; words: RegExp; reason: string; payload: () => Record<string, string> }[] = [
      {
        name: 'unknown-key',
        reason: 'unknown access key',
        words: /S3 does not know this access key \(InvalidAccessKeyId\)/,
        payload: () => bucketInfo(env.s3Endpoint, real.bucketName, { accessKeyId: randomKey(20), secretAccessKey: real.secretAccessKey }),
      },
      {
        name: 'bad-signature',
        reason: 'wrong secret key',
        words: /the secret key does not match the access key \(bad signature\) \(SignatureDoesNotMatch\)/,
        payload: () => bucketInfo(env.s3Endpoint, real.bucketName, { accessKeyId: real.accessKeyId, secretAccessKey: randomKey(40) }),
      },
      {
        name: 'no-bucket',
        reason: 'a bucket that does not exist',
        words: /\((NoSuchBucket|AccessDenied)\)/,
        payload: () => bucketInfo(env.s3Endpoint, `${real.bucketName}-missing`, real),
      },
      {
        name: 'access-denied',
        reason: "valid keys on another key's bucket",
        words: /the keys are valid but may not list this bucket \(access denied\) \(AccessDenied\)/,
        payload: () => bucketInfo(env.s3Endpoint, other.bucketName, real),
      },
      {
        name: 'tls',
        reason: 'an https endpoint signed by an unknown CA (no --ca-file)',
        words: /TLS failure: the server certificate is not signed by a trusted CA \([A-Z_]+\); use --ca-file for a private CA/,
        payload: () => bucketInfo(env.s3TlsEndpoint, real.bucketName, real),
      },
      {
        name: 'not-tls',
        reason: 'https:// to an endpoint that speaks plain http',
        words: /TLS failure: the server does not speak TLS on this port \(http endpoint given as https\?\) \([A-Z_]+\)/,
        payload: () => bucketInfo(env.s3Endpoint.replace(/^http:/, 'https:'), real.bucketName, real),
      },
      {
        name: 'dns',
        reason: 'a host name that does not resolve',
        // .invalid never resolves (RFC 6761); EAI_AGAIN where no resolver answers at all.
        words: /DNS lookup of the S3 host failed \((ENOTFOUND|EAI_AGAIN)\)/,
        payload: () => bucketInfo('http://s3.bucket-agent-test.invalid:8333', real.bucketName, real),
      },
      {
        name: 'connection',
        reason: 'nothing listening',
        words: /cannot connect to S3: connection refused .*\(ECONNREFUSED\)/,
        payload: () => bucketInfo('http://127.0.0.1:9', real.bucketName, real),
      },
    ];
    for (const c of cases) {
      it(`${c.reason}`, async () => {
        await putSecret(ns, `bucket-${c.name}`, c.payload());
        const out = newOut();
        const run = await runCli(baseArgs(ns, out).concat('--bucket', c.name, '--verify-timeout', '1500ms'));
        assertRunClean(run);
        assert.equal(run.code, 7, run.stderr);
        assert.match(errorMessage(run), c.words);
        assert.match(
          errorMessage(run),
          new RegExp(`^keys of bucket ${c.name} \\(Secret ${ns}/bucket-${c.name}\\) failed verification against S3 bucket `),
        );
        assert.ok(!existsSync(out), 'nothing rendered when verification fails');
      });
    }

    it('--insecure-skip-tls-verify accepts the unknown CA, --ca-file trusts it', async () => {
      await putSecret(ns, 'bucket-tls-ok', bucketInfo(env.s3TlsEndpoint, real.bucketName, real));
      const insecure = await runCli(baseArgs(ns, newOut()).concat('--bucket', 'tls-ok', '--insecure-skip-tls-verify'));
      assert.equal(insecure.code, 0, insecure.stderr);
      const trusted = await runCli(baseArgs(ns, newOut()).concat('--bucket', 'tls-ok', '--ca-file', env.caFile));
      assert.equal(trusted.code, 0, trusted.stderr);
      for (const run of [insecure, trusted]) assertRunClean(run);
    });

    it('--no-verify renders keys without trying them', async () => {
      const out = newOut();
      const run = await runCli(baseArgs(ns, out).concat('--bucket', 'unknown-key', '--no-verify'));
      assertRunClean(run);
      assert.equal(run.code, 0, run.stderr);
      assert.ok(existsSync(join(out, 'aws/credentials')));
    });
  });

  describe('RBAC', () => {
    const SECRETS_READ = { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] };
    const BUCKETS_READ = { apiGroups: ['apps.cozystack.io'], resources: ['buckets'], verbs: ['get', 'list', 'watch'] };

    it('without access to Buckets: says so once and waits on the Secrets alone', async () => {
      const ns = await env.newNamespace('rbac');
      const a = await provisioned(ns, 'ra', { secretDelayMs: 1500 });
      const b = await provisioned(ns, 'rb');
      const kubeconfig = await env.serviceAccountKubeconfig(ns, 'secrets-only', [SECRETS_READ]);
      const out = newOut();
      const run = await runCli(baseArgs(ns, out, kubeconfig).concat('--bucket', 'ra', '--bucket', 'rb'));
      assertRunClean(run);
      assert.equal(run.code, 0, run.stderr);
      assertRendered(out, 'ra', a);
      assertRendered(out, 'rb', b);
      const fallback = messages(run).filter((m) => m.startsWith('cannot read Buckets, waiting on the Secrets alone'));
      assert.equal(fallback.length, 1, run.stderr);
      assert.match(fallback[0] ?? '', /permission denied: cannot list buckets\.apps\.cozystack\.io in namespace /);
      assert.ok(
        messages(run).some((m) => m.includes('Bucket status not readable, watching the Secret alone')),
        run.stderr,
      );
    });

    it('with access limited by resourceNames to the Secret candidates, still works (field selector)', async () => {
      const ns = await env.newNamespace('rbac');
      const bucket = await provisioned(ns, 'named');
      const kubeconfig = await env.serviceAccountKubeconfig(ns, 'named-only', [
        { ...SECRETS_READ, resourceNames: ['bucket-named', 'bucket-named-credentials'] },
        { ...BUCKETS_READ, resourceNames: ['named'] },
      ]);
      const out = newOut();
      const run = await runCli(baseArgs(ns, out, kubeconfig).concat('--bucket', 'named'));
      assertRunClean(run);
      assert.equal(run.code, 0, run.stderr);
      assertRendered(out, 'named', bucket);
      assert.ok(!run.stderr.includes('cannot read Buckets'), run.stderr);
    });

    it("per-user access: a Role granting only the user's own Secrets waits for them, created late, and renders", async () => {
      const ns = await env.newNamespace('rbac');
      // bucket-pu (the shared candidate) is not granted: reading it is denied, which must not be fatal.
      const kubeconfig = await env.serviceAccountKubeconfig(ns, 'alice-only', [
        { ...SECRETS_READ, resourceNames: ['bucket-pu-alice', 'bucket-pu-alice-credentials'] },
      ]);
      const out = newOut();
      const running = startCli(baseArgs(ns, out, kubeconfig).concat('--bucket', 'pu', '--user', 'alice', '--timeout', '60s'));
      await running.waitForLog(/waiting for Secret bucket-pu-alice/);
      const bucket = await provisioned(ns, 'pu', { user: 'alice' });
      const run = await running.done;
      assertRunClean(run);
      assert.equal(run.code, 0, run.stderr);
      assertRendered(out, 'pu', bucket);
      assert.ok(
        messages(run).some((m) => m.startsWith('Secret bucket-pu cannot be read, so it is not a candidate')),
        run.stderr,
      );
    });

    it('per-user access with every candidate denied: exit code 6 at once', async () => {
      const ns = await env.newNamespace('rbac');
      const kubeconfig = await env.serviceAccountKubeconfig(ns, 'other-only', [{ ...SECRETS_READ, resourceNames: ['bucket-other'] }]);
      const started = Date.now();
      const run = await runCli(baseArgs(ns, newOut(), kubeconfig).concat('--bucket', 'pd', '--user', 'alice', '--timeout', '60s'));
      assertRunClean(run);
      assert.equal(run.code, 6, run.stderr);
      assert.match(errorMessage(run), /^permission denied: cannot list secrets in namespace /);
      assert.ok(Date.now() - started < 30_000, 'a denial is not waited out');
    });

    it('without access to Secrets: exit code 6 naming verb, resource and namespace', async () => {
      const ns = await env.newNamespace('rbac');
      await provisioned(ns, 'nosecret');
      const kubeconfig = await env.serviceAccountKubeconfig(ns, 'buckets-only', [BUCKETS_READ]);
      const run = await runCli(baseArgs(ns, newOut(), kubeconfig).concat('--bucket', 'nosecret', '--timeout', '20s'));
      assertRunClean(run);
      assert.equal(run.code, 6, run.stderr);
      assert.match(
        errorMessage(run),
        new RegExp(
          `^permission denied: cannot list secrets in namespace ${ns} \\(apiserver: .*\\)\\. Grant it with a Role rule: apiGroups \\[""\\], resources \\["secrets"\\], verbs \\["list"\\]`,
        ),
      );
    });

    it('impersonates as the kubeconfig says: a user without rights is denied, in system:masters it renders', async () => {
      const ns = await env.newNamespace('rbac');
      const bucket = await provisioned(ns, 'imp');
      const admin = readJson(env.kubeconfigPath) as { users: { user: Record<string, unknown> }[] };
      let seq = 0;
      const actingAs = async (impersonation: Record<string, unknown>): Promise<string> => {
        const users = admin.users.map((entry) => ({ ...entry, user: { ...entry.user, ...impersonation } }));
        const path = join(work, `kubeconfig-as-${++seq}.json`);
        await writeFile(path, JSON.stringify({ ...admin, users }));
        return path;
      };
      const denied = await runCli(
        baseArgs(ns, newOut(), await actingAs({ as: 'bucket-agent-nobody' })).concat('--bucket', 'imp', '--timeout', '20s'),
      );
      assertRunClean(denied);
      assert.equal(denied.code, 6, denied.stderr);
      assert.match(errorMessage(denied), /^permission denied: cannot list secrets in namespace .*User "bucket-agent-nobody" cannot list/);
      // The apiserver takes the uid and the escaped extra key too, or it would refuse the request.
      const master = {
        as: 'bucket-agent-nobody',
        'as-uid': 'uid-1',
        'as-groups': ['system:masters'],
        'as-user-extra': { 'example.com/reason': ['e2e test'] },
      };
      const out = newOut();
      const run = await runCli(baseArgs(ns, out, await actingAs(master)).concat('--bucket', 'imp'));
      assertRunClean(run);
      assert.equal(run.code, 0, run.stderr);
      assertRendered(out, 'imp', bucket);
    });

    it('with list but no watch on Secrets: exit code 6 naming watch', async () => {
      const ns = await env.newNamespace('rbac');
      const kubeconfig = await env.serviceAccountKubeconfig(ns, 'no-watch', [
        { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] },
      ]);
      const run = await runCli(baseArgs(ns, newOut(), kubeconfig).concat('--bucket', 'nowatch', '--timeout', '20s'));
      assertRunClean(run);
      assert.equal(run.code, 6, run.stderr);
      assert.match(errorMessage(run), new RegExp(`permission denied: cannot watch secrets in namespace ${ns}`));
    });
  });

  describe('on a cluster that does not serve the Bucket API (COSI without Cozystack)', () => {
    let bare: ControlPlane | undefined;
    before(async () => {
      bare = await startControlPlane({ logDir: join(work, 'bare-control-plane') });
    });
    after(async () => bare?.stop());

    it('says once that the API is not served, waits on the Secret alone, verifies and renders it when it comes', async () => {
      const cluster = bare as ControlPlane;
      const keys = await provisioned(await env.newNamespace('bare'), 'plain');
      const ns = 'tenant-bare';
      await cluster.createNamespace(ns);
      const out = newOut();
      const running = startCli(baseArgs(ns, out, cluster.kubeconfigPath).concat('--bucket', 'plain'));
      await running.waitForLog(/Bucket status not readable, watching the Secret alone/);
      const body = { metadata: { name: 'bucket-plain', namespace: ns }, stringData: bucketInfo(env.s3Endpoint, keys.bucketName, keys) };
      await cluster.adminKubeConfig().makeApiClient(CoreV1Api).createNamespacedSecret({ namespace: ns, body });
      const run = await running.done;
      assertRunClean(run);
      assert.equal(run.code, 0, run.stderr);
      assertRendered(out, 'plain', keys);
      const fallback = messages(run).filter((m) => m.startsWith('cannot read Buckets, waiting on the Secrets alone'));
      assert.deepEqual(
        fallback,
        ['cannot read Buckets, waiting on the Secrets alone: buckets.apps.cozystack.io is not served by this apiserver'],
        run.stderr,
      );
      assert.ok(
        messages(run).some((m) => m.startsWith(`keys verified: listed S3 bucket ${keys.bucketName} `)),
        run.stderr,
      );
    });
  });

  it('renders two buckets at once, all or none, with their aliases', async () => {
    const ns = await env.newNamespace('two');
    const first = await provisioned(ns, 'alpha');
    const second = await provisioned(ns, 'beta', { layout: 'cosi-v1alpha2', secretDelayMs: 1500 });
    const out = newOut();
    const run = await runCli(baseArgs(ns, out).concat('--bucket', 'alpha', '--bucket', 'beta=b2'));
    assertRunClean(run);
    assert.equal(run.code, 0, run.stderr);
    assertRendered(out, 'alpha', first);
    assertRendered(out, 'b2', second);
    assert.doesNotMatch(readFileSync(join(out, 'aws/credentials'), 'utf8'), /^\[default\]$/m, 'two buckets: no [default]');
  });

  it('renders none when one of two buckets never comes', async () => {
    const ns = await env.newNamespace('two');
    await provisioned(ns, 'here');
    const out = newOut();
    const run = await runCli(baseArgs(ns, out).concat('--bucket', 'here', '--bucket', 'missing', '--timeout', '3s'));
    assertRunClean(run);
    assert.equal(run.code, 5, run.stderr);
    assert.match(
      errorMessage(run),
      /credentials of 1 of 2 bucket\(s\).*Ready: here \(Secret bucket-here\); nothing was written, all buckets or none\./,
    );
    assert.ok(!existsSync(out));
  });

  it('re-running over its own output changes nothing (a restarted init container)', async () => {
    const ns = await env.newNamespace('rerun');
    const bucket = await provisioned(ns, 'again');
    const out = newOut();
    const first = await runCli(baseArgs(ns, out).concat('--bucket', 'again'));
    assert.equal(first.code, 0, first.stderr);
    const generation = readlinkSync(join(out, '..data'));
    const second = await runCli(baseArgs(ns, out).concat('--bucket', 'again'));
    for (const run of [first, second]) assertRunClean(run);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, '', 'nothing rewritten, no paths printed');
    assert.equal(readlinkSync(join(out, '..data')), generation);
    assert.ok(
      messages(second).some((m) => m.startsWith('unchanged')),
      second.stderr,
    );
    assertRendered(out, 'again', bucket);
  });

  it('waits past an unusable Secret until it is replaced with a good one', async () => {
    const ns = await env.newNamespace('change');
    const source = await provisioned(ns, 'source', { bucketObject: false });
    await source.secretWritten;
    await putSecret(ns, 'bucket-fixed', { BucketInfo: '{"spec": {"bucketName": ' });
    const out = newOut();
    const running = startCli(baseArgs(ns, out).concat('--bucket', 'fixed'));
    await running.waitForLog(/Secret bucket-fixed cannot be used yet, waiting for a change: secret .*bucket-fixed: /);
    await core.deleteNamespacedSecret({ name: 'bucket-fixed', namespace: ns });
    await putSecret(ns, 'bucket-fixed', bucketInfo(env.s3Endpoint, source.bucketName, source));
    const run = await running.done;
    assertRunClean(run);
    assert.equal(run.code, 0, run.stderr);
    assertRendered(out, 'fixed', source);
  });

  it('rides out dropped apiserver connections and an apiserver restart while waiting', async () => {
    const ns = await env.newNamespace('chaos');
    const out = newOut();
    const running = startCli(baseArgs(ns, out).concat('--bucket', 'chaos', '--timeout', '60s'));
    await running.waitForLog(/waiting for Secret bucket-chaos/);
    assert.ok(env.dropConnections() > 0, 'init holds watch connections');
    await env.restartApiserver();
    const bucket = await provisioned(ns, 'chaos', { secretDelayMs: 500 });
    const run = await running.done;
    assertRunClean(run);
    assert.equal(run.code, 0, run.stderr);
    assertRendered(out, 'chaos', bucket);
  });

  it('the shipped bin (the esbuild bundle) behaves the same', async () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    const shipped = join(REPO_ROOT, pkg.bin['bucket-agent'] ?? '');
    const ns = await env.newNamespace('bundle');
    const bucket = await provisioned(ns, 'shipped', { secretDelayMs: 800 });
    const out = newOut();
    const run = await runCli(baseArgs(ns, out).concat('--bucket', 'shipped'), {}, shipped);
    assertRunClean(run);
    assert.equal(run.code, 0, run.stderr);
    assertRendered(out, 'shipped', bucket);
    const denied = await runCli(
      baseArgs(ns, newOut(), await env.serviceAccountKubeconfig(ns, 'nothing', [])).concat('--bucket', 'shipped'),
      {},
      shipped,
    );
    assertRunClean(denied);
    assert.equal(denied.code, 6, denied.stderr);
  });

  it('leaves no key material in any output', () => {
    assert.ok(transcripts.length >= 20, `all runs recorded (${transcripts.length})`);
    assert.ok(knownSecrets.size >= 20);
    for (const run of transcripts) assertRunClean(run);
  });
});
