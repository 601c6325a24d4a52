/**
 * The namespace a backup journey saves and brings back: the kinds of objects an application
 * namespace holds (configuration, a Secret, a ServiceAccount with a Role, a Service, a
 * Deployment), each with data that must survive the round trip byte for byte.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ApiException, AppsV1Api, CoreV1Api, RbacAuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { waitUntil } from '../env/process.js';

const LABELS = { app: 'shop' };
const CONFIG = { 'greeting.txt': 'hello\nworld\n', 'settings.json': JSON.stringify({ replicas: 3, tags: ['a', 'b'] }) };
const BINARY = { 'logo.bin': randomBytes(64).toString('base64') };
const SECRET = { password: randomBytes(24).toString('base64'), 'tls.key': randomBytes(48).toString('base64') };
const IMAGE = 'registry.invalid/shop:1.2.3';

export async function createWorkload(kc: KubeConfig, namespace: string): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'shop-config', labels: LABELS }, data: CONFIG } });
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'shop-assets' }, binaryData: BINARY } });
  await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'shop-db' }, type: 'Opaque', data: SECRET } });
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'shop', labels: LABELS } } });
  await rbac.createNamespacedRole({
    namespace,
    body: { metadata: { name: 'shop-reader' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }] },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'shop-reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'shop-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'shop', namespace }],
    },
  });
  await core.createNamespacedService({
    namespace,
    body: { metadata: { name: 'shop', labels: LABELS }, spec: { selector: LABELS, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
  });
  await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: 'shop', labels: LABELS },
      spec: {
        replicas: 2,
        selector: { matchLabels: LABELS },
        template: {
          metadata: { labels: LABELS },
          spec: {
            serviceAccountName: 'shop',
            containers: [
              { name: 'shop', image: IMAGE, envFrom: [{ configMapRef: { name: 'shop-config' } }, { secretRef: { name: 'shop-db' } }] },
            ],
          },
        },
      },
    },
  });
}

/** Deletes the namespace and waits until it is gone (its contents finalized by the namespace controller). */
export async function deleteNamespace(kc: KubeConfig, name: string): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.deleteNamespace({ name });
  await waitUntil(
    async () => {
      try {
        await core.readNamespace({ name });
        return false;
      } catch (err) {
        return err instanceof ApiException && err.code === 404;
      }
    },
    180_000,
    () => `namespace ${name} still exists`,
    500,
  );
}

export async function assertRestored(kc: KubeConfig, namespace: string): Promise<void> {
  await assertConfiguration(kc.makeApiClient(CoreV1Api), namespace);
  await assertAccess(kc, namespace);
  await assertService(kc.makeApiClient(CoreV1Api), namespace);
  await assertDeployment(kc.makeApiClient(AppsV1Api), namespace);
}

async function assertConfiguration(core: CoreV1Api, namespace: string): Promise<void> {
  const config = await core.readNamespacedConfigMap({ namespace, name: 'shop-config' });
  assert.deepEqual(config.data, CONFIG, 'ConfigMap data');
  assert.equal(config.metadata?.labels?.app, 'shop', 'ConfigMap labels');
  assert.deepEqual((await core.readNamespacedConfigMap({ namespace, name: 'shop-assets' })).binaryData, BINARY, 'ConfigMap binaryData');
  const secret = await core.readNamespacedSecret({ namespace, name: 'shop-db' });
  assert.deepEqual(secret.data, SECRET, 'Secret data');
  assert.equal(secret.type, 'Opaque');
}

async function assertAccess(kc: KubeConfig, namespace: string): Promise<void> {
  const account = await kc.makeApiClient(CoreV1Api).readNamespacedServiceAccount({ namespace, name: 'shop' });
  assert.equal(account.metadata?.labels?.app, 'shop', 'ServiceAccount labels');
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  assert.deepEqual((await rbac.readNamespacedRole({ namespace, name: 'shop-reader' })).rules?.[0]?.resources, ['configmaps'], 'Role rules');
  assert.equal((await rbac.readNamespacedRoleBinding({ namespace, name: 'shop-reader' })).subjects?.[0]?.name, 'shop', 'RoleBinding');
}

async function assertService(core: CoreV1Api, namespace: string): Promise<void> {
  const service = await core.readNamespacedService({ namespace, name: 'shop' });
  const ports = service.spec?.ports?.map((p) => [p.name, p.port, p.targetPort]);
  assert.deepEqual(ports, [['http', 80, 8080]], 'Service ports');
  assert.deepEqual(service.spec?.selector, LABELS, 'Service selector');
}

async function assertDeployment(apps: AppsV1Api, namespace: string): Promise<void> {
  const deployment = await apps.readNamespacedDeployment({ namespace, name: 'shop' });
  assert.equal(deployment.spec?.replicas, 2, 'Deployment replicas');
  const pod = deployment.spec?.template.spec;
  assert.equal(pod?.serviceAccountName, 'shop');
  assert.equal(pod?.containers[0]?.image, IMAGE, 'Deployment image');
  const envFrom = pod?.containers[0]?.envFrom?.map((e) => e.configMapRef?.name ?? e.secretRef?.name);
  assert.deepEqual(envFrom, ['shop-config', 'shop-db'], 'Deployment envFrom');
}
