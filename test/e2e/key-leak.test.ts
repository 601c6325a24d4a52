/**
 * No key in any output, whatever the Secret holds: a property test. Hostile Secrets are generated
 * whose key values also appear in every other field — the endpoint (user info, query, path,
 * host), the bucket name, the region, the alias, the authentication type, the protocols — in
 * every layout, valid and invalid. `render` (many cases, no cluster) and `init` (against the real
 * apiserver, recording Events on a pod) run on them, and every stdout, stderr and Event is scanned
 * for the key values, raw and as JSON escapes them.
 *
 * The generator is seeded; a failure prints the seed (BUCKET_AGENT_LEAK_SEED=<n> reruns it).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { startTestEnv, type TestEnv } from '../env/index.js';
import { createPod, podEvents, runCli, type Run } from './cli-runs.js';
import { seededRandom } from '../env/random.js';

const SEED = Number(process.env.BUCKET_AGENT_LEAK_SEED ?? Date.now() % 1_000_000);
const RENDER_CASES = 80;
const INIT_CASES = 8;

interface Keys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

interface HostileCase {
  readonly name: string;
  /** The key values the Secret's key fields hold (a value left empty there is no key to leak). */
  readonly keys: readonly string[];
  /** The Secret: name and stringData. */
  readonly secretName: string;
  readonly data: Record<string, string>;
  readonly alias: string | undefined;
}

class Generator {
  private readonly random: () => number;

  constructor(seed: number) {
    this.random = seededRandom(seed);
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)] as T;
  }

  chars(alphabet: string, length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[Math.floor(this.random() * alphabet.length)];
    return out;
  }

  /** `ordinary` with probability 0.6, else one of the hostile values. */
  maybe<T>(ordinary: T, hostile: readonly T[]): T {
    return this.random() < 0.6 ? ordinary : this.pick(hostile);
  }

  keys(): Keys {
    const upper = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    const lower = 'abcdefghijklmnopqrstuvwxyz0123456789';
    const b64 = `${upper}abcdefghijklmnopqrstuvwxyz+/`;
    // Lower-case keys can be DNS labels, so they can also be aliases and host names.
    const accessKeyId = this.pick([() => `AKIA${this.chars(upper, 16)}`, () => `k${this.chars(lower, 15)}`])();
    const secretAccessKey = this.pick([
      () => this.chars(b64, 40),
      () => `s${this.chars(lower, 23)}`,
      () => `${this.chars(b64, 20)}"\\${this.chars(b64, 6)}`,
    ])();
    return { accessKeyId, secretAccessKey };
  }

  /** One hostile case: each field holds a key (or a key-bearing variant) or an ordinary value. */
  hostile(index: number): HostileCase {
    const keys = this.keys();
    const key = (): string => this.pick([keys.accessKeyId, keys.secretAccessKey]);
    // Each field is ordinary more often than not, so that a good share of cases renders.
    const endpoint = this.maybe('http://127.0.0.1:9000', [
      `http://${keys.accessKeyId.toLowerCase()}.example:9000`,
      `https://${keys.accessKeyId}:${keys.secretAccessKey}@127.0.0.1:9000`,
      `http://127.0.0.1:9000/?X-Amz-Credential=${keys.accessKeyId}&X-Amz-Signature=${key()}`,
      `http://127.0.0.1:9000/${key()}`,
      `${key()}://127.0.0.1`,
      `http://${keys.accessKeyId.toLowerCase()}.example:9000`,
      key(),
      `http://127.0.0.1:9000#${key()}`,
      `http://127.0.0.1:${key()}`,
    ]);
    const bucketName = this.maybe('backups', [keys.accessKeyId, key(), `${key()}\n`, `x/${key()}`]);
    const region = this.maybe('', [key(), `${key()}\r`, 'us-east-1']);
    const aliasIsKey = /^[a-z0-9]+$/.test(keys.accessKeyId) && this.random() < 0.5;
    const alias = aliasIsKey ? keys.accessKeyId : this.pick([undefined, `hostile${index}`]);
    const ak = this.maybe(keys.accessKeyId, [`${keys.accessKeyId}\n`, '']);
    const sk = this.maybe(keys.secretAccessKey, [`${keys.secretAccessKey}\u0000`]);
    const layout = this.pick(['bucketinfo', 'cozystack-flat', 'cosi-v1alpha2'] as const);
    const spec = {
      bucketName,
      authenticationType: this.maybe('KEY', [key(), '']),
      secretS3: { endpoint, region, accessKeyID: ak, accessSecretKey: sk },
      secretAzure: null,
      protocols: this.maybe(['s3'], [[key()], ['azure', key()]]),
    };
    const data: Record<string, string> =
      layout === 'bucketinfo'
        ? {
            BucketInfo: this.maybe(JSON.stringify({ metadata: { name: key() }, spec }), [
              `{"spec": {"secretS3": {"accessKeyID": "${ak}", "accessSecretKey": "${sk}"`,
            ]),
          }
        : layout === 'cozystack-flat'
          ? { accessKey: ak, secretKey: sk, endpoint: endpoint.replace(/^https?:\/\//, ''), bucketName }
          : {
              COSI_S3_ENDPOINT: endpoint,
              COSI_S3_BUCKET_ID: bucketName,
              COSI_S3_ACCESS_KEY_ID: ak,
              COSI_S3_ACCESS_SECRET_KEY: sk,
              COSI_S3_REGION: region,
            };
    const stem = alias ?? `leak${index}`;
    const held = [ak === '' ? undefined : keys.accessKeyId, keys.secretAccessKey].filter((v): v is string => v !== undefined);
    return {
      name: `case ${index} (${layout})`,
      keys: held,
      secretName: layout === 'cozystack-flat' ? `bucket-${stem}-credentials` : `bucket-${stem}`,
      data,
      alias,
    };
  }
}

/** Each key value as it may be spelled in output: raw, and JSON-escaped (log lines are JSON). */
function spellings(keys: readonly string[]): string[] {
  return keys.flatMap((value) => [value, JSON.stringify(value).slice(1, -1)]);
}

function assertClean(text: string, keys: readonly string[], where: string): void {
  for (const value of spellings(keys)) assert.ok(!text.includes(value), `${where} contains a key (seed ${SEED}): ${text.slice(0, 2000)}`);
}

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'bucket-agent-leak-'));
});
after(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe(`no key in any output, for hostile Secrets (seed ${SEED})`, () => {
  it(`render: ${RENDER_CASES} generated Secrets, every stdout and stderr scanned`, async () => {
    const gen = new Generator(SEED);
    const cases = Array.from({ length: RENDER_CASES }, (_, i) => gen.hostile(i));
    const outcomes = { rendered: 0, refused: 0 };
    // A few at a time: each is a process start.
    for (let i = 0; i < cases.length; i += 4) {
      await Promise.all(
        cases.slice(i, i + 4).map(async (c, j) => {
          const file = join(work, `secret-${i + j}.json`);
          await writeFile(
            file,
            JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: c.secretName, namespace: 'tenant' }, stringData: c.data }),
          );
          const format = (i + j) % 5 === 0 ? 'pretty' : 'json';
          const args = [
            'render',
            '--secret-file',
            file,
            '--out',
            join(work, `out-${i + j}`),
            '--log-format',
            format,
            ...(c.alias === undefined ? [] : ['--alias', c.alias]),
          ];
          const run = await runCli(args);
          assert.ok(run.code === 0 || run.code === 3, `${c.name}: exit ${run.code}: ${run.stderr}`);
          outcomes[run.code === 0 ? 'rendered' : 'refused']++;
          assertClean(run.stdout, c.keys, `${c.name} stdout`);
          assertClean(run.stderr, c.keys, `${c.name} stderr`);
        }),
      );
    }
    // The generator must exercise both paths, or the test proves little.
    assert.ok(outcomes.rendered >= 5 && outcomes.refused >= 5, `both outcomes seen: ${JSON.stringify(outcomes)}`);
  });
});

