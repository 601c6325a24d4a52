/** `bucket-agent inject` as shipped: the bundle, spawned, on files and stdin. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { load, loadAll } from 'js-yaml';
import type { Pod } from '../../../src/inject/kube-types.js';
import { REPO_ROOT } from '../../env/tools.js';

const BIN = join(REPO_ROOT, 'dist/bundle/bucket-agent.js');
const work = mkdtempSync(join(tmpdir(), 'bucket-agent-inject-'));
after(() => rmSync(work, { recursive: true, force: true }));

function inject(args: string[], input = ''): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'inject', '--log-format', 'json', ...args], {
    input,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    encoding: 'utf8',
    cwd: work,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const POD = `apiVersion: v1
kind: Pod
metadata:
  name: app
  labels:
    bucket-agent.io/inject: "true"
  annotations:
    bucket-agent.io/buckets: backup-prod
    bucket-agent.io/frobnicate: "yes"
spec:
  containers:
    - name: app
      image: registry.test/app:1
`;
const SECRET = `# a Secret is passed through untouched
apiVersion: v1
kind: Secret
metadata: {name: s}
stringData: {password: "  spaced   out  "}
`;
/** stderr as text: the msg of each JSON log line, other lines as they are. */
function messages(stderr: string): string {
  return stderr
    .split('\n')
    .map((line) => {
      try {
        return (JSON.parse(line) as { msg: string }).msg;
      } catch {
        return line;
      }
    })
    .join('\n');
}

const agents = (p: Pod) => [...(p.spec.initContainers ?? []), ...p.spec.containers].filter((c) => c.name.startsWith('bucket-agent'));

describe('bucket-agent inject (CLI)', () => {
  it('-f FILE: multi-document YAML out, untouched documents byte for byte, warnings on stderr only', () => {
    const file = join(work, 'in.yaml');
    writeFileSync(file, `${SECRET}---\n${POD}`);
    const r = inject(['-f', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.startsWith(`${SECRET}---\n`), r.stdout);
    const docs = loadAll(r.stdout) as Pod[];
    assert.equal(docs.length, 2);
    assert.deepEqual(
      agents(docs[1] as Pod).map((c) => [c.name, c.image]),
      [['bucket-agent', 'ghcr.io/bucket-agent/bucket-agent:0.1.0']],
    );
    const warnings = r.stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { level: number; msg: string });
    assert.deepEqual(
      warnings.map((w) => [w.level, w.msg.replace(/ \(known:.*/, '')]),
      [[40, 'document 2: Pod app: bucket-agent.io/frobnicate: unknown annotation, ignored']],
    );
  });

  it('stdin (the default, and -f -); --no-native-sidecars, --image, --image-pull-policy, --source', () => {
    for (const args of [[], ['-f', '-'], ['--filename', '-']]) {
      const r = inject(
        [...args, '--no-native-sidecars', '--image', 'mirror.test/ba@sha256:abc', '--image-pull-policy', 'Always', '--source', 'api'],
        POD,
      );
      assert.equal(r.code, 0, r.stderr);
      const p = load(r.stdout) as Pod;
      assert.deepEqual(
        agents(p).map((c) => [c.name, c.image, c.imagePullPolicy]),
        [
          ['bucket-agent-init', 'mirror.test/ba@sha256:abc', 'Always'],
          ['bucket-agent', 'mirror.test/ba@sha256:abc', 'Always'],
        ],
      );
      assert.ok(agents(p).every((c) => c.args?.join(' ').includes('--source api')));
    }
  });

  it('--prefix: the label and annotations under it', () => {
    const r = inject(['--prefix', 'example.org/'], POD.replaceAll('bucket-agent.io/', 'example.org/'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal((load(r.stdout) as Pod).metadata?.annotations?.['example.org/status'], 'injected');
  });

  it('JSON in, JSON out; a List', () => {
    const pod = load(POD) as Record<string, unknown>;
    const r = inject(
      [],
      JSON.stringify(
        { apiVersion: 'v1', kind: 'List', items: [pod, { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } }] },
        null,
        4,
      ),
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { items: Pod[] };
    assert.equal(agents(out.items[0] as Pod).length, 1);
    assert.deepEqual(out.items[1], { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } });
    assert.match(r.stdout, /^\{\n {4}"apiVersion"/);
  });

  it('nothing to inject: stdout is stdin', () => {
    const input = `${SECRET}---\n${POD.replace('"true"', '"false"')}...\n`;
    const r = inject([], input);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, input);
  });

  it('injecting the output again prints it unchanged', () => {
    const once = inject([], `${SECRET}---\n${POD}`).stdout;
    const twice = inject([], once);
    assert.equal(twice.code, 0, twice.stderr);
    assert.equal(twice.stdout, once);
  });

  const errors: { name: string; args: string[]; input?: string; says: RegExp }[] = [
    {
      name: 'a bad annotation',
      args: [],
      input: `${SECRET}---\n${POD.replace('backup-prod', 'Bad_Name')}`,
      says: /document 2: Pod app: bucket-agent\.io\/buckets: "Bad_Name" is not a valid Bucket name/,
    },
    {
      name: 'init-only with the credentials endpoint',
      args: [],
      input: POD.replace('frobnicate: "yes"', 'mode: init-only\n    bucket-agent.io/credentials-endpoint: "true"'),
      says: /credentials-endpoint: the endpoint is served by the sidecar/,
    },
    { name: 'malformed YAML', args: [], input: 'kind: Pod\nmetadata: {name: [\n', says: /stdin: document 1 is not valid YAML \(line 3\)/ },
    { name: 'a missing file', args: ['-f', join(work, 'nope.yaml')], says: /cannot read .*nope\.yaml: ENOENT/ },
    { name: 'a bad prefix', args: ['--prefix', 'Bad Prefix'], says: /--prefix: "Bad Prefix" is not a DNS subdomain followed by "\/"/ },
    { name: 'a bad --source', args: ['--source', 'disk'], says: /source/ },
  ];
  for (const { name, args, input, says } of errors) {
    it(`exit 2: ${name}`, () => {
      const r = inject(args, input ?? POD);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(messages(r.stderr), says);
    });
  }

  it('--help lists the flags and exit code 2 for annotations', () => {
    const r = inject(['--help']);
    assert.equal(r.code, 0);
    for (const flag of ['--filename', '--native-sidecars', '--image', '--image-pull-policy', '--prefix', '--source'])
      assert.ok(r.stdout.includes(flag), flag);
    assert.match(r.stdout, /bad injection annotation/);
  });
});
