import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { caRenewAt, planRenewal, renewAt, type PlanInput, type RenewalPolicy } from '../../../src/webhook/renewal.js';

const MIN = 60_000;
const policy: RenewalPolicy = { certValidityMs: 30 * MIN, caValidityMs: 120 * MIN, trustDelayMs: MIN };
const T0 = 1_700_000_000_000;

function input(
  opts: { caLeftMin?: number; servingAgeMin?: number; signed?: boolean; names?: boolean; trustedAgoMin?: number } = {},
): PlanInput {
  const signer =
    opts.caLeftMin === undefined
      ? undefined
      : {
          notAfterMs: T0 + opts.caLeftMin * MIN,
          trustedSinceMs: opts.trustedAgoMin === undefined ? undefined : T0 - opts.trustedAgoMin * MIN,
        };
  const serving =
    opts.servingAgeMin === undefined
      ? undefined
      : {
          notBeforeMs: T0 - opts.servingAgeMin * MIN,
          notAfterMs: T0 - opts.servingAgeMin * MIN + 30 * MIN,
          signedBySigner: opts.signed ?? true,
          namesMatch: opts.names ?? true,
        };
  return { signer, serving };
}

describe('renewal scheduling', () => {
  it('renews a serving certificate at 2/3 of its lifetime, the CA when two serving lifetimes remain', () => {
    assert.equal(renewAt(0, 90 * MIN), 60 * MIN);
    assert.equal(renewAt(T0, T0 + 3000), T0 + 2000);
    assert.equal(caRenewAt(T0 + 120 * MIN, 30 * MIN), T0 + 60 * MIN);
  });

  const cases: [string, PlanInput, object][] = [
    ['an empty Secret: CA and serving at once', input(), { kind: 'bootstrap' }],
    ['a CA but no serving certificate: issue it', input({ caLeftMin: 100 }), { kind: 'issue-serving', why: 'missing' }],
    [
      'young serving certificate: sleep until its 2/3 point',
      input({ caLeftMin: 100, servingAgeMin: 5 }),
      { kind: 'idle', nextMs: T0 + 15 * MIN },
    ],
    ['sleep until the CA is due when that comes first', input({ caLeftMin: 65, servingAgeMin: 1 }), { kind: 'idle', nextMs: T0 + 5 * MIN }],
    [
      'serving past 2/3: re-issue from the same CA, no wait',
      input({ caLeftMin: 100, servingAgeMin: 20 }),
      { kind: 'issue-serving', why: 'due' },
    ],
    ['serving expired: re-issue', input({ caLeftMin: 100, servingAgeMin: 31, signed: false }), { kind: 'issue-serving', why: 'expired' }],
    [
      'the names changed (--service, --tls-san): re-issue',
      input({ caLeftMin: 100, servingAgeMin: 1, names: false }),
      { kind: 'issue-serving', why: 'names' },
    ],
    ['CA due: stage a new one, the serving pair stays', input({ caLeftMin: 59, servingAgeMin: 1 }), { kind: 'stage-ca' }],
    ['no usable CA key but a serving pair in use: stage', input({ servingAgeMin: 1 }), { kind: 'stage-ca' }],
    [
      'new CA not yet seen trusted: wait the trust delay',
      input({ caLeftMin: 119, servingAgeMin: 1, signed: false }),
      { kind: 'await-trust', untilMs: T0 + MIN },
    ],
    [
      'new CA trusted for less than the delay: wait the rest',
      input({ caLeftMin: 119, servingAgeMin: 1, signed: false, trustedAgoMin: 0.25 }),
      { kind: 'await-trust', untilMs: T0 + 0.75 * MIN },
    ],
    [
      'new CA trusted long enough: move the serving certificate to it',
      input({ caLeftMin: 119, servingAgeMin: 1, signed: false, trustedAgoMin: 1 }),
      { kind: 'issue-serving', why: 'new-ca' },
    ],
  ];
  for (const [name, given, expected] of cases) it(name, () => assert.deepEqual(planRenewal(given, policy, T0), expected));

  it('a whole CA rotation never serves a certificate from a CA trusted for less than the delay', () => {
    // Simulate: the CA is staged at t, seen trusted at t, its serving certificate issued no sooner than t + delay.
    const staged = input({ caLeftMin: 120, servingAgeMin: 10, signed: false, trustedAgoMin: 0 });
    for (let t = 0; t < MIN; t += 5_000) assert.equal(planRenewal(staged, policy, T0 + t).kind, 'await-trust');
    assert.equal(planRenewal(staged, policy, T0 + MIN).kind, 'issue-serving');
  });
});
