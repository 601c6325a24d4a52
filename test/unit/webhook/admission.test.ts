import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BucketAgentError, EXIT } from '../../../src/errors.js';
import {
  AdmissionDecodeError,
  admissionReviewOf,
  parseAdmissionReview,
  requestFields,
  review,
  type AdmissionRequest,
  type MutateFn,
  type MutationContext,
} from '../../../src/webhook/admission.js';

/** As src/errors.ts AnnotationError: a BucketAgentError whose message names the annotation. */
class AnnotationError extends BucketAgentError {
  constructor(annotation: string, problem: string) {
    super('E_ANNOTATION', EXIT.usage, `${annotation}: ${problem}`);
  }
}

/** A stand-in for src/inject/mutate.ts: the real one is tested on its own and in the e2e. */
function double(result: 'inject' | 'none' | 'refuse' | 'bug', seen: MutationContext[] = []): MutateFn {
  return (_pod, context) => {
    seen.push(context);
    if (result === 'refuse') throw new AnnotationError('bucket-agent.io/buckets', '"Bad_Name" is not a valid Bucket name');
    if (result === 'bug') throw new TypeError('cannot read properties of undefined');
    if (result === 'none') return { patch: [], warnings: [], injected: false };
    return {
      patch: [{ op: 'add', path: '/metadata/annotations/bucket-agent.io~1status', value: 'injected' }],
      warnings: ['bucket-agent.io/colour: unknown annotation'],
      injected: true,
    };
  };
}

function podRequest(overrides: Partial<AdmissionRequest> = {}, metadata: object = { name: 'web', namespace: 'team' }): AdmissionRequest {
  return {
    uid: 'uid-1',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    namespace: 'team',
    operation: 'CREATE',
    object: { apiVersion: 'v1', kind: 'Pod', metadata, spec: { containers: [] } },
    ...overrides,
  };
}

describe('review()', () => {
  const cases: { name: string; mutate: MutateFn; request?: AdmissionRequest; expect: Record<string, unknown>; outcome: string }[] = [
    {
      name: 'an injected pod is allowed with a base64 JSONPatch and the warnings',
      mutate: double('inject'),
      outcome: 'mutated',
      expect: { uid: 'uid-1', allowed: true, patchType: 'JSONPatch', warnings: ['bucket-agent.io/colour: unknown annotation'] },
    },
    {
      name: 'bad annotations are refused with the message naming the annotation',
      mutate: double('refuse'),
      outcome: 'refused',
      expect: {
        uid: 'uid-1',
        allowed: false,
        status: { code: 400, reason: 'BadRequest', message: 'bucket-agent.io/buckets: "Bad_Name" is not a valid Bucket name' },
      },
    },
    {
      name: 'a pod with nothing to inject is allowed without a patch',
      mutate: double('none'),
      outcome: 'unchanged',
      expect: { uid: 'uid-1', allowed: true },
    },
    {
      name: 'an UPDATE is allowed untouched, the mutation not called',
      mutate: double('bug'),
      request: podRequest({ operation: 'UPDATE' }),
      outcome: 'skipped',
      expect: { uid: 'uid-1', allowed: true },
    },
    {
      name: 'a subresource (pods/ephemeralcontainers) is allowed untouched',
      mutate: double('bug'),
      request: podRequest({ subResource: 'ephemeralcontainers' }),
      outcome: 'skipped',
      expect: { uid: 'uid-1', allowed: true },
    },
    {
      name: 'not a Pod is allowed untouched',
      mutate: double('bug'),
      request: podRequest({ kind: { group: 'apps', version: 'v1', kind: 'Deployment' } }),
      outcome: 'skipped',
      expect: { uid: 'uid-1', allowed: true },
    },
    {
      name: 'a bug in the mutation is an error (HTTP 500 upstream), never a refusal with its text',
      mutate: double('bug'),
      outcome: 'error',
      expect: { uid: 'uid-1', allowed: false },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const reviewed = review(c.request ?? podRequest(), c.mutate);
      assert.equal(reviewed.outcome, c.outcome);
      const { patch, ...rest } = reviewed.response;
      assert.deepEqual(rest, c.expect);
      if (c.outcome === 'mutated') {
        assert.deepEqual(JSON.parse(Buffer.from(patch ?? '', 'base64').toString('utf8')), [
          { op: 'add', path: '/metadata/annotations/bucket-agent.io~1status', value: 'injected' },
        ]);
      } else assert.equal(patch, undefined);
    });
  }

  it('passes the controller owner kind as context (Job makes a classic sidecar init-only)', () => {
    const seen: MutationContext[] = [];
    const owners = [
      { kind: 'Workflow', name: 'w', controller: false },
      { kind: 'Job', name: 'j', controller: true },
    ];
    review(podRequest({}, { generateName: 'j-', ownerReferences: owners }), double('none', seen));
    review(podRequest({}, { ownerReferences: [{ kind: 'ReplicaSet', name: 'r' }] }), double('none', seen));
    review(podRequest(), double('none', seen));
    assert.deepEqual(seen, [{ ownerKind: 'Job' }, { ownerKind: 'ReplicaSet' }, {}]);
  });

  it('a dry-run request is reviewed the same way (there are no side effects to skip)', () => {
    assert.equal(review(podRequest({ dryRun: true }), double('inject')).outcome, 'mutated');
  });

  it('wraps the response in an AdmissionReview v1', () => {
    assert.deepEqual(admissionReviewOf({ uid: 'u', allowed: true }), {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'u', allowed: true },
    });
  });

  it('names the request for the log by uid, namespace and name (generateName marked), never the object', () => {
    assert.deepEqual(requestFields(podRequest()), { uid: 'uid-1', namespace: 'team', name: 'web' });
    assert.deepEqual(requestFields(podRequest({}, { generateName: 'web-5d8f-' })), { uid: 'uid-1', namespace: 'team', name: 'web-5d8f-*' });
  });
});

describe('parseAdmissionReview()', () => {
  const review = (request: unknown): unknown => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request });
  const bad: [string, unknown, RegExp][] = [
    ['not an object', [1, 2], /not a JSON object/],
    [
      'another kind',
      { apiVersion: 'v1', kind: 'Pod' },
      /expected kind AdmissionReview apiVersion admission.k8s.io\/v1, got kind "Pod" apiVersion "v1"/,
    ],
    [
      'v1beta1',
      { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'x' } },
      /got kind "AdmissionReview" apiVersion "admission.k8s.io\/v1beta1"/,
    ],
    ['no request', review(undefined), /has no request/],
    ['no uid', review({ operation: 'CREATE', object: {} }), /request.uid is missing/],
    ['a CREATE without an object', review({ uid: 'x', operation: 'CREATE', object: 'pod' }), /request.object is not an object/],
  ];
  for (const [name, value, message] of bad) {
    it(`refuses ${name} with a message`, () => {
      assert.throws(
        () => parseAdmissionReview(value),
        (err: unknown) => err instanceof AdmissionDecodeError && message.test(err.message),
      );
    });
  }

  it('takes a well-formed review', () => {
    assert.equal(parseAdmissionReview(review({ uid: 'x', operation: 'CREATE', object: {} })).uid, 'x');
  });
});
