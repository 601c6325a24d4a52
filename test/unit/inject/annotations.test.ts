/** Every annotation: what a valid value does to the pod, and every refusal with the annotation it names. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pod } from '../../../src/inject/kube-types.js';
import { container, envOf, flagValues, mutate, mutated, names, pod, refused, CLASSIC, FACTS } from './helpers.js';

const agent = (p: Pod) => container(p, 'bucket-agent');

describe('inject: each annotation', () => {
  const cases: { name: string; annotations: Record<string, string>; check: (p: Pod) => void; spec?: Partial<Pod['spec']> }[] = [
    {
      name: 'buckets: one name',
      annotations: { buckets: 'backup' },
      check: (p) => assert.deepEqual(flagValues(agent(p), '--bucket'), ['backup']),
    },
    {
      name: 'buckets: NAME=ALIAS, commas, newlines and spaces',
      annotations: { buckets: 'data=main, logs\nmy.bucket=mine' },
      check: (p) => assert.deepEqual(flagValues(agent(p), '--bucket'), ['data=main', 'logs', 'my.bucket=mine']),
    },
    {
      name: 'user: --user and the per-user Secret first',
      annotations: { buckets: 'backup', user: 'alice', source: 'volume' },
      check: (p) => {
        assert.deepEqual(flagValues(agent(p), '--user'), ['alice']);
        const secrets = (p.spec.volumes ?? []).flatMap((v) => (v.secret as { secretName?: string } | undefined)?.secretName ?? []);
        assert.deepEqual(secrets, ['bucket-backup-alice', 'bucket-backup', 'bucket-backup-alice-credentials']);
      },
    },
    {
      name: 'namespace: --namespace',
      annotations: { buckets: 'backup', namespace: 'tenant-mgmt' },
      check: (p) => assert.deepEqual(flagValues(agent(p), '--namespace'), ['tenant-mgmt']),
    },
    {
      name: 'formats: --formats, and only the variables of the formats written',
      annotations: { buckets: 'backup', formats: 'aws, env' },
      check: (p) => {
        assert.deepEqual(flagValues(agent(p), '--formats'), ['aws,env']);
        assert.deepEqual(Object.keys(envOf(container(p, 'app'))), ['AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE']);
      },
    },
    {
      name: 'formats: rclone only',
      annotations: { buckets: 'backup', formats: 'rclone' },
      check: (p) => assert.deepEqual(envOf(container(p, 'app')), { RCLONE_CONFIG: '/bucket/rclone/rclone.conf' }),
    },
    {
      name: 'formats: none of aws, rclone, mc sets no variable',
      annotations: { buckets: 'backup', formats: 'env,json' },
      check: (p) => assert.equal(container(p, 'app').env, undefined),
    },
    {
      name: 'no formats: every format, all four variables',
      annotations: { buckets: 'backup' },
      check: (p) => {
        assert.deepEqual(flagValues(agent(p), '--formats'), []);
        assert.deepEqual(envOf(container(p, 'app')), {
          AWS_SHARED_CREDENTIALS_FILE: '/bucket/aws/credentials',
          AWS_CONFIG_FILE: '/bucket/aws/config',
          RCLONE_CONFIG: '/bucket/rclone/rclone.conf',
          MC_CONFIG_DIR: '/bucket/mc',
        });
      },
    },
    {
      name: 'notify: one --notify per line, blank lines skipped',
      annotations: {
        buckets: 'backup',
        notify: 'signal:HUP:pidfile:/run/nginx.pid\n\n  http:POST:http://127.0.0.1:8080/-/reload  \nexec:kill -HUP 1, 2',
      },
      check: (p) =>
        assert.deepEqual(flagValues(agent(p), '--notify'), [
          'signal:HUP:pidfile:/run/nginx.pid',
          'http:POST:http://127.0.0.1:8080/-/reload',
          'exec:kill -HUP 1, 2',
        ]),
    },
    {
      name: 'credentials-endpoint: "true" serves it on loopback and points the app at it, not at the credentials file an SDK would read first and never again',
      annotations: { buckets: 'data=main,logs', 'credentials-endpoint': 'true' },
      check: (p) => {
        assert.deepEqual(flagValues(agent(p), '--credentials-listen'), ['127.0.0.1:9911']);
        const env = envOf(container(p, 'app'));
        assert.equal(env.AWS_CONTAINER_CREDENTIALS_FULL_URI, 'http://127.0.0.1:9911/v1/credentials/main');
        assert.equal(env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, '/bucket/aws/container-token');
        assert.equal(env.AWS_SHARED_CREDENTIALS_FILE, undefined);
        assert.equal(env.AWS_CONFIG_FILE, '/bucket/aws/config', 'region and endpoint still come from the config file');
      },
    },
    {
      name: 'credentials-endpoint: "false" is the default',
      annotations: { buckets: 'backup', 'credentials-endpoint': 'false' },
      check: (p) => {
        assert.deepEqual(flagValues(agent(p), '--credentials-listen'), []);
        assert.equal(envOf(container(p, 'app')).AWS_CONTAINER_CREDENTIALS_FULL_URI, undefined);
        assert.equal(envOf(container(p, 'app')).AWS_SHARED_CREDENTIALS_FILE, '/bucket/aws/credentials');
      },
    },
    {
      name: 'verify: "false" -> --no-verify',
      annotations: { buckets: 'backup', verify: 'false' },
      check: (p) => assert.ok(agent(p).args?.includes('--no-verify')),
    },
    {
      name: 'verify: "true" is the default',
      annotations: { buckets: 'backup', verify: 'true' },
      check: (p) => assert.ok(!(agent(p).args ?? []).includes('--no-verify')),
    },
    {
      name: 'mode: init-only -> the init container alone',
      annotations: { buckets: 'backup', mode: 'init-only' },
      check: (p) => {
        assert.deepEqual(names(p.spec.initContainers), ['bucket-agent-init']);
        assert.deepEqual(names(p.spec.containers), ['app']);
        assert.equal(container(p, 'bucket-agent-init').args?.[0], 'init');
      },
    },
    {
      name: 'mode: sidecar is the default',
      annotations: { buckets: 'backup', mode: 'sidecar' },
      check: (p) => assert.deepEqual(names(p.spec.initContainers), ['bucket-agent']),
    },
    {
      name: 'mount-path: the app mount and every variable follow it (trailing slash dropped)',
      annotations: { buckets: 'backup', 'mount-path': '/etc/s3/', 'credentials-endpoint': 'true' },
      check: (p) => {
        assert.deepEqual(container(p, 'app').volumeMounts, [{ name: 'bucket-agent', mountPath: '/etc/s3', readOnly: true }]);
        const env = envOf(container(p, 'app'));
        assert.equal(env.AWS_CONFIG_FILE, '/etc/s3/aws/config');
        assert.equal(env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, '/etc/s3/aws/container-token');
        assert.deepEqual(flagValues(agent(p), '--out'), ['/var/run/bucket-agent/out']);
      },
    },
    {
      name: 'containers: only those named (an init container may be named)',
      annotations: { buckets: 'backup', containers: 'worker, migrate' },
      spec: {
        containers: [
          { name: 'web', image: 'w' },
          { name: 'worker', image: 'k' },
        ],
        initContainers: [{ name: 'migrate', image: 'm' }],
      },
      check: (p) => {
        assert.equal(container(p, 'web').volumeMounts, undefined);
        assert.equal(container(p, 'web').env, undefined);
        assert.equal(container(p, 'worker').volumeMounts?.length, 1);
        assert.equal(container(p, 'migrate').volumeMounts?.length, 1);
        assert.ok(envOf(container(p, 'migrate')).AWS_CONFIG_FILE !== undefined);
      },
    },
    {
      name: 'containers: default is every container, not the init containers',
      annotations: { buckets: 'backup' },
      spec: { containers: [{ name: 'a' }, { name: 'b' }], initContainers: [{ name: 'setup' }] },
      check: (p) => {
        assert.equal(container(p, 'a').volumeMounts?.length, 1);
        assert.equal(container(p, 'b').volumeMounts?.length, 1);
        assert.equal(container(p, 'setup').volumeMounts, undefined);
      },
    },
    {
      name: 'kubeconfig-secret: mounted into the agent only, --kubeconfig its directory',
      annotations: { buckets: 'backup', 'kubeconfig-secret': 'mgmt-kubeconfig' },
      check: (p) => {
        assert.deepEqual(flagValues(agent(p), '--kubeconfig'), ['/var/run/bucket-agent/kubeconfig']);
        const volume = (p.spec.volumes ?? []).find((v) => v.name === 'bucket-agent-kubeconfig');
        assert.deepEqual(volume, { name: 'bucket-agent-kubeconfig', secret: { secretName: 'mgmt-kubeconfig' } });
        assert.ok(agent(p).volumeMounts?.some((m) => m.name === 'bucket-agent-kubeconfig' && m.readOnly === true));
        assert.ok(!(container(p, 'app').volumeMounts ?? []).some((m) => m.name === 'bucket-agent-kubeconfig'));
      },
    },
    {
      name: 'health-port: --listen and the probes',
      annotations: { buckets: 'backup', 'health-port': '7070' },
      check: (p) => {
        assert.deepEqual(flagValues(agent(p), '--listen'), [':7070']);
        assert.equal(agent(p).startupProbe?.httpGet.port, 7070);
        assert.equal(agent(p).livenessProbe?.httpGet.port, 7070);
      },
    },
    {
      name: 'credentials-port: --credentials-listen and the URI',
      annotations: { buckets: 'backup', 'credentials-endpoint': 'true', 'credentials-port': '7071' },
      check: (p) => {
        assert.deepEqual(flagValues(agent(p), '--credentials-listen'), ['127.0.0.1:7071']);
        assert.equal(envOf(container(p, 'app')).AWS_CONTAINER_CREDENTIALS_FULL_URI, 'http://127.0.0.1:7071/v1/credentials/backup');
      },
    },
  ];
  for (const { name, annotations, check, spec } of cases) {
    it(name, () => check(mutated(pod(annotations, spec === undefined ? {} : { spec }))));
  }

  it('status: a pod carrying it, whatever its value, is left alone', () => {
    for (const status of ['injected', 'skip', '']) {
      const result = mutate(pod({ buckets: 'backup', status }));
      assert.equal(result.injected, false);
      assert.deepEqual(result.patch, []);
    }
  });

  it('status: written as "injected"', () => {
    assert.equal(mutated(pod()).metadata?.annotations?.['bucket-agent.io/status'], 'injected');
  });
});

describe('inject: refusals name the annotation and why', () => {
  const twoContainers: Partial<Pod['spec']> = { containers: [{ name: 'app' }, { name: 'web', ports: [{ containerPort: 9910 }] }] };
  const cases: {
    annotation: string;
    annotations: Record<string, unknown>;
    says: RegExp;
    spec?: Partial<Pod['spec']>;
    classic?: boolean;
    job?: boolean;
  }[] = [
    { annotation: 'buckets', annotations: {}, says: /required: the Bucket\(s\) to mount/ },
    { annotation: 'buckets', annotations: { buckets: ' , ' }, says: /required/ },
    {
      annotation: 'buckets',
      annotations: { buckets: 'Bad_Name' },
      says: /^bucket-agent\.io\/buckets: "Bad_Name" is not a valid Bucket name/,
    },
    { annotation: 'buckets', annotations: { buckets: 'a=b=c' }, says: /expected <name> or <name>=<alias>/ },
    { annotation: 'buckets', annotations: { buckets: 'my.bucket' }, says: /alias "my.bucket" is not a DNS-1123 label.*my\.bucket=<alias>/ },
    { annotation: 'buckets', annotations: { buckets: 'x=../etc' }, says: /alias "\.\.\/etc" is not a DNS-1123 label/ },
    { annotation: 'buckets', annotations: { buckets: 'a, b=a' }, says: /alias "a" is used twice/ },
    { annotation: 'buckets', annotations: { buckets: true }, says: /must be a string, not true \(quote it in YAML: "true"\)/ },
    { annotation: 'user', annotations: { buckets: 'b', user: 'Alice' }, says: /"Alice" is not a valid name/ },
    { annotation: 'namespace', annotations: { buckets: 'b', namespace: 'a b' }, says: /"a b" is not a valid name/ },
    { annotation: 'kubeconfig-secret', annotations: { buckets: 'b', 'kubeconfig-secret': '-kc' }, says: /"-kc" is not a valid name/ },
    { annotation: 'formats', annotations: { buckets: 'b', formats: 'aws,xml' }, says: /unknown format xml \(known: aws, rclone/ },
    { annotation: 'source', annotations: { buckets: 'b', source: 'disk' }, says: /"disk" is not one of api, volume, auto/ },
    { annotation: 'notify', annotations: { buckets: 'b', notify: 'exec:true\nreload' }, says: /"reload": unknown action/ },
    { annotation: 'notify', annotations: { buckets: 'b', notify: 'signal:HUPP:nginx' }, says: /"HUPP" is not a signal name/ },
    { annotation: 'notify', annotations: { buckets: 'b', notify: 'http:POST:ftp://x/' }, says: /must be http:\/\/ or https:\/\// },
    {
      annotation: 'credentials-endpoint',
      annotations: { buckets: 'b', 'credentials-endpoint': 'yes' },
      says: /"yes" is not "true" or "false"/,
    },
    { annotation: 'verify', annotations: { buckets: 'b', verify: '0' }, says: /"0" is not "true" or "false"/ },
    { annotation: 'mode', annotations: { buckets: 'b', mode: 'daemon' }, says: /"daemon" is not one of sidecar, init-only/ },
    {
      annotation: 'mode',
      annotations: { buckets: 'b', mode: 'sidecar' },
      says: /needs native sidecars.*use "init-only"/,
      classic: true,
      job: true,
    },
    { annotation: 'mount-path', annotations: { buckets: 'b', 'mount-path': 'bucket' }, says: /"bucket" is not an absolute directory path/ },
    { annotation: 'mount-path', annotations: { buckets: 'b', 'mount-path': '/' }, says: /not an absolute directory path/ },
    { annotation: 'mount-path', annotations: { buckets: 'b', 'mount-path': '/a/../etc' }, says: /not an absolute directory path/ },
    { annotation: 'mount-path', annotations: { buckets: 'b', 'mount-path': '/a//b' }, says: /not an absolute directory path/ },
    { annotation: 'mount-path', annotations: { buckets: 'b', 'mount-path': '/a\tb' }, says: /not an absolute directory path/ },
    {
      annotation: 'mount-path',
      annotations: { buckets: 'b' },
      spec: { containers: [{ name: 'app', volumeMounts: [{ name: 'data', mountPath: '/bucket' }] }] },
      says: /container "app" already mounts a volume at \/bucket/,
    },
    {
      annotation: 'containers',
      annotations: { buckets: 'b', containers: 'app,nope' },
      says: /the pod has no container "nope" \(it has: app\)/,
    },
    { annotation: 'health-port', annotations: { buckets: 'b', 'health-port': '0' }, says: /"0" is not a port/ },
    { annotation: 'health-port', annotations: { buckets: 'b', 'health-port': '65536' }, says: /"65536" is not a port/ },
    { annotation: 'credentials-port', annotations: { buckets: 'b', 'credentials-port': 'http' }, says: /"http" is not a port/ },
    {
      annotation: 'health-port',
      annotations: { buckets: 'b' },
      spec: twoContainers,
      says: /port 9910 is declared by a container of the pod: choose another with bucket-agent\.io\/health-port/,
    },
    {
      annotation: 'credentials-port',
      annotations: { buckets: 'b', 'credentials-endpoint': 'true', 'health-port': '7000' },
      spec: { containers: [{ name: 'app', ports: [{ containerPort: 9911 }] }] },
      says: /port 9911 is declared/,
    },
    {
      annotation: 'credentials-endpoint',
      annotations: { buckets: 'b', 'credentials-endpoint': 'true', 'health-port': '9911' },
      says: /the health and credentials ports are both 9911/,
    },
    {
      annotation: 'credentials-endpoint',
      annotations: { buckets: 'b', 'credentials-endpoint': 'true', mode: 'init-only' },
      says: /served by the sidecar, and the mode is init-only$/,
    },
    {
      annotation: 'credentials-endpoint',
      annotations: { buckets: 'b', 'credentials-endpoint': 'true' },
      says: /the mode is init-only \(the default for a Job's pod when sidecars are classic\)/,
      classic: true,
      job: true,
    },
    {
      annotation: 'source',
      annotations: { buckets: 'b', source: 'volume', 'kubeconfig-secret': 'mgmt' },
      says: /"volume" reads Secrets mounted from this cluster.*use "api"/,
    },
    {
      annotation: 'inject',
      annotations: { buckets: 'b' },
      spec: { containers: [{ name: 'app' }], volumes: [{ name: 'bucket-agent', emptyDir: {} }] },
      says: /already has a volume named bucket-agent, a name the injector needs/,
    },
    { annotation: 'inject', annotations: { buckets: 'b' }, spec: { containers: [] }, says: /no spec.containers/ },
  ];
  for (const c of cases) {
    it(`${c.annotation}: ${c.says.source}`, () =>
      refused(pod(c.annotations, c.spec === undefined ? {} : { spec: c.spec }), c.annotation, c.says, {
        facts: c.classic === true ? CLASSIC : FACTS,
        context: c.job === true ? { ownerKind: 'Job' } : undefined,
      }));
  }

  it('a health port declared by the pod is fine in init-only mode (nothing listens)', () => {
    mutated(pod({ buckets: 'b', mode: 'init-only' }, { spec: twoContainers }));
  });

  it('a refusal carries the annotation and the problem apart, for the webhook', () => {
    assert.throws(
      () => mutated(pod({ buckets: 'Bad_Name' })),
      (err: unknown) => {
        const e = err as { annotation: string; problem: string; code: string; exitCode: number };
        assert.equal(e.annotation, 'bucket-agent.io/buckets');
        assert.match(e.problem, /^"Bad_Name" is not a valid Bucket name/);
        assert.equal(e.code, 'E_ANNOTATION');
        assert.equal(e.exitCode, 2);
        return true;
      },
    );
  });
});

describe('inject: warnings', () => {
  const cases: { name: string; input: Pod; says: RegExp; injected?: boolean }[] = [
    {
      name: 'an unknown key under the prefix',
      input: pod({ buckets: 'b', bukets: 'x' }),
      says: /^bucket-agent\.io\/bukets: unknown annotation, ignored \(known: buckets,/,
    },
    {
      name: 'the opt-in given as an annotation',
      input: pod({ buckets: 'b', inject: 'true' }),
      says: /bucket-agent\.io\/inject is read as a label, not an annotation/,
    },
    {
      name: 'notify in init-only mode',
      input: pod({ buckets: 'b', mode: 'init-only', notify: 'exec:true' }),
      says: /notify: ignored in init-only mode/,
    },
    {
      name: 'a signal by name without a shared process namespace',
      input: pod({ buckets: 'b', notify: 'signal:HUP:nginx' }),
      says: /needs shareProcessNamespace: true/,
    },
    {
      name: 'envFrom, which the injected env wins over',
      input: pod(
        { buckets: 'b', formats: 'rclone' },
        { spec: { containers: [{ name: 'app', envFrom: [{ configMapRef: { name: 'cfg' } }] }] } },
      ),
      says: /container "app" has envFrom: the injected RCLONE_CONFIG take precedence/,
    },
    {
      name: 'a label value other than "true"',
      input: pod({ buckets: 'b' }, { labels: { 'bucket-agent.io/inject': 'yes' } }),
      says: /"yes" is not "true": not injected/,
      injected: false,
    },
  ];
  for (const { name, input, says, injected } of cases) {
    it(name, () => {
      const result = mutate(input);
      assert.equal(result.injected, injected ?? true);
      assert.ok(
        result.warnings.some((w) => says.test(w)),
        result.warnings.join('\n'),
      );
    });
  }

  it('other prefixes and a well-formed pod warn about nothing', () => {
    const result = mutate(pod({ buckets: 'b', 'other.io/x': '1', 'bucket-agent.io.evil/x': '1' }));
    assert.deepEqual(result.warnings, []);
  });

  it('a signal by name with shareProcessNamespace does not warn', () => {
    const result = mutate(
      pod({ buckets: 'b', notify: 'signal:HUP:nginx' }, { spec: { containers: [{ name: 'app' }], shareProcessNamespace: true } }),
    );
    assert.deepEqual(result.warnings, []);
  });
});
