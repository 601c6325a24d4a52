/** The review bench/webhook sends (and the webhook e2e reuses): a realistic pod, ~3.5 KB. */

/** A Deployment's pod as the apiserver sends it to a mutating webhook (defaults applied, no status). */
export function realisticReview(): object {
  const env = (prefix: string): object[] =>
    ['LOG_LEVEL', 'HTTP_PORT', 'DB_HOST', 'DB_NAME', 'FEATURE_FLAGS', 'TZ'].map((name, i) => ({
      name: `${prefix}${name}`,
      value: `value-${i}-${prefix}`,
    }));
  const container = (name: string, image: string, port: number): object => ({
    name,
    image,
    ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }],
    env: [...env(''), { name: 'POD_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } }],
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
    readinessProbe: {
      httpGet: { path: '/ready', port, scheme: 'HTTP' },
      periodSeconds: 10,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
    },
    volumeMounts: [{ name: 'kube-api-access-x7k2p', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }],
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: 'IfNotPresent',
  });
  const pod = {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: {
      generateName: 'web-7d9f8c6b5-',
      namespace: 'team-a',
      labels: { app: 'web', 'pod-template-hash': '7d9f8c6b5', 'bucket-agent.io/inject': 'true' },
      annotations: { 'bucket-agent.io/buckets': 'media,backups=archive', 'bucket-agent.io/formats': 'aws,env,rclone' },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'web-7d9f8c6b5',
          uid: '3f1c2b9e-5a1d-4c7e-9b8a-2d6e4f1a0c3b',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      volumes: [
        {
          name: 'kube-api-access-x7k2p',
          projected: {
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
              { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
            ],
            defaultMode: 420,
          },
        },
      ],
      containers: [
        container('web', 'registry.example.org/team-a/web:1.4.2', 8080),
        container('worker', 'registry.example.org/team-a/worker:1.4.2', 9090),
      ],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: 'web',
      serviceAccount: 'web',
      securityContext: { runAsNonRoot: true, fsGroup: 2000 },
      schedulerName: 'default-scheduler',
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
    },
  };
  return {
    kind: 'AdmissionReview',
    apiVersion: 'admission.k8s.io/v1',
    request: {
      uid: '0d5b1c2a-7f3e-4b6d-9a8c-1e2f3a4b5c6d',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'team-a',
      operation: 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:kube-system:replicaset-controller',
        uid: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
      },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    },
  };
}
