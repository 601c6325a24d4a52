import { join } from 'node:path';
import { ApiException, CoreV1Api, RbacAuthorizationV1Api, type KubeConfig, type V1PolicyRule } from '@kubernetes/client-node';
import { writeKubeconfig } from './kube-config.js';

/** Ignores 409 AlreadyExists, so setup helpers can be called twice with the same names. */
async function createIfMissing(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (err) {
    if (err instanceof ApiException && err.code === 409) return;
    throw err;
  }
}

/**
 * Creates a namespace and its `default` ServiceAccount. The test control plane runs
 * kube-controller-manager, whose serviceaccount controller normally creates `default`, only on
 * request (and even then a pod may come before it); without `default` the ServiceAccount admission
 * plugin (kept on so pods look as they do in a real cluster, with the projected token volume)
 * rejects every pod that does not name an existing ServiceAccount.
 */
export async function ensureNamespace(admin: KubeConfig, name: string): Promise<void> {
  const core = admin.makeApiClient(CoreV1Api);
  await createIfMissing(() => core.createNamespace({ body: { metadata: { name } } }));
  await createIfMissing(() => core.createNamespacedServiceAccount({ namespace: name, body: { metadata: { name: 'default' } } }));
}

export interface ServiceAccountRequest {
  namespace: string;
  name: string;
  rules: readonly V1PolicyRule[];
  server: string;
  caPem: string;
  /** Directory the kubeconfig file is written to. */
  dir: string;
  /** Token lifetime; the apiserver enforces a minimum of 600 s. */
  expirationSeconds?: number;
}

async function grant(admin: KubeConfig, req: ServiceAccountRequest): Promise<void> {
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  const { namespace, name } = req;
  const role = { metadata: { name, namespace }, rules: [...req.rules] };
  // Replace on conflict: a second call with other rules must not keep the old grant.
  try {
    await rbac.createNamespacedRole({ namespace, body: role });
  } catch (err) {
    if (!(err instanceof ApiException && err.code === 409)) throw err;
    await rbac.replaceNamespacedRole({ name, namespace, body: role });
  }
  await createIfMissing(() =>
    rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name, namespace },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: [{ kind: 'ServiceAccount', name, namespace }],
      },
    }),
  );
}

/**
 * ServiceAccount + Role + RoleBinding, then a kubeconfig carrying a bound token from the
 * TokenRequest API: the same kind of token the kubelet projects into a pod.
 */
export async function createServiceAccountKubeconfig(admin: KubeConfig, req: ServiceAccountRequest): Promise<string> {
  const core = admin.makeApiClient(CoreV1Api);
  const { namespace, name } = req;
  await ensureNamespace(admin, namespace);
  await createIfMissing(() => core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } }));
  // No rules: no Role of ours; whatever RoleBindings the account has (an example's own) apply.
  if (req.rules.length > 0) await grant(admin, req);
  const tokenRequest = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: req.expirationSeconds ?? 3600 } },
  });
  const token = tokenRequest.status?.token;
  if (token === undefined || token === '') throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  return writeKubeconfig(join(req.dir, `kubeconfig-sa-${namespace}-${name}.json`), {
    server: req.server,
    caPem: req.caPem,
    credentials: { token },
    name: `${namespace}-${name}`,
    namespace,
  });
}