describe(`init on hostile Secrets in the real apiserver (seed ${SEED})`, () => {
  let env: TestEnv;
  let admin: KubeConfig;
  before(async () => {
    env = await startTestEnv();
    admin = env.controlPlane.adminKubeConfig();
  });
  after(async () => env?.stop());

  it(`${INIT_CASES} generated Secrets: stdout, stderr and the pod's Events scanned`, async () => {
    const gen = new Generator(SEED + 1);
    const core = admin.makeApiClient(CoreV1Api);
    const ns = await env.newNamespace('leak');
    const runs = await Promise.all(
      Array.from({ length: INIT_CASES }, async (_, i): Promise<{ c: HostileCase; run: Run; pod: string }> => {
        const c = gen.hostile(i);
        const bucket = c.secretName.replace(/^bucket-/, '').replace(/-credentials$/, '');
        await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: c.secretName }, stringData: c.data } });
        const pod = `app-${i}`;
        const uid = await createPod(admin, ns, pod);
        const args = [
          'init',
          '--kubeconfig',
          env.kubeconfigPath,
          '--namespace',
          ns,
          '--bucket',
          c.alias === undefined ? bucket : `${bucket}=${c.alias}`,
        ];
        args.push(
          '--out',
          join(work, `init-${i}`),
          '--log-format',
          'json',
          '--timeout',
          '6s',
          '--verify-timeout',
          '2s',
          '--progress-interval',
          '1s',
        );
        const run = await runCli(args, { POD_NAME: pod, POD_NAMESPACE: ns, POD_UID: uid });
        return { c, run, pod };
      }),
    );
    for (const { c, run, pod } of runs) {
      assert.ok([0, 3, 5, 7].includes(run.code ?? -1), `${c.name}: exit ${run.code}: ${run.stderr}`);
      assertClean(run.stdout, c.keys, `${c.name} init stdout`);
      assertClean(run.stderr, c.keys, `${c.name} init stderr`);
      const events = await podEvents(admin, ns, pod);
      assert.ok(events.length > 0, `${c.name}: Events were recorded on ${pod}`);
      assertClean(JSON.stringify(events), c.keys, `${c.name} Events`);
    }
  });
});
