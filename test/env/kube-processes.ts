import { request } from 'node:https';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, startProcess, waitUntil, type ManagedProcess } from './process.js';
import { toolPath } from './tools.js';
import type { KeyPair } from './kube-pki.js';

/** Files and ports the apiserver is started with; kept so a restart reuses all of them. */
export interface ApiserverConfig {
  port: number;
  etcdUrl: string;
  ca: KeyPair;
  serving: KeyPair;
  /** Client certificate used for the readiness probe (the admin). */
  probeClient: KeyPair;
  signingKeyFile: string;
  verifyKeyFile: string;
  logDir: string;
  /** See ControlPlaneOptions.fastCompaction: Secrets watched straight from storage. */
  fastCompaction?: boolean;
}

const START_TIMEOUT_MS = 60_000;

// Matches what kubeadm clusters use, so tokens carry the issuer a pod would see.
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Resolves when `probe` passes; rejects at once, with the log tail, if the process dies first. */
async function waitReady(proc: ManagedProcess, probe: () => Promise<boolean>, what: string): Promise<void> {
  let exited = false;
  const died = proc.exited.then((code) => {
    exited = true;
    throw new Error(`${proc.name} exited (code ${String(code)}) before it was ready:\n${proc.tail()}`);
  });
  // A dead process also ends the polling, so a failed start does not wait out the timeout.
  const ready = waitUntil(
    async () => exited || (await probe()),
    START_TIMEOUT_MS,
    () => `${what} not ready; last log lines:\n${proc.tail()}`,
  );
  await Promise.race([ready, died]);
}

/** kine serving the etcd v3 API from a SQLite file; the apiserver's only storage. */
export async function startKine(
  dataDir: string,
  logDir: string,
  fastCompaction = false,
): Promise<{ proc: ManagedProcess; etcdUrl: string }> {
  const port = await freePort();
  const proc = startProcess({
    name: 'kine',
    command: toolPath('kine'),
    args: [
      `--listen-address=127.0.0.1:${port}`,
      `--endpoint=sqlite://${join(dataDir, 'state.db')}?_journal=WAL&cache=shared&_busy_timeout=30000`,
      '--metrics-bind-address=0', // its default :8080 would collide between parallel runs
      // Every second, all but the newest revision: any resourceVersion older than the last write expires.
      ...(fastCompaction ? ['--compact-interval=1s', '--compact-min-retain=1'] : []),
    ],
    logDir,
  });
  await waitReady(proc, () => tcpOpen(port), `kine on port ${port}`);
  return { proc, etcdUrl: `http://127.0.0.1:${port}` };
}

/** Flags of a single-node apiserver; each one that differs from the defaults says why. */
export function apiserverArgs(c: ApiserverConfig): string[] {
  return [
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${c.port}`,
    `--etcd-servers=${c.etcdUrl}`,
    `--tls-cert-file=${c.serving.certFile}`,
    `--tls-private-key-file=${c.serving.keyFile}`,
    `--client-ca-file=${c.ca.certFile}`,
    // RBAC as in every real cluster: the tests rely on 403s for what a ServiceAccount may not do.
    '--authorization-mode=RBAC',
    // TokenRequest (bound tokens) needs an issuer and a signing key.
    `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
    `--service-account-signing-key-file=${c.signingKeyFile}`,
    `--service-account-key-file=${c.verifyKeyFile}`,
    '--service-cluster-ip-range=10.96.0.0/16',
    // The lease reconciler refuses a loopback advertise address (it would publish 127.0.0.1 as the
    // `kubernetes` Service endpoint); nothing in-cluster needs that endpoint here.
    '--endpoint-reconciler-type=none',
    // Default plugin set (it already includes MutatingAdmissionWebhook and ServiceAccount). The
    // `default` ServiceAccount that ServiceAccount admission requires is created by
    // ensureNamespace(), standing in for kube-controller-manager, which runs only on request.
    '--enable-admission-plugins=MutatingAdmissionWebhook,ValidatingAdmissionWebhook',
    '--profiling=false',
    // No watch cache for Secrets: their watches go to kine, whose compaction then expires them (410).
    ...(c.fastCompaction === true ? ['--watch-cache-sizes=secrets#0'] : []),
  ];
}

