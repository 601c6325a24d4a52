import { oneLine } from './values.js';

/**
 * What bucket-agent reads from a Cozystack `Bucket` (apps.cozystack.io/v1alpha1): its `Ready`
 * condition. Ready=True means Helm applied the release, not that keys exist; the Secret is the
 * only proof of provisioning (DESIGN.md "Provisioning signals").
 */
export interface ReadyCondition {
  /** `True`, `False` or `Unknown`. */
  readonly status: string;
  readonly reason: string | undefined;
  readonly message: string | undefined;
  readonly lastTransitionTime: string | undefined;
}

interface Condition {
  readonly type?: unknown;
  readonly status?: unknown;
  readonly reason?: unknown;
  readonly message?: unknown;
  readonly lastTransitionTime?: unknown;
}

/** The Bucket's `Ready` condition, or undefined when it has none (yet). */
export function readyConditionOf(bucket: unknown): ReadyCondition | undefined {
  const conditions = (bucket as { status?: { conditions?: unknown } } | undefined)?.status?.conditions;
  if (!Array.isArray(conditions)) return undefined;
  const ready = (conditions as Condition[]).find((c) => c !== null && typeof c === 'object' && c.type === 'Ready');
  if (ready === undefined) return undefined;
  return {
    status: text(ready.status) ?? 'Unknown',
    reason: text(ready.reason),
    message: text(ready.message),
    lastTransitionTime: text(ready.lastTransitionTime),
  };
}

/**
 * Reasons that mean "not done yet" rather than "failed": Flux's HelmRelease (which Cozystack's
 * Ready mirrors) reports Progressing/Reconciling while it works, and platforms use the others.
 */
export const IN_PROGRESS_REASONS: ReadonlySet<string> = new Set([
  'Progressing',
  'Provisioning',
  'Reconciling',
  'Pending',
  'Installing',
  'Creating',
  'DependencyNotReady',
]);

/**
 * Ready=False with a reason that is not a known in-progress one (InstallFailed, UpgradeFailed, ...):
 * the platform says provisioning failed. It may still recover, so it is reported, not fatal.
 */
export function isFailed(condition: ReadyCondition | undefined): boolean {
  return condition?.status === 'False' && condition.reason !== undefined && !IN_PROGRESS_REASONS.has(condition.reason);
}

/** `Ready=False (InstallFailed)`, `Ready=True`, `no Ready condition yet`. */
export function describeReady(condition: ReadyCondition | undefined): string {
  if (condition === undefined) return 'no Ready condition yet';
  return `Ready=${condition.status}${condition.reason === undefined ? '' : ` (${condition.reason})`}`;
}

function text(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  return oneLine(value, 300);
}
