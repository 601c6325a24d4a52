/**
 * When the self-managed certificates are renewed, and in which order (pure: times in, a step out).
 *
 * The order is what makes a rotation lose no admission: a serving certificate signed by a new CA
 * is issued (and so served by any replica) only once that CA has been in the caBundle for
 * `trustDelayMs`, and the old CA stays in the bundle until it expires. A serving certificate
 * from the CA already in use needs no wait: the apiserver trusts it already.
 *
 *   renewAt(notBeforeMs, notAfterMs)          2/3 of the lifetime
 *   caRenewAt(caNotAfterMs, certValidityMs)   when less than two serving lifetimes remain
 *   planRenewal(input, policy, nowMs): RenewalStep
 */

export interface RenewalPolicy {
  readonly certValidityMs: number;
  readonly caValidityMs: number;
  readonly trustDelayMs: number;
}

export interface PlanInput {
  /** The CA whose key the Secret holds; undefined when missing, unusable or expired. */
  readonly signer?: { readonly notAfterMs: number; readonly trustedSinceMs?: number };
  /** The serving certificate the Secret holds; undefined when missing or unusable. */
  readonly serving?: {
    readonly notBeforeMs: number;
    readonly notAfterMs: number;
    readonly signedBySigner: boolean;
    readonly namesMatch: boolean;
  };
}

export type RenewalStep =
  /** Nothing usable: a CA and a serving certificate at once (nothing is being served that could break). */
  | { readonly kind: 'bootstrap' }
  /** A new CA into ca.crt and the caBundle; the serving certificate stays until the CA is trusted. */
  | { readonly kind: 'stage-ca' }
  /** A new serving certificate from the signer. */
  | { readonly kind: 'issue-serving'; readonly why: 'missing' | 'due' | 'expired' | 'new-ca' | 'names' }
  /** The signer is in the caBundle but not yet for trustDelay: come back at `untilMs`. */
  | { readonly kind: 'await-trust'; readonly untilMs: number }
  | { readonly kind: 'idle'; readonly nextMs: number };

export const RENEW_FRACTION = 2 / 3;

export function renewAt(notBeforeMs: number, notAfterMs: number): number {
  return notBeforeMs + Math.floor((notAfterMs - notBeforeMs) * RENEW_FRACTION);
}

export function caRenewAt(caNotAfterMs: number, certValidityMs: number): number {
  return caNotAfterMs - 2 * certValidityMs;
}

export function planRenewal(input: PlanInput, policy: RenewalPolicy, nowMs: number): RenewalStep {
  const { signer, serving } = input;
  if (signer === undefined) return serving === undefined ? { kind: 'bootstrap' } : { kind: 'stage-ca' };
  const caDue = caRenewAt(signer.notAfterMs, policy.certValidityMs);
  if (nowMs >= caDue) return { kind: 'stage-ca' };
  if (serving === undefined) return { kind: 'issue-serving', why: 'missing' };
  if (nowMs >= serving.notAfterMs) return { kind: 'issue-serving', why: 'expired' };
  if (serving.signedBySigner) return sameCaStep(serving, caDue, nowMs);
  const trustedAt = signer.trustedSinceMs === undefined ? Infinity : signer.trustedSinceMs + policy.trustDelayMs;
  if (nowMs >= trustedAt) return { kind: 'issue-serving', why: 'new-ca' };
  return { kind: 'await-trust', untilMs: Number.isFinite(trustedAt) ? trustedAt : nowMs + policy.trustDelayMs };
}

/** The serving certificate is the signer's: the apiserver trusts a successor at once. */
function sameCaStep(serving: NonNullable<PlanInput['serving']>, caDue: number, nowMs: number): RenewalStep {
  const servingDue = renewAt(serving.notBeforeMs, serving.notAfterMs);
  if (!serving.namesMatch) return { kind: 'issue-serving', why: 'names' };
  if (nowMs >= servingDue) return { kind: 'issue-serving', why: 'due' };
  return { kind: 'idle', nextMs: Math.min(servingDue, caDue) };
}
