/**
 * Which Secret a bucket's credentials come from (DESIGN.md "Where credentials come from"): the
 * candidate names in lookup order, and the choice among them from what is known of each. Pure, so
 * init's waiter and the sidecar choose the same way and the rules are tested with plain tables.
 */

/** Secret names for Bucket `name` (and user), in lookup order. */
export function secretCandidates(name: string, user: string | undefined): string[] {
  if (user === undefined) return [`bucket-${name}`, `bucket-${name}-credentials`];
  return [`bucket-${name}-${user}`, `bucket-${name}`, `bucket-${name}-${user}-credentials`];
}

/**
 * What is known of one candidate:
 * - `unknown`: not read yet;
 * - `absent`: read, it does not exist (now);
 * - `unreadable`: access denied or not served — for a Role that grants only some candidates by
 *   `resourceNames` (per-user access) this is the normal case, so it counts as absent;
 * - `present`: it exists (whether its payload is usable is the caller's concern).
 */
export type CandidateState<T> =
  | { readonly kind: 'unknown' }
  | { readonly kind: 'absent' }
  | { readonly kind: 'unreadable' }
  | { readonly kind: 'present'; readonly secret: T };

export type CandidateChoice =
  /** A candidate earlier in the order than any present one is not known yet: wait for it. */
  | { readonly kind: 'wait' }
  /** The first present candidate, every earlier one being absent or unreadable. */
  | { readonly kind: 'chosen'; readonly index: number }
  /** None is present. `denied`: every candidate is unreadable, so waiting cannot help. */
  | { readonly kind: 'none'; readonly denied: boolean };

/**
 * The first present candidate once every candidate before it is known not to be there: when the
 * first one exists (the common case) the others need not be waited for.
 */
export function chooseCandidate<T>(states: readonly CandidateState<T>[]): CandidateChoice {
  const index = states.findIndex((state) => state.kind === 'unknown' || state.kind === 'present');
  if (index === -1) return { kind: 'none', denied: states.length > 0 && states.every((state) => state.kind === 'unreadable') };
  return states[index]?.kind === 'present' ? { kind: 'chosen', index } : { kind: 'wait' };
}
