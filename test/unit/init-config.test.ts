import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { initConfigFrom, parseBuckets, parseDuration, type InitArgs } from '../../src/config/init.js';
import { UsageError } from '../../src/errors.js';

const ARGS: InitArgs = {
  bucket: ['backup'],
  out: '/bucket',
  'file-mode': '0440',
  timeout: '10m',
  verify: true,
  'verify-timeout': '30s',
  source: 'api',
  'secrets-dir': '/var/run/bucket-agent/secrets',
  'insecure-skip-tls-verify': false,
  'progress-interval': '15s',
  'log-level': 'info',
  'log-format': 'json',
};

describe('parseDuration', () => {
  const good: [string, number][] = [
    ['90s', 90_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['2m10s', 130_000],
    ['500ms', 500],
    ['1.5s', 1_500],
    ['45', 45_000],
  ];
  for (const [text, ms] of good) it(`${text} -> ${ms} ms`, () => assert.equal(parseDuration(text, 'timeout'), ms));
  for (const text of ['', '0', '0s', '10 minutes', '-5s', '1d', 's', '10m junk']) {
    it(`rejects "${text}"`, () =>
      assert.throws(
        () => parseDuration(text, 'timeout'),
        (err: unknown) => err instanceof UsageError && err.message.startsWith('--timeout:'),
      ));
  }
});

describe('parseBuckets', () => {
  it('name, name=alias, comma lists and repeats', () => {
    assert.deepEqual(parseBuckets(['backup', 'data=main,logs']), [
      { name: 'backup', alias: 'backup' },
      { name: 'data', alias: 'main' },
      { name: 'logs', alias: 'logs' },
    ]);
  });
  const bad: [string[], RegExp][] = [
    [[], /at least one --bucket/],
    [['Backup'], /not a valid Bucket name/],
    [['a=b=c'], /expected <name> or <name>=<alias>/],
    [['my.bucket'], /^--bucket "my\.bucket": alias "my.bucket" is not a DNS-1123 label.*one: my\.bucket=<alias>/],
    [['x=../etc'], /alias "\.\.\/etc" is not a DNS-1123 label/],
    [['a', 'b=a'], /alias "a" is used twice/],
  ];
  for (const [values, message] of bad) {
    it(`rejects ${JSON.stringify(values)}`, () =>
      assert.throws(
        () => parseBuckets(values),
        (err: unknown) => err instanceof UsageError && message.test(err.message),
      ));
  }
});

describe('initConfigFrom', () => {
  it('defaults: in-cluster in a pod, verify on, no Events without the downward API', () => {
    const config = initConfigFrom(ARGS, false, { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' });
    assert.deepEqual(config.kube, { kind: 'in-cluster', host: '10.0.0.1', port: '443' });
    assert.equal(config.timeoutMs, 600_000);
    assert.deepEqual(config.verify, { caFile: undefined, insecureSkipTlsVerify: false, windowMs: 30_000 });
    assert.equal(config.pod, undefined);
    assert.equal(config.namespace, undefined);
    assert.ok(Object.isFrozen(config));
  });

  it('outside a pod: the default kubeconfig lookup; --kubeconfig wins everywhere', () => {
    assert.deepEqual(initConfigFrom(ARGS, false, { HOME: '/home/me' }).kube, { kind: 'default', paths: ['/home/me/.kube/config'] });
    assert.deepEqual(
      initConfigFrom(ARGS, false, { HOME: '/home/me', KUBECONFIG: '/a::/b' }).kube,
      { kind: 'default', paths: ['/a', '/b'] },
      'KUBECONFIG wins over ~/.kube/config',
    );
    assert.deepEqual(initConfigFrom(ARGS, false, {}).kube, { kind: 'default', paths: [] });
    const withFile = initConfigFrom({ ...ARGS, kubeconfig: '/mgmt' }, false, {
      KUBERNETES_SERVICE_HOST: 'fd00::1',
      KUBERNETES_SERVICE_PORT: '6443',
    });
    assert.deepEqual(withFile.kube, { kind: 'kubeconfig', path: '/mgmt' });
    assert.deepEqual(withFile.eventsKube, { kind: 'in-cluster', host: 'fd00::1', port: '6443' }, "Events go to the pod's own cluster");
    assert.deepEqual(
      initConfigFrom({ ...ARGS, kubeconfig: '/mgmt' }, false, {}).eventsKube,
      { kind: 'kubeconfig', path: '/mgmt' },
      'outside a pod: the one kubeconfig',
    );
  });

  it('reads the pod from the downward API variables', () => {
    const config = initConfigFrom(ARGS, false, { POD_NAME: 'app-0', POD_NAMESPACE: 'tenant-a', POD_UID: 'u-1' });
    assert.deepEqual(config.pod, { name: 'app-0', namespace: 'tenant-a', uid: 'u-1' });
    assert.equal(initConfigFrom(ARGS, false, { POD_NAME: 'app-0' }).pod, undefined, 'a name without a namespace is not enough');
  });

  it('--no-verify, user and namespace', () => {
    const config = initConfigFrom({ ...ARGS, verify: false, user: 'alice', namespace: 'tenant-a' }, false, {});
    assert.equal(config.verify, undefined);
    assert.equal(config.user, 'alice');
    assert.equal(config.namespace, 'tenant-a');
  });

  it('refuses --ca-file with --insecure-skip-tls-verify, and bad names', () => {
    assert.throws(
      () => initConfigFrom({ ...ARGS, 'ca-file': '/ca.pem', 'insecure-skip-tls-verify': true }, false, {}),
      /exclude each other/,
    );
    assert.throws(() => initConfigFrom({ ...ARGS, user: 'Alice' }, false, {}), /--user: "Alice" is not a valid name/);
    assert.throws(() => initConfigFrom({ ...ARGS, namespace: 'a/b' }, false, {}), /--namespace/);
  });
});
