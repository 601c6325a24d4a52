import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { chooseCandidate, secretCandidates, type CandidateState } from '../../src/credentials/index.js';
import { forgetSecrets, redactSecrets, rememberSecrets } from '../../src/redact.js';

describe('redactSecrets', () => {
  beforeEach(() => forgetSecrets());

  const cases: { name: string; remember: string[]; text: string; expected: string }[] = [
    {
      name: 'a remembered key anywhere',
      remember: ['AKIAABCDEFGHIJKLMNOP'],
      text: 'bucket AKIAABCDEFGHIJKLMNOP at x',
      expected: 'bucket [redacted] at x',
    },
    { name: 'every occurrence', remember: ['secretsecret'], text: 'secretsecret/secretsecret', expected: '[redacted]/[redacted]' },
    {
      name: 'the JSON-escaped spelling',
      remember: ['ab"cd\\efgh'],
      text: '{"msg":"x ab\\"cd\\\\efgh"}',
      expected: '{"msg":"x [redacted]"}',
    },
    {
      name: 'a key with a stray newline, as the key itself',
      remember: ['AKIAABCDEFGH\n'],
      text: 'S3 bucket AKIAABCDEFGH',
      expected: 'S3 bucket [redacted]',
    },
    {
      name: 'the longer of two overlapping keys whole',
      remember: ['abcdefgh', 'abcdefghijkl'],
      text: 'abcdefghijkl',
      expected: '[redacted]',
    },
    {
      name: 'short values are not masked (they would blank ordinary words)',
      remember: ['short'],
      text: 'a short word',
      expected: 'a short word',
    },
    { name: 'nothing remembered, nothing changed', remember: [], text: 'plain', expected: 'plain' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      rememberSecrets(c.remember);
      assert.equal(redactSecrets(c.text), c.expected);
    });
  }

  it('keeps a bounded number of values, dropping the oldest', () => {
    for (let i = 0; i < 400; i++) rememberSecrets([`key-${String(i).padStart(8, '0')}`]);
    assert.equal(redactSecrets('key-00000000'), 'key-00000000', 'the oldest is forgotten');
    assert.equal(redactSecrets('key-00000399'), '[redacted]');
  });
});

describe('secretCandidates (DESIGN.md order)', () => {
  it('without a user', () => assert.deepEqual(secretCandidates('x', undefined), ['bucket-x', 'bucket-x-credentials']));
  it('with a user', () => assert.deepEqual(secretCandidates('x', 'u'), ['bucket-x-u', 'bucket-x', 'bucket-x-u-credentials']));
});

describe('chooseCandidate', () => {
  const U: CandidateState<string> = { kind: 'unknown' };
  const A: CandidateState<string> = { kind: 'absent' };
  const D: CandidateState<string> = { kind: 'unreadable' };
  const P: CandidateState<string> = { kind: 'present', secret: 's' };
  const table: { states: CandidateState<string>[]; expected: ReturnType<typeof chooseCandidate> }[] = [
    { states: [P, U, U], expected: { kind: 'chosen', index: 0 } },
    { states: [U, P, U], expected: { kind: 'wait' } },
    { states: [A, P, U], expected: { kind: 'chosen', index: 1 } },
    { states: [A, A, U], expected: { kind: 'wait' } },
    { states: [A, A, A], expected: { kind: 'none', denied: false } },
    // Per-user access granted by resourceNames: the shared candidate is denied, not fatal.
    { states: [A, D, A], expected: { kind: 'none', denied: false } },
    { states: [U, D, U], expected: { kind: 'wait' } },
    { states: [D, D, P], expected: { kind: 'chosen', index: 2 } },
    { states: [D, D, D], expected: { kind: 'none', denied: true } },
    { states: [P, D, D], expected: { kind: 'chosen', index: 0 } },
    { states: [], expected: { kind: 'none', denied: false } },
  ];
  for (const row of table) {
    it(`${row.states.map((s) => s.kind).join(',') || '(none)'} -> ${JSON.stringify(row.expected)}`, () =>
      assert.deepEqual(chooseCandidate(row.states), row.expected));
  }
});
