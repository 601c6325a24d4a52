/** injectManifests: every kind that carries a pod, YAML and JSON, Lists, byte-for-byte passthrough. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { load } from 'js-yaml';
import { AnnotationError, UsageError } from '../../../src/errors.js';
import { injectManifests, splitYamlDocuments } from '../../../src/inject/manifests.js';
import type { Pod } from '../../../src/inject/kube-types.js';
import { CLASSIC, FACTS } from './helpers.js';

const LABELS = { app: 'x', 'bucket-agent.io/inject': 'true' };
const ANNOTATIONS = { 'bucket-agent.io/buckets': 'backup' };
const TEMPLATE = { metadata: { labels: LABELS, annotations: ANNOTATIONS }, spec: { containers: [{ name: 'app', image: 'app:1' }] } };

const KINDS: {
  kind: string;
  apiVersion: string;
  object: Record<string, unknown>;
  template: (o: Record<string, unknown>) => Pod;
  job?: boolean;
}[] = [
  { kind: 'Pod', apiVersion: 'v1', object: TEMPLATE, template: (o) => o as unknown as Pod },
  { kind: 'PodTemplate', apiVersion: 'v1', object: { template: TEMPLATE }, template: (o) => o.template as Pod },
  {
    kind: 'ReplicationController',
    apiVersion: 'v1',
    object: { spec: { template: TEMPLATE } },
    template: (o) => (o.spec as { template: Pod }).template,
  },
  ...['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].map((kind) => ({
    kind,
    apiVersion: 'apps/v1',
    object: { spec: { selector: { matchLabels: { app: 'x' } }, template: TEMPLATE } },
    template: (o: Record<string, unknown>) => (o.spec as { template: Pod }).template,
  })),
  {
    kind: 'Job',
    apiVersion: 'batch/v1',
    object: { spec: { template: TEMPLATE } },
    template: (o) => (o.spec as { template: Pod }).template,
    job: true,
  },
  {
    kind: 'CronJob',
    apiVersion: 'batch/v1',
    object: { spec: { schedule: '@daily', jobTemplate: { spec: { template: TEMPLATE } } } },
    template: (o) => (o.spec as { jobTemplate: { spec: { template: Pod } } }).jobTemplate.spec.template,
    job: true,
  },
];

function manifest(kind: string, apiVersion: string, body: Record<string, unknown>, name = 'w'): Record<string, unknown> {
  const { metadata, ...rest } = body as { metadata?: Record<string, unknown> };
  return { apiVersion, kind, metadata: { name, ...metadata }, ...rest };
}

const agentNames = (p: Pod) =>
  [...(p.spec.initContainers ?? []), ...p.spec.containers].map((c) => c.name).filter((n) => n.startsWith('bucket-agent'));

describe('inject manifests: every kind with a pod', () => {
  for (const { kind, apiVersion, object, template, job } of KINDS) {
    it(`${kind}: native sidecar`, () => {
      const input = JSON.stringify(manifest(kind, apiVersion, object));
      const out = injectManifests(input, FACTS, 'test');
      assert.equal(out.injected, 1);
      const result = JSON.parse(out.text) as Record<string, unknown>;
      assert.deepEqual(agentNames(template(result)), ['bucket-agent']);
      assert.equal(template(result).metadata?.annotations?.['bucket-agent.io/status'], 'injected');
      assert.deepEqual((result.metadata as { name: string }).name, 'w');
    });
    it(`${kind}: classic sidecars -> ${job === true ? 'init-only (pods owned by a Job)' : 'init + sidecar'}`, () => {
      const out = injectManifests(JSON.stringify(manifest(kind, apiVersion, object)), CLASSIC, 'test');
      const p = template(JSON.parse(out.text) as Record<string, unknown>);
      assert.deepEqual(agentNames(p), job === true ? ['bucket-agent-init'] : ['bucket-agent-init', 'bucket-agent']);
    });
  }

  const untouched: [string, Record<string, unknown>][] = [
    ['a Deployment of another API group (a CRD)', manifest('Deployment', 'example.com/v1', { spec: { template: TEMPLATE } })],
    ['a Pod with apiVersion apps/v1', manifest('Pod', 'apps/v1', TEMPLATE)],
    ['a Service', manifest('Service', 'v1', { metadata: { labels: LABELS, annotations: ANNOTATIONS }, spec: { ports: [{ port: 80 }] } })],
    [
      'a Deployment labelled itself but not its template',
      manifest('Deployment', 'apps/v1', { metadata: { labels: LABELS }, spec: { template: { spec: TEMPLATE.spec } } }),
    ],
    ['a Deployment without a template', manifest('Deployment', 'apps/v1', { spec: {} })],
  ];
  for (const [name, object] of untouched) {
    it(`untouched: ${name}`, () => {
      const input = `${JSON.stringify(object, null, 2)}\n`;
      const out = injectManifests(input, FACTS, 'test');
      assert.equal(out.injected, 0);
      assert.equal(out.text, input);
    });
  }
});

describe('inject manifests: YAML', () => {
  const CONFIGMAP = '# keep me\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}   # odd   spacing\ndata:\n  k: "01"\n';
  const DEPLOYMENT = `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    metadata:\n      labels: {bucket-agent.io/inject: "true"}\n      annotations: {bucket-agent.io/buckets: backup}\n    spec:\n      containers: [{name: web, image: nginx}]\n`;
  const SERVICE = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n';

  it('multi-document: untouched documents and separators keep their bytes; the Deployment is re-serialized', () => {
    const input = `${CONFIGMAP}--- # first separator\n${DEPLOYMENT}---\n${SERVICE}`;
    const out = injectManifests(input, FACTS, 'test');
    assert.equal(out.format, 'yaml');
    assert.equal(out.injected, 1);
    assert.ok(out.text.startsWith(`${CONFIGMAP}--- # first separator\n`), out.text);
    assert.ok(out.text.endsWith(`---\n${SERVICE}`), out.text);
    const chunks = splitYamlDocuments(out.text);
    assert.equal(chunks.length, 3);
    const deployment = load(chunks[1]?.body ?? '') as { spec: { template: Pod } };
    assert.deepEqual(agentNames(deployment.spec.template), ['bucket-agent']);
  });

  it('nothing to inject: the output is the input, byte for byte', () => {
    const inputs = [
      `${CONFIGMAP}---\n${SERVICE}`,
      `---\n${SERVICE}---\n---\n# only a comment\n`,
      `${SERVICE}...\n`,
      'apiVersion: v1\r\nkind: Service\r\nmetadata:\r\n  name: crlf\r\n---\r\nkind: ConfigMap\r\n',
      '',
      '\n\n# nothing\n',
      DEPLOYMENT.replace('"true"', '"false"'),
    ];
    for (const input of inputs) assert.equal(injectManifests(input, FACTS, 'test').text, input, JSON.stringify(input));
  });

  it('a separator with content after it becomes a bare one when its document changes', () => {
    const input = `--- !!map\n${DEPLOYMENT}`;
    const out = injectManifests(input, FACTS, 'test');
    assert.ok(out.text.startsWith('---\napiVersion: apps/v1\n'), out.text);
  });

  it('a List: its items are mutated, the List kept', () => {
    const list = `apiVersion: v1\nkind: List\nitems:\n- ${JSON.stringify(manifest('Pod', 'v1', TEMPLATE, 'a'))}\n- ${JSON.stringify(manifest('Service', 'v1', {}, 's'))}\n`;
    const out = injectManifests(list, FACTS, 'test');
    const parsed = load(out.text) as { kind: string; items: Record<string, unknown>[] };
    assert.equal(parsed.kind, 'List');
    assert.deepEqual(agentNames(parsed.items[0] as unknown as Pod), ['bucket-agent']);
    assert.deepEqual(parsed.items[1], manifest('Service', 'v1', {}, 's'));
  });

  it('injecting the output again changes nothing', () => {
    const input = `${CONFIGMAP}---\n${DEPLOYMENT}---\n${SERVICE}`;
    const once = injectManifests(input, FACTS, 'test').text;
    const twice = injectManifests(once, FACTS, 'test');
    assert.equal(twice.injected, 0);
    assert.equal(twice.text, once);
  });

  it('strings that YAML 1.1 (kubectl) reads as other types stay strings', () => {
    const out = injectManifests(
      DEPLOYMENT.replace('image: nginx', 'image: nginx, args: ["yes", "on", "0440", "2024-01-01"]'),
      FACTS,
      'test',
    );
    assert.match(out.text, /- 'yes'\n\s+- 'on'\n\s+- '0440'\n\s+- '2024-01-01'/);
  });
});

describe('inject manifests: JSON', () => {
  it('JSON in, JSON out, in its own indentation', () => {
    const input = `${JSON.stringify(manifest('Pod', 'v1', TEMPLATE), null, 4)}\n`;
    const out = injectManifests(input, FACTS, 'test');
    assert.equal(out.format, 'json');
    assert.match(out.text, /^\{\n {4}"apiVersion": "v1",/);
    assert.ok(out.text.endsWith('}\n'));
    assert.deepEqual(agentNames(JSON.parse(out.text) as Pod), ['bucket-agent']);
  });

  it('a JSON List', () => {
    const input = JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [manifest('Deployment', 'apps/v1', { spec: { template: TEMPLATE } })],
    });
    const out = JSON.parse(injectManifests(input, FACTS, 'test').text) as { items: { spec: { template: Pod } }[] };
    assert.deepEqual(agentNames(out.items[0]?.spec.template as Pod), ['bucket-agent']);
  });
});

describe('inject manifests: errors name the document, the object and the annotation', () => {
  const bad = { ...TEMPLATE, metadata: { labels: LABELS, annotations: { 'bucket-agent.io/buckets': 'Bad_Name' } } };
  const cases: [string, string, RegExp][] = [
    [
      'YAML, second document',
      `kind: ConfigMap\n---\n${JSON.stringify(manifest('Deployment', 'apps/v1', { spec: { template: bad } }, 'web'))}\n`,
      /^document 2: Deployment web: bucket-agent\.io\/buckets: "Bad_Name" is not a valid Bucket name/,
    ],
    [
      'a List item',
      JSON.stringify({ kind: 'List', apiVersion: 'v1', items: [manifest('Service', 'v1', {}), manifest('Pod', 'v1', bad, 'p')] }),
      /^document 1: item 2: Pod p: bucket-agent\.io\/buckets: /,
    ],
    [
      'a generateName',
      JSON.stringify(manifest('Pod', 'v1', { ...bad, metadata: { ...bad.metadata, generateName: 'job-' } }, undefined)),
      /^document 1: Pod w: /,
    ],
  ];
  for (const [name, input, says] of cases) {
    it(name, () =>
      assert.throws(
        () => injectManifests(input, FACTS, 'test'),
        (err: unknown) => err instanceof AnnotationError && says.test(err.message),
      ),
    );
  }

  const malformed: [string, string, RegExp][] = [
    ['YAML', 'kind: ConfigMap\n---\nkind: Pod\nmetadata: {name: [\n', /^in\.yaml: document 2 is not valid YAML \(line 5\)$/],
    ['JSON', '{"kind": "Pod", "secret": "hunter2hunter2"', /^in\.yaml: is not valid JSON/],
  ];
  for (const [name, input, says] of malformed) {
    it(`malformed ${name}: a usage error with the position, never the text`, () =>
      assert.throws(
        () => injectManifests(input, FACTS, 'in.yaml'),
        (err: unknown) => err instanceof UsageError && says.test(err.message) && !err.message.includes('hunter2'),
      ));
  }
});
