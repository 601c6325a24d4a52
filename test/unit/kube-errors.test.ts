import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BucketAgentError,
  CredentialsError,
  EXIT,
  KubeAccessError,
  OutputError,
  TimeoutError,
  UsageError,
  VerifyError,
} from '../../src/errors.js';
import { describeReady, isFailed, readyConditionOf } from '../../src/credentials/index.js';
import { buildEvent } from '../../src/kube/events.js';
import { KubeApiError, KubeConnectionError, isTransient } from '../../src/kube/errors.js';
import { BUCKETS, SECRETS, resourceName, resourcePath } from '../../src/kube/resources.js';

describe('resource paths and names', () => {
  it('core and grouped resources', () => {
    assert.equal(resourcePath(SECRETS, 'tenant-a', 'bucket-x'), '/api/v1/namespaces/tenant-a/secrets/bucket-x');
    assert.equal(resourcePath(BUCKETS, 'tenant-a'), '/apis/apps.cozystack.io/v1alpha1/namespaces/tenant-a/buckets');
    assert.equal(resourceName(BUCKETS), 'buckets.apps.cozystack.io');
  });
});

describe('KubeApiError', () => {
  const list = { verb: 'list', resource: SECRETS, namespace: 'tenant-a' } as const;
  it('403 names verb, resource, namespace and the rule to add; exit code 6', () => {
    const err = new KubeApiError(403, list, {
      reason: 'Forbidden',
      message: 'secrets is forbidden: User "x" cannot list resource "secrets"',
    });
    assert.ok(err instanceof KubeAccessError);
    assert.equal(err.exitCode, EXIT.kubeAccess);
    assert.match(
      err.message,
      /^permission denied: cannot list secrets in namespace tenant-a \(apiserver: secrets is forbidden: .*\)\. Grant it with a Role rule: apiGroups \[""\], resources \["secrets"\], verbs \["list"\]$/,
    );
    assert.ok(err.denied && !err.transient);
  });
  it('404 on a collection: the API is not served (a missing group, not a missing Bucket)', () => {
    const err = new KubeApiError(404, { verb: 'list', resource: BUCKETS, namespace: 'n' }, {});
    assert.equal(err.message, 'buckets.apps.cozystack.io is not served by this apiserver');
  });
  it('429 and 5xx are transient, others are not', () => {
    for (const status of [429, 500, 503]) assert.ok(new KubeApiError(status, list, {}).transient, String(status));
    for (const status of [400, 401, 403, 404, 422]) assert.ok(!new KubeApiError(status, list, {}).transient, String(status));
  });
  it('keeps messages on one bounded line', () => {
    const err = new KubeApiError(500, list, { reason: 'InternalError', message: `a\nb${'x'.repeat(1000)}` });
    assert.ok(!err.message.includes('\n'));
    assert.ok(err.message.length < 600);
  });
  it('connection errors are transient and name the server', () => {
    const err = new KubeConnectionError(
      'https://10.0.0.1:6443',
      list,
      Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:6443'), { code: 'ECONNREFUSED' }),
    );
    assert.ok(isTransient(err));
    assert.match(
      err.message,
      /^cannot list secrets in namespace tenant-a: apiserver https:\/\/10\.0\.0\.1:6443 unreachable: connect ECONNREFUSED/,
    );
  });
});

describe('Bucket Ready condition', () => {
  it('reads Ready and tells failed from pending', () => {
    const bucket = {
      status: {
        conditions: [
          { type: 'Other', status: 'True' },
          { type: 'Ready', status: 'False', reason: 'InstallFailed', message: 'boom' },
        ],
      },
    };
    const ready = readyConditionOf(bucket);
    assert.deepEqual(ready, { status: 'False', reason: 'InstallFailed', message: 'boom', lastTransitionTime: undefined });
    assert.ok(isFailed(ready));
    assert.equal(describeReady(ready), 'Ready=False (InstallFailed)');
    assert.equal(readyConditionOf({}), undefined);
    assert.equal(describeReady(undefined), 'no Ready condition yet');
    assert.ok(!isFailed({ status: 'False', reason: undefined, message: undefined, lastTransitionTime: undefined }));
    for (const reason of ['Progressing', 'Provisioning', 'DependencyNotReady']) {
      assert.ok(!isFailed({ status: 'False', reason, message: undefined, lastTransitionTime: undefined }), `${reason} is not a failure`);
    }
  });
});

describe('buildEvent', () => {
  it('points at the pod and bounds the message', () => {
    const event = buildEvent({ name: 'app-0', namespace: 'ns', uid: 'u1' }, 'Warning', 'BucketFailed', 'm'.repeat(2000)) as {
      involvedObject: Record<string, string>;
      message: string;
      metadata: { generateName: string };
    };
    assert.deepEqual(event.involvedObject, { apiVersion: 'v1', kind: 'Pod', name: 'app-0', namespace: 'ns', uid: 'u1' });
    assert.equal(event.metadata.generateName, 'app-0.');
    assert.equal(event.message.length, 1024);
  });
});

describe('error names', () => {
  it('every class states its own, as the minified bundle has no constructor names to take it from', () => {
    const target = { verb: 'get', resource: SECRETS, namespace: 'tenant-a' } as const;
    const errors: [Error, string][] = [
      [new BucketAgentError('E_X', EXIT.internal, 'x'), 'BucketAgentError'],
      [new UsageError('x'), 'UsageError'],
      [new CredentialsError('secret a/b', undefined, 'x'), 'CredentialsError'],
      [new OutputError('x'), 'OutputError'],
      [new TimeoutError('x'), 'TimeoutError'],
      [new KubeAccessError('x'), 'KubeAccessError'],
      [new VerifyError('other', 'x'), 'VerifyError'],
      [new KubeApiError(500, target, {}), 'KubeApiError'],
      [new KubeConnectionError('https://k', target, new Error('x')), 'KubeConnectionError'],
    ];
    for (const [err, name] of errors) {
      assert.equal(err.name, name);
      assert.ok(Object.hasOwn(err, 'name'), `${name} sets name on the instance`);
    }
  });
});
