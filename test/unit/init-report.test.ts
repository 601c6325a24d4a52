import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, progressLine, timeoutSummary, waitingMessage, type BucketView } from '../../src/runtime/init-report.js';

const VIEW: BucketView = {
  name: 'x',
  namespace: 'tenant-a',
  candidates: ['bucket-x', 'bucket-x-credentials'],
  bucket: { kind: 'unknown' },
  secret: undefined,
  problem: undefined,
  trouble: undefined,
  denied: [],
};
const FAILED = { status: 'False', reason: 'InstallFailed', message: 'helm: quota exceeded', lastTransitionTime: '2025-01-02T03:04:05Z' };

describe('formatDuration', () => {
  const cases: [number, string][] = [
    [800, '0.8s'],
    [1_500, '1.5s'],
    [3_000, '3s'],
    [45_000, '45s'],
    [130_000, '2m10s'],
    [600_000, '10m0s'],
    [3_723_000, '1h2m3s'],
  ];
  for (const [ms, text] of cases) it(`${ms} -> ${text}`, () => assert.equal(formatDuration(ms), text));
});

describe('progressLine', () => {
  const cases: [Partial<BucketView>, string][] = [
    [
      { bucket: { kind: 'present', ready: FAILED } },
      'waiting for Secret bucket-x (or bucket-x-credentials) in tenant-a: Bucket Ready=False (InstallFailed) for 2m10s',
    ],
    [{ bucket: { kind: 'absent' } }, 'waiting for Secret bucket-x (or bucket-x-credentials) in tenant-a: Bucket x not found for 2m10s'],
    [
      { bucket: { kind: 'present', ready: undefined } },
      'waiting for Secret bucket-x (or bucket-x-credentials) in tenant-a: Bucket no Ready condition yet for 2m10s',
    ],
    [
      { bucket: { kind: 'unreadable', why: 'denied' } },
      'waiting for Secret bucket-x (or bucket-x-credentials) in tenant-a: Bucket status not readable, watching the Secret alone for 2m10s',
    ],
    [
      {
        bucket: { kind: 'absent' },
        candidates: ['bucket-x-u', 'bucket-x', 'bucket-x-u-credentials'],
        problem: 'data.BucketInfo: is not valid JSON',
      },
      'waiting for Secret bucket-x-u (or bucket-x, bucket-x-u-credentials) in tenant-a: Bucket x not found; the Secret is there but cannot be used: data.BucketInfo: is not valid JSON for 2m10s',
    ],
  ];
  for (const [view, line] of cases) it(line, () => assert.equal(progressLine({ ...VIEW, ...view }, 130_000), line));

  it('the Event message is the same without the duration', () => {
    assert.equal(
      waitingMessage({ ...VIEW, bucket: { kind: 'absent' } }),
      'waiting for Secret bucket-x (or bucket-x-credentials) in tenant-a: Bucket x not found',
    );
  });
});

describe('timeoutSummary', () => {
  it('one paragraph: what was seen per bucket, and the ready ones', () => {
    const summary = timeoutSummary(
      [
        { ...VIEW, bucket: { kind: 'present', ready: FAILED } },
        { ...VIEW, name: 'y', candidates: ['bucket-y'], bucket: { kind: 'absent' } },
        {
          ...VIEW,
          name: 'z',
          bucket: { kind: 'present', ready: { status: 'True', reason: 'Provisioned', message: undefined, lastTransitionTime: undefined } },
          secret: 'bucket-z',
        },
      ],
      600_000,
    );
    assert.equal(
      summary,
      'timed out after 10m0s waiting for the credentials of 2 of 3 bucket(s). ' +
        'Bucket x in namespace tenant-a: the platform reports Ready=False (InstallFailed): helm: quota exceeded since 2025-01-02T03:04:05Z; none of the Secrets bucket-x, bucket-x-credentials appeared. ' +
        'Bucket y in namespace tenant-a: no such Bucket object; none of the Secrets bucket-y appeared (check the name and namespace). ' +
        'Ready: z (Secret bucket-z); nothing was written, all buckets or none.',
    );
    assert.ok(!summary.includes('\n'));
  });

  it('names an unusable Secret and apiserver trouble', () => {
    const summary = timeoutSummary(
      [
        {
          ...VIEW,
          bucket: { kind: 'unreadable', why: 'access to Buckets is denied' },
          problem: 'data.accessKey: is missing',
          trouble: 'ECONNREFUSED',
        },
      ],
      5_000,
    );
    assert.match(
      summary,
      /its status could not be read \(access to Buckets is denied\), so only the Secret was watched\. A Secret exists but cannot be used: data\.accessKey: is missing\. Last apiserver error: ECONNREFUSED\./,
    );
  });

  it('Ready=True without a Secret says the platform has not written it', () => {
    const ready = { status: 'True', reason: undefined, message: undefined, lastTransitionTime: undefined };
    assert.match(
      timeoutSummary([{ ...VIEW, bucket: { kind: 'present', ready } }], 5_000),
      /Ready=True \(installed\), but the platform has not written its credentials/,
    );
  });
});
