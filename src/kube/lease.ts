/**
 * coordination.k8s.io/v1 Leases, read and written with their resourceVersion: two candidates
 * that race for one get a 409 for the slower, never both the lease.
 *
 *   getLease(client, ns, name): Lease | undefined      (404 -> undefined)
 *   createLease(client, ns, name, spec): Lease         (409 when another was first)
 *   updateLease(client, lease, spec): Lease            (409 when it changed since it was read)
 */
import type { KubeClient } from './client.js';
import { KubeApiError } from './errors.js';
import { LEASES } from './resources.js';

export interface LeaseSpec {
  readonly holderIdentity?: string;
  readonly leaseDurationSeconds?: number;
  /** RFC 3339 with microseconds (metav1.MicroTime), e.g. `2025-01-01T00:00:00.000000Z`. */
  readonly acquireTime?: string;
  readonly renewTime?: string;
  readonly leaseTransitions?: number;
}

export interface Lease {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly resourceVersion?: string };
  readonly spec?: LeaseSpec;
}

export async function getLease(client: KubeClient, namespace: string, name: string): Promise<Lease | undefined> {
  try {
    return await client.get<Lease>(LEASES, namespace, name);
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) return undefined;
    throw err;
  }
}

export function createLease(client: KubeClient, namespace: string, name: string, spec: LeaseSpec): Promise<Lease> {
  return client.create<Lease>(LEASES, namespace, {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace },
    spec,
  });
}

export function updateLease(client: KubeClient, lease: Lease, spec: LeaseSpec): Promise<Lease> {
  const namespace = lease.metadata.namespace ?? '';
  return client.update<Lease>(
    LEASES,
    { namespace, name: lease.metadata.name },
    {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: lease.metadata.name, namespace, resourceVersion: lease.metadata.resourceVersion },
      spec,
    },
  );
}

/** metav1.MicroTime: Go parses RFC 3339 with up to 9 fractional digits; it writes 6. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
