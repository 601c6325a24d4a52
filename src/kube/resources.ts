/**
 * The few Kubernetes resource types bucket-agent reads or writes, and the request paths for them.
 * Hand-built paths keep us off client-node's generated API classes, whose import alone costs
 * ~1.3 s and ~110 MB (see docs/startup.md).
 */
export interface ResourceType {
  /** API group; '' for the core group. */
  readonly group: string;
  readonly version: string;
  /** Lower-case plural, as in RBAC rules (`secrets`, `buckets`). */
  readonly plural: string;
  readonly kind: string;
}

export const SECRETS: ResourceType = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' };
export const EVENTS: ResourceType = { group: '', version: 'v1', plural: 'events', kind: 'Event' };
/** Served by Cozystack's aggregated API server in real clusters (a CRD stands in for it in tests). */
export const BUCKETS: ResourceType = { group: 'apps.cozystack.io', version: 'v1alpha1', plural: 'buckets', kind: 'Bucket' };
/** The webhook's replicas agree on who manages its certificate through one of these. */
export const LEASES: ResourceType = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease' };
/** Cluster-scoped: pass the namespace as '' (CLUSTER_SCOPED). */
export const MUTATING_WEBHOOK_CONFIGURATIONS: ResourceType = {
  group: 'admissionregistration.k8s.io',
  version: 'v1',
  plural: 'mutatingwebhookconfigurations',
  kind: 'MutatingWebhookConfiguration',
};
/** The `namespace` of a cluster-scoped resource's requests. */
export const CLUSTER_SCOPED = '';

/** What a request does, for paths and for error messages that name the missing permission. */
export interface ApiTarget {
  readonly verb: 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch';
  readonly resource: ResourceType;
  readonly namespace: string;
  readonly name?: string;
}

/** `secrets`, `buckets.apps.cozystack.io`: how kubectl and RBAC name a resource. */
export function resourceName(resource: ResourceType): string {
  return resource.group === '' ? resource.plural : `${resource.plural}.${resource.group}`;
}

/**
 * `/api/v1/namespaces/ns/secrets[/name]` or `/apis/<group>/<version>/namespaces/ns/<plural>[/name]`;
 * without `namespaces/ns` for a cluster-scoped resource (namespace CLUSTER_SCOPED).
 */
export function resourcePath(resource: ResourceType, namespace: string, name?: string): string {
  const root = resource.group === '' ? `/api/${resource.version}` : `/apis/${resource.group}/${resource.version}`;
  const scope = namespace === CLUSTER_SCOPED ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  const collection = `${root}${scope}/${resource.plural}`;
  return name === undefined ? collection : `${collection}/${encodeURIComponent(name)}`;
}

/** `list secrets in namespace tenant-a`, `get secrets "bucket-x" in namespace tenant-a`. */
export function describeTarget(target: ApiTarget): string {
  const name = target.name === undefined ? '' : ` "${target.name}"`;
  const scope = target.namespace === CLUSTER_SCOPED ? '' : ` in namespace ${target.namespace}`;
  return `${target.verb} ${resourceName(target.resource)}${name}${scope}`;
}
