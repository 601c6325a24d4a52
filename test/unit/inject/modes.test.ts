/** Native, classic, init-only and Job-owned pods; every source; what every agent container carries. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Container, Pod } from '../../../src/inject/kube-types.js';
import { container, flagValues, mutated, names, pod, CLASSIC, FACTS } from './helpers.js';

const APP_INIT: Partial<Pod['spec']> = { containers: [{ name: 'app' }], initContainers: [{ name: 'migrate' }] };

describe('inject: modes', () => {
  it('native: one agent, an init container with restartPolicy Always, before the app init containers', () => {
    const p = mutated(pod({ buckets: 'b' }, { spec: APP_INIT }));
    assert.deepEqual(names(p.spec.initContainers), ['bucket-agent', 'migrate']);
    assert.deepEqual(names(p.spec.containers), ['app']);
    const agent = container(p, 'bucket-agent');
    assert.equal(agent.restartPolicy, 'Always');
    assert.equal(agent.args?.[0], 'sidecar');
    assert.deepEqual(agent.startupProbe, { httpGet: { path: '/readyz', port: 9910 }, periodSeconds: 1, failureThreshold: 600 });
    assert.deepEqual(agent.livenessProbe, { httpGet: { path: '/healthz', port: 9910 }, periodSeconds: 30 });
    assert.deepEqual(flagValues(agent, '--listen'), [':9910']);
  });

  it('classic: init first among the init containers, the sidecar after the apps', () => {
    const p = mutated(pod({ buckets: 'b' }, { spec: APP_INIT }), CLASSIC);
    assert.deepEqual(names(p.spec.initContainers), ['bucket-agent-init', 'migrate']);
    assert.deepEqual(names(p.spec.containers), ['app', 'bucket-agent']);
    const init = container(p, 'bucket-agent-init');
    assert.equal(init.args?.[0], 'init');
    assert.equal(init.restartPolicy, undefined);
    assert.equal(init.startupProbe, undefined);
    assert.equal(init.livenessProbe, undefined);
    const sidecar = container(p, 'bucket-agent');
    assert.equal(sidecar.args?.[0], 'sidecar');
    assert.equal(sidecar.restartPolicy, undefined, 'a regular container may not carry restartPolicy');
    assert.equal(sidecar.startupProbe, undefined);
    assert.deepEqual(sidecar.livenessProbe?.httpGet, { path: '/healthz', port: 9910 });
  });

  it('init-only, native or classic: the init container alone', () => {
    for (const facts of [FACTS, CLASSIC]) {
      const p = mutated(pod({ buckets: 'b', mode: 'init-only' }), facts);
      assert.deepEqual(names(p.spec.initContainers), ['bucket-agent-init']);
      assert.deepEqual(names(p.spec.containers), ['app']);
      assert.ok(!(container(p, 'bucket-agent-init').args ?? []).some((a) => a.startsWith('--listen') || a.startsWith('--notify')));
    }
  });

  const jobPods: { name: string; input: Pod; context?: { ownerKind: string } }[] = [
    { name: 'context ownerKind Job', input: pod({ buckets: 'b' }), context: { ownerKind: 'Job' } },
    {
      name: "the pod's controller ownerReference",
      input: pod(
        { buckets: 'b' },
        { metadata: { ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'j', uid: 'u', controller: true }] } },
      ),
    },
  ];
  for (const { name, input, context } of jobPods) {
    it(`a Job's pod (${name}), classic sidecars: init-only by default`, () => {
      const p = mutated(input, CLASSIC, context);
      assert.deepEqual(names(p.spec.initContainers), ['bucket-agent-init']);
      assert.deepEqual(names(p.spec.containers), ['app']);
    });
    it(`a Job's pod (${name}), native sidecars: the native sidecar (it does not keep the Job alive)`, () => {
      const p = mutated(input, FACTS, context);
      assert.deepEqual(names(p.spec.initContainers), ['bucket-agent']);
      assert.equal(container(p, 'bucket-agent').restartPolicy, 'Always');
    });
  }

  it('an ownerReference that is not the controller, or not a Job, changes nothing', () => {
    const refs = [
      { apiVersion: 'batch/v1', kind: 'Job', name: 'j', uid: 'u' },
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'r', uid: 'v', controller: true },
    ];
    const p = mutated(pod({ buckets: 'b' }, { metadata: { ownerReferences: refs } }), CLASSIC);
    assert.deepEqual(names(p.spec.containers), ['app', 'bucket-agent']);
  });
});

describe('inject: sources', () => {
  const tokenMount = (c: Container) => (c.volumeMounts ?? []).find((m) => m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount');
  const secretVolumes = (p: Pod) => (p.spec.volumes ?? []).filter((v) => v.name.startsWith('bucket-agent-secret-'));

  it('api: a projected token in the agent only; no Secret volumes; automount untouched', () => {
    const p = mutated(
      pod({ buckets: 'b', source: 'api' }, { spec: { containers: [{ name: 'app' }], automountServiceAccountToken: false } }),
    );
    const token = (p.spec.volumes ?? []).find((v) => v.name === 'bucket-agent-token');
    assert.deepEqual(token?.projected, {
      sources: [
        { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    });
    assert.deepEqual(tokenMount(container(p, 'bucket-agent')), {
      name: 'bucket-agent-token',
      mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
      readOnly: true,
    });
    assert.equal(tokenMount(container(p, 'app')), undefined);
    assert.equal(p.spec.automountServiceAccountToken, false);
    assert.deepEqual(secretVolumes(p), []);
    assert.deepEqual(flagValues(container(p, 'bucket-agent'), '--source'), ['api']);
    assert.deepEqual(flagValues(container(p, 'bucket-agent'), '--secrets-dir'), []);
  });

  it('volume: every candidate Secret, optional, at <secrets-dir>/<name>/ in the agent only; no token', () => {
    const p = mutated(pod({ buckets: 'data,logs=l', source: 'volume' }), CLASSIC);
    assert.deepEqual(
      secretVolumes(p).map((v) => v.secret),
      ['bucket-data', 'bucket-data-credentials', 'bucket-logs', 'bucket-logs-credentials'].map((secretName) => ({
        secretName,
        optional: true,
      })),
    );
    for (const name of ['bucket-agent-init', 'bucket-agent']) {
      const agent = container(p, name);
      assert.equal(tokenMount(agent), undefined);
      assert.deepEqual(flagValues(agent, '--secrets-dir'), ['/var/run/bucket-agent/secrets']);
      assert.deepEqual(
        (agent.volumeMounts ?? []).filter((m) => m.name.startsWith('bucket-agent-secret-')).map((m) => [m.mountPath, m.readOnly]),
        ['bucket-data', 'bucket-data-credentials', 'bucket-logs', 'bucket-logs-credentials'].map((s) => [
          `/var/run/bucket-agent/secrets/${s}`,
          true,
        ]),
      );
    }
    assert.deepEqual(container(p, 'app').volumeMounts, [{ name: 'bucket-agent', mountPath: '/bucket', readOnly: true }]);
    assert.equal(
      (p.spec.volumes ?? []).find((v) => v.name === 'bucket-agent-token'),
      undefined,
    );
  });

  it('auto (the default): both the token and the Secret volumes', () => {
    const p = mutated(pod({ buckets: 'b' }));
    const agent = container(p, 'bucket-agent');
    assert.deepEqual(flagValues(agent, '--source'), ['auto']);
    assert.ok(tokenMount(agent) !== undefined);
    assert.equal(secretVolumes(p).length, 2);
  });

  it('facts.defaultSource applies when the pod says nothing, and the annotation wins', () => {
    assert.deepEqual(
      flagValues(container(mutated(pod({ buckets: 'b' }), { ...FACTS, defaultSource: 'api' }), 'bucket-agent'), '--source'),
      ['api'],
    );
    assert.deepEqual(
      flagValues(
        container(mutated(pod({ buckets: 'b', source: 'volume' }), { ...FACTS, defaultSource: 'api' }), 'bucket-agent'),
        '--source',
      ),
      ['volume'],
    );
  });

  it('a Secret shared by two buckets is mounted once', () => {
    const p = mutated(pod({ buckets: 'x=a,x=b', source: 'volume' }));
    assert.deepEqual(
      secretVolumes(p).map((v) => (v.secret as { secretName: string }).secretName),
      ['bucket-x', 'bucket-x-credentials'],
    );
  });
});

describe('inject: every agent container', () => {
  const variants: [string, Pod, typeof FACTS][] = [
    ['native', pod({ buckets: 'b' }), FACTS],
    ['classic', pod({ buckets: 'b' }), CLASSIC],
    ['init-only', pod({ buckets: 'b', mode: 'init-only' }), FACTS],
  ];
  const agents = (p: Pod) => [...p.spec.containers, ...(p.spec.initContainers ?? [])].filter((c) => c.name.startsWith('bucket-agent'));

  for (const [name, input, facts] of variants) {
    it(`${name}: restricted security context, resources, downward API, image`, () => {
      const p = mutated(input, { ...facts, imagePullPolicy: 'IfNotPresent' });
      for (const agent of agents(p)) {
        assert.deepEqual(agent.securityContext, {
          runAsNonRoot: true,
          runAsUser: 65532,
          runAsGroup: 65532,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          privileged: false,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
        assert.deepEqual(agent.resources, { requests: { cpu: '10m', memory: '96Mi' }, limits: { memory: '160Mi' } });
        assert.deepEqual(
          agent.env?.map((v) => [v.name, v.valueFrom?.fieldRef.fieldPath]),
          [
            ['POD_NAME', 'metadata.name'],
            ['POD_NAMESPACE', 'metadata.namespace'],
            ['POD_UID', 'metadata.uid'],
          ],
        );
        assert.equal(agent.image, 'registry.test/bucket-agent:1');
        assert.equal(agent.imagePullPolicy, 'IfNotPresent');
        assert.deepEqual(agent.volumeMounts?.[0], { name: 'bucket-agent', mountPath: '/var/run/bucket-agent/out' });
      }
    });
  }

  it('no imagePullPolicy unless given; resources and uid from the facts', () => {
    const resources = { requests: { cpu: '5m', memory: '80Mi' }, limits: { memory: '128Mi' } };
    const p = mutated(pod({ buckets: 'b' }), { ...FACTS, resources, agentUid: 1001 });
    const agent = container(p, 'bucket-agent');
    assert.equal('imagePullPolicy' in agent, false);
    assert.deepEqual(agent.resources, resources);
    assert.equal(agent.securityContext?.runAsUser, 1001);
  });

  it('the files: a memory emptyDir with a size limit', () => {
    const p = mutated(pod());
    assert.deepEqual(p.spec.volumes?.[0], { name: 'bucket-agent', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } });
  });

  it('fsGroup: --gid <fsGroup> --file-mode 0440; without it --file-mode 0444 and no --gid', () => {
    const grouped = container(
      mutated(pod({ buckets: 'b' }, { spec: { containers: [{ name: 'app' }], securityContext: { fsGroup: 2000 } } })),
      'bucket-agent',
    );
    assert.deepEqual(flagValues(grouped, '--file-mode'), ['0440']);
    assert.deepEqual(flagValues(grouped, '--gid'), ['2000']);
    const plain = container(
      mutated(pod({ buckets: 'b' }, { spec: { containers: [{ name: 'app' }], securityContext: { runAsUser: 1000 } } })),
      'bucket-agent',
    );
    assert.deepEqual(flagValues(plain, '--file-mode'), ['0444']);
    assert.deepEqual(flagValues(plain, '--gid'), []);
  });
});
