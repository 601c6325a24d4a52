/**
 * Leader election over one coordination.k8s.io/v1 Lease, as client-go's leaderelection does it:
 * every `retryMs` the candidate reads the Lease and creates, renews or takes it over, always
 * with the resourceVersion it read, so two candidates never both win. A Lease held by another is
 * taken only after it went unrenewed for `leaseDurationMs` as measured on this replica's clock
 * (from when its record was last seen to change), so no two clocks are compared. The holder that
 * cannot renew within `renewDeadlineMs` steps down; on stop it releases the Lease (holder '').
 */
import { KubeApiError } from '../kube/errors.js';
import type { KubeClient } from '../kube/client.js';
import { createLease, getLease, microTime, updateLease, type Lease } from '../kube/lease.js';
import type { Logger } from '../log.js';

export const DEFAULT_LEASE_DURATION_MS = 15_000;
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_RETRY_MS = 2_000;

export interface LeaseElectorOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly log: Logger;
  onChange(held: boolean): void;
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryMs?: number;
}

export class LeaseElector {
  private readonly options: LeaseElectorOptions;
  private readonly durationMs: number;
  private holding = false;
  private lastRenewAt = 0;
  private observed = { record: '', at: 0 };
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();

  constructor(options: LeaseElectorOptions) {
    this.options = options;
    this.durationMs = options.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS;
  }

  get held(): boolean {
    return this.holding;
  }

  start(): void {
    this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    if (this.holding) await this.release();
  }

  private tick(): void {
    if (this.stopped) return;
    this.running = this.attempt().finally(() => {
      if (!this.stopped) this.timer = setTimeout(() => this.tick(), this.options.retryMs ?? DEFAULT_RETRY_MS);
    });
  }

  private async attempt(): Promise<void> {
    try {
      this.set(await this.tryAcquireOrRenew());
    } catch (err) {
      const conflict = err instanceof KubeApiError && err.status === 409;
      if (!conflict)
        this.options.log.warn(`lease ${this.options.namespace}/${this.options.name}: ${err instanceof Error ? err.message : 'failed'}`);
      if (this.holding && performance.now() - this.lastRenewAt > (this.options.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS))
        this.set(false);
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity } = this.options;
    const now = Date.now();
    const spec = { holderIdentity: identity, leaseDurationSeconds: Math.ceil(this.durationMs / 1000), renewTime: microTime(now) };
    const lease = await getLease(client, namespace, name);
    if (lease === undefined) {
      await createLease(client, namespace, name, { ...spec, acquireTime: microTime(now), leaseTransitions: 0 });
      return this.renewed();
    }
    const current = lease.spec ?? {};
    if (current.holderIdentity === identity) {
      await updateLease(client, lease, { ...current, ...spec });
      return this.renewed();
    }
    if (!this.expired(lease)) return false;
    await updateLease(client, lease, { ...spec, acquireTime: microTime(now), leaseTransitions: (current.leaseTransitions ?? 0) + 1 });
    return this.renewed();
  }

  /** Another's lease: free when released, or unchanged for its duration by our clock. */
  private expired(lease: Lease): boolean {
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder === '') return true;
    const record = `${holder}|${lease.spec?.renewTime ?? ''}`;
    const now = performance.now();
    if (record !== this.observed.record) this.observed = { record, at: now };
    const durationMs = (lease.spec?.leaseDurationSeconds ?? this.durationMs / 1000) * 1000;
    return now - this.observed.at > durationMs;
  }

  private renewed(): boolean {
    this.lastRenewAt = performance.now();
    return true;
  }

  private set(held: boolean): void {
    if (held === this.holding) return;
    this.holding = held;
    this.options.log.info(
      { lease: `${this.options.namespace}/${this.options.name}`, identity: this.options.identity },
      held ? 'lease acquired: managing the certificate' : 'lease lost: following the Secret',
    );
    this.options.onChange(held);
  }

  private async release(): Promise<void> {
    try {
      const lease = await getLease(this.options.client, this.options.namespace, this.options.name);
      if (lease?.spec?.holderIdentity === this.options.identity) {
        await updateLease(this.options.client, lease, {
          ...lease.spec,
          holderIdentity: '',
          leaseDurationSeconds: 1,
          renewTime: microTime(Date.now()),
        });
      }
    } catch (err) {
      this.options.log.warn(
        `releasing the lease failed (another replica takes it once it expires): ${err instanceof Error ? err.message : 'failed'}`,
      );
    }
    this.set(false);
  }
}
