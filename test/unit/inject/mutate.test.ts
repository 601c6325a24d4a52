/** What holds for every mutation: opt-in, idempotency, env the user set, the patch, the input. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnnotationError } from '../../../src/errors.js';
import type { Pod } from '../../../src/inject/kube-types.js';
import { mutatePod } from '../../../src/inject/mutate.js';
import { container, envOf, mutate, mutated, names, pod, refused, CLASSIC, FACTS } from './helpers.js';

describe('inject: opt-in and no-ops', () => {
  const untouched: [string, unknown][] = [
    ['no labels', pod({ buckets: 'b' }, { labels: {} })],
    ['label "false"', pod({ buckets: 'b' }, { labels: { 'bucket-agent.io/inject': 'false' } })],
    ['label under another prefix', pod({ buckets: 'b' }, { labels: { 'other.io/inject': 'true' } })],
    ['no metadata at all', { spec: { containers: [{ name: 'app' }] } }],
    ['not a pod', { apiVersion: 'v1', kind: 'ConfigMap', data: {} }],
    ['bad annotations but no label', pod({ buckets: 'Bad_Name', mode: '??' }, { labels: {} })],
  ];
  for (const [name, input] of untouched) {
    it(`unchanged: ${name}`, () => {
      const result = mutate(input);
      assert.equal(result.injected, false);
      assert.deepEqual(result.patch, []);
      assert.equal(result.pod, input, 'nothing to change: the input itself');
    });
  }

  it('unchanged: our containers already there (injected by someone who dropped the status)', () => {
    for (const facts of [FACTS, CLASSIC]) {
      const once = mutated(pod());
      delete once.metadata?.annotations?.['bucket-agent.io/status'];
      const again = mutate(once, facts);
      assert.equal(again.injected, false);
      assert.deepEqual(again.pod, once);
    }
  });

  it('never writes into its input: a deeply frozen pod is mutated all the same, and stays as it was', () => {
    const input = pod(
      { buckets: 'b,c=media', 'credentials-endpoint': 'true' },
      {
        spec: {
          containers: [
            {
              name: 'app',
              image: 'registry.test/app:1',
              env: [{ name: 'A', value: '1' }],
              volumeMounts: [{ name: 'data', mountPath: '/data' }],
            },
          ],
          initContainers: [{ name: 'migrate', image: 'registry.test/migrate:1' }],
          volumes: [{ name: 'data', emptyDir: {} }],
        },
      },
    );
    const before = JSON.stringify(input);
    for (const facts of [FACTS, CLASSIC]) {
      const result = mutatePod(deepFreeze(structuredClone(input)), facts);
      assert.equal(result.injected, true);
      assert.ok(result.patch.length > 0);
    }
    const frozen = deepFreeze(input);
    mutatePod(frozen, FACTS);
    assert.equal(JSON.stringify(frozen), before);
  });

  it('not an object: refused', () => {
    for (const input of [null, 'pod', 3, []]) {
      assert.throws(() => mutatePod(input, FACTS), AnnotationError);
    }
  });

  it("a custom prefix: its own label and annotations; the default prefix is nobody's then", () => {
    const facts = { ...FACTS, prefix: 'example.org/' };
    const input = pod(
      { 'example.org/buckets': 'b', 'example.org/mode': 'init-only', 'bucket-agent.io/buckets': 'other' },
      { labels: { 'example.org/inject': 'true' } },
    );
    const result = mutate(input, facts);
    assert.equal(result.injected, true);
    assert.deepEqual(result.warnings, []);
    const p = result.pod as Pod;
    assert.deepEqual(names(p.spec.initContainers), ['bucket-agent-init']);
    assert.equal(p.metadata?.annotations?.['example.org/status'], 'injected');
    refused(
      pod({ 'example.org/buckets': 'B' }, { labels: { 'example.org/inject': 'true' } }),
      'example.org/buckets',
      /not a valid Bucket name/,
      { facts },
    );
  });
});

describe('inject: idempotent', () => {
  const inputs: [string, Pod, typeof FACTS][] = [
    ['native', pod({ buckets: 'a,b=c', 'credentials-endpoint': 'true', notify: 'exec:true' }), FACTS],
    [
      'classic',
      pod({ buckets: 'a', source: 'volume' }, { spec: { containers: [{ name: 'x' }, { name: 'y' }], initContainers: [{ name: 'z' }] } }),
      CLASSIC,
    ],
    ['init-only', pod({ buckets: 'a', mode: 'init-only', 'kubeconfig-secret': 'kc' }), FACTS],
  ];
  for (const [name, input, facts] of inputs) {
    it(`${name}: injecting twice equals injecting once`, () => {
      const once = mutate(input, facts);
      const twice = mutate(once.pod, facts);
      assert.equal(twice.injected, false);
      assert.deepEqual(twice.patch, []);
      assert.deepEqual(twice.pod, once.pod);
    });
  }
});

describe('inject: env the user set is never overridden', () => {
  it('an explicit variable keeps its value and is not repeated; the rest are added after it', () => {
    const input = pod(
      { buckets: 'b', 'credentials-endpoint': 'true' },
      {
        spec: {
          containers: [
            {
              name: 'app',
              env: [
                { name: 'AWS_CONFIG_FILE', value: '/etc/my-aws-config' },
                { name: 'MC_CONFIG_DIR', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
                { name: 'AWS_CONTAINER_CREDENTIALS_FULL_URI', value: 'http://127.0.0.1:1/mine' },
              ],
            },
          ],
        },
      },
    );
    const app = container(mutated(input), 'app');
    assert.deepEqual(
      app.env?.map((v) => v.name),
      ['AWS_CONFIG_FILE', 'MC_CONFIG_DIR', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'RCLONE_CONFIG', 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'],
    );
    const env = envOf(app);
    assert.equal(env.AWS_CONFIG_FILE, '/etc/my-aws-config');
    assert.equal(env.AWS_CONTAINER_CREDENTIALS_FULL_URI, 'http://127.0.0.1:1/mine');
    assert.equal(env.MC_CONFIG_DIR, undefined, 'still the valueFrom it was');
  });

  it('the app keeps its own volumes and mounts; ours is added after them', () => {
    const input = pod(
      { buckets: 'b' },
      {
        spec: {
          containers: [{ name: 'app', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
          volumes: [{ name: 'data', emptyDir: {} }],
        },
      },
    );
    const p = mutated(input);
    assert.deepEqual(names(container(p, 'app').volumeMounts), ['data', 'bucket-agent']);
    assert.equal(p.spec.volumes?.[0]?.name, 'data');
  });
});

describe('inject: the patch', () => {
  it('escapes annotation keys (JSON pointer ~1 for "/")', () => {
    const { patch } = mutate(pod());
    assert.ok(
      patch.some((op) => op.op === 'add' && op.path === '/metadata/annotations/bucket-agent.io~1status'),
      JSON.stringify(patch),
    );
  });

  it('a labelled pod without annotations is refused: buckets is required', () => {
    refused({ metadata: { labels: { 'bucket-agent.io/inject': 'true' } }, spec: { containers: [{ name: 'a' }] } }, 'buckets', /required/);
  });

  it('leaves every field it does not own as it was', () => {
    const input = pod(
      { buckets: 'b' },
      { spec: { containers: [{ name: 'app', image: 'x', args: ['serve'] }], nodeSelector: { zone: 'a' }, restartPolicy: 'Never' } },
    );
    const p = mutated(input);
    assert.deepEqual(p.spec.nodeSelector, { zone: 'a' });
    assert.equal(p.spec.restartPolicy, 'Never');
    assert.deepEqual(container(p, 'app').args, ['serve']);
    assert.equal(p.metadata?.name, 'app');
    const paths = mutate(input).patch.map((op) => op.path);
    assert.ok(
      paths.every((path) => /^\/(metadata\/annotations|spec\/(volumes|initContainers|containers))/.test(path)),
      paths.join('\n'),
    );
  });
});

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