/** Whether an admin GET of `path` on the apiserver itself answers 200. */
function adminGetOk(c: ApiserverConfig, path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: c.port,
        path,
        ca: c.ca.certPem,
        cert: c.probeClient.certPem,
        key: c.probeClient.keyPem,
        agent: false,
        timeout: 2000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.once('error', () => resolve(false));
    req.once('timeout', () => req.destroy());
    req.end();
  });
}

/** Starts kube-apiserver and resolves once /readyz answers 200 (all post-start hooks done). */
export async function startApiserver(c: ApiserverConfig): Promise<ManagedProcess> {
  const proc = startProcess({
    name: 'kube-apiserver',
    command: toolPath('kube-apiserver'),
    args: apiserverArgs(c),
    logDir: c.logDir,
    // Webhooks are called on 127.0.0.1; a proxy inherited from the environment must not catch them.
    env: { ...process.env, NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost' },
  });
  await waitReady(proc, () => adminGetOk(c, '/readyz'), `kube-apiserver on port ${c.port}`);
  return proc;
}

/**
 * Controllers kube-controller-manager runs when a test asks for controllers without naming them:
 * what makes a Deployment's ReplicaSet and Pods, a Job's (and a CronJob's) Pods, and the `default`
 * ServiceAccount of every namespace appear. No scheduler or kubelet runs, so those Pods stay Pending.
 */
export const DEFAULT_CONTROLLERS: readonly string[] = [
  'deployment-controller',
  'replicaset-controller',
  'job-controller',
  'cronjob-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
];

/** Always run: the `default` ServiceAccount it creates in kube-system is the readiness signal. */
const READINESS_CONTROLLER = 'serviceaccount-controller';

export interface ControllerManagerConfig {
  /** The apiserver it talks to (directly, not through the test connection proxy). */
  apiserver: ApiserverConfig;
  /** Kubeconfig with a client certificate of `system:kube-controller-manager`. */
  kubeconfigFile: string;
  controllers: readonly string[];
  logDir: string;
}

/** The controller list kube-controller-manager is actually started with. */
export function controllerList(requested: readonly string[]): string[] {
  return [...new Set([...requested, READINESS_CONTROLLER])];
}

/** Flags of kube-controller-manager next to the test apiserver; each one says why. */
export function controllerManagerArgs(c: ControllerManagerConfig): string[] {
  return [
    `--kubeconfig=${c.kubeconfigFile}`,
    `--controllers=${controllerList(c.controllers).join(',')}`,
    // One instance per environment: no Lease to take first (that would also delay the start).
    '--leader-elect=false',
    // As kubeadm runs it: each controller acts as its own kube-system ServiceAccount (token from
    // the TokenRequest API) with the bootstrap system:controller:<name> role. The
    // system:kube-controller-manager user alone may not create ReplicaSets or Pods.
    '--use-service-account-credentials=true',
    // No /healthz or /metrics listener: readiness is observed through the API, and parallel runs
    // would otherwise collide on the default port 10257.
    '--secure-port=0',
    // The legacy token controller signs Secret-based tokens with the apiserver's signing key.
    `--service-account-private-key-file=${c.apiserver.signingKeyFile}`,
    `--root-ca-file=${c.apiserver.ca.certFile}`,
    '--profiling=false',
  ];
}

/**
 * Starts kube-controller-manager and resolves once its serviceaccount controller has created
 * kube-system's `default` ServiceAccount (the apiserver creates kube-system but no ServiceAccount
 * in it), which shows it authenticated, got its controller tokens and started its controllers.
 */
export async function startControllerManager(c: ControllerManagerConfig): Promise<ManagedProcess> {
  const proc = startProcess({
    name: 'kube-controller-manager',
    command: toolPath('kube-controller-manager'),
    args: controllerManagerArgs(c),
    logDir: c.logDir,
  });
  await waitReady(
    proc,
    () => adminGetOk(c.apiserver, '/api/v1/namespaces/kube-system/serviceaccounts/default'),
    'kube-controller-manager (no default ServiceAccount in kube-system yet)',
  );
  return proc;
}
