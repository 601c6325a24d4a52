import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, type V1PolicyRule } from '@kubernetes/client-node';
import { startConnProxy, type ConnProxy } from './kube-conn-proxy.js';
import { writeKubeconfig } from './kube-config.js';
import { createSigningKey, createTestCa, type CertRequest, type KeyPair, type TestCa } from './kube-pki.js';
import {
  DEFAULT_CONTROLLERS,
  controllerList,
  startApiserver,
  startControllerManager,
  startKine,
  type ApiserverConfig,
} from './kube-processes.js';
import { createServiceAccountKubeconfig, ensureNamespace } from './kube-service-account.js';
import { freePort, type ManagedProcess } from './process.js';
import { toolPath } from './tools.js';

export interface ControlPlaneOptions {
  /** Process logs go here (kine.log, kube-apiserver.log); the caller deletes them on success. */
  logDir: string;
  /**
   * kine compacts every second down to the newest revision and the apiserver keeps no watch cache
   * for Secrets, so a watch resumed from an older resourceVersion gets a real 410 Gone (an expired
   * resourceVersion), as after etcd's periodic compaction in a real cluster.
   */
  fastCompaction?: boolean;
  /**
   * Also run kube-controller-manager (logs: kube-controller-manager.log), so Deployments, Jobs and
   * CronJobs get their Pods from the real controllers. `true` runs DEFAULT_CONTROLLERS; a list
   * runs those (names as in `--controllers`, e.g. `statefulset-controller`). Off by default: it
   * adds about half a second to the start and a process to every run.
   */
  controllers?: boolean | readonly string[];
}

/**
 * A real single-node Kubernetes control plane: kine (SQLite) + kube-apiserver built from
 * k8s.io/kubernetes, RBAC on, TokenRequest on, admission webhooks called by URL, and on request
 * kube-controller-manager with a few workload controllers. There is no scheduler or kubelet: pods
 * are stored but never run; with no namespace or garbage-collector controller, namespaces are never
 * finalized (deleting one leaves it Terminating), and nothing is garbage-collected.
 */
export interface ControlPlane {
  /** Admin kubeconfig (CN=admin, O=system:masters), pointing at `server`. */
  readonly kubeconfigPath: string;
  /** URL clients use: the connection proxy in front of the apiserver. */
  readonly server: string;
  /** The apiserver itself, bypassing the proxy (what a webhook or the apiserver's own loopback sees). */
  readonly apiserverUrl: string;
  /** The test CA: it signed the serving certificate, the client certificates and issueCertificate()'s. */
  readonly caPem: string;
  /** Holds PKI, database and kubeconfigs; removed by stop(). */
  readonly stateDir: string;
  /** Controllers kube-controller-manager runs; empty when it is not started. */
  readonly controllers: readonly string[];
  /** A fresh client-node KubeConfig for the admin kubeconfig. */
  adminKubeConfig(): KubeConfig;
  /** A certificate signed by the test CA, e.g. for an https webhook the apiserver must trust. */
  issueCertificate(req: Omit<CertRequest, 'name'> & { name?: string }): Promise<KeyPair>;
  /** Namespace plus its `default` ServiceAccount (see kube-service-account.ts for why). */
  createNamespace(name: string): Promise<void>;
  /** SA + Role(rules) + RoleBinding in `namespace`; returns a kubeconfig path with a TokenRequest token. */
  serviceAccountKubeconfig(namespace: string, name: string, rules: readonly V1PolicyRule[]): Promise<string>;
  /** Stops and starts kube-apiserver on the same port and storage; resolves when /readyz is 200. */
  restartApiserver(): Promise<void>;
  /** Closes every client connection open through the proxy; returns how many were cut. */
  dropConnections(): number;
  /** Makes every open client connection hang silently (no data, no close); returns how many. */
  stallConnections(): number;
  /** Resident memory of each process, in bytes, read from /proc. */
  memoryUsage(): Promise<Record<string, number>>;
  /** Stops everything by PID and removes `stateDir`; idempotent. */
  stop(): Promise<void>;
}

const ADMIN = { commonName: 'admin', organization: 'system:masters', usage: 'client' } as const;
const LOOPBACK = { dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'], ips: ['127.0.0.1'] };

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kib) * 1024;
}

async function createPki(stateDir: string): Promise<{ pki: TestCa; config: Omit<ApiserverConfig, 'port' | 'etcdUrl' | 'logDir'> }> {
  const pki = await createTestCa(stateDir);
  const [serving, admin, keys] = await Promise.all([
    pki.issue({ name: 'apiserver', commonName: 'kube-apiserver', usage: 'server', ...LOOPBACK }),
    pki.issue({ name: 'admin', ...ADMIN }),
    createSigningKey(stateDir),
  ]);
  return {
    pki,
    config: {
      ca: pki.ca,
      serving,
      probeClient: admin,
      signingKeyFile: keys.privateKeyFile,
      verifyKeyFile: keys.publicKeyFile,
    },
  };
}

interface Running {
  kine: ManagedProcess;
  apiserver: ManagedProcess;
  proxy: ConnProxy;
  controllerManager?: ManagedProcess;
}

async function stopAll(running: Partial<Running>, stateDir: string): Promise<void> {
  await running.controllerManager?.stop();
  await running.proxy?.close();
  await running.apiserver?.stop();
  await running.kine?.stop();
  await rm(stateDir, { recursive: true, force: true });
}

/**
 * Throws, naming the command that builds it, when a binary the control plane needs is missing:
 * called before anything starts, so a missing kube-controller-manager does not cost a start and stop.
 */
export function checkControlPlaneTools(opts: Pick<ControlPlaneOptions, 'controllers'>): void {
  toolPath('kine');
  toolPath('kube-apiserver');
  if (requestedControllers(opts.controllers).length > 0) toolPath('kube-controller-manager');
}

function requestedControllers(opt: ControlPlaneOptions['controllers']): readonly string[] {
  if (opt === undefined || opt === false) return [];
  return controllerList(opt === true ? DEFAULT_CONTROLLERS : opt);
}

/**
 * kube-controller-manager as `system:kube-controller-manager` (a client certificate; the RBAC
 * bootstrap binds that user), talking to the apiserver directly: the connection proxy's cuts and
 * stalls are for the clients under test.
 */
async function startControllers(
  pki: TestCa,
  config: ApiserverConfig,
  controllers: readonly string[],
  stateDir: string,
): Promise<ManagedProcess> {
  const client = await pki.issue({ name: 'kube-controller-manager', commonName: 'system:kube-controller-manager', usage: 'client' });
  const kubeconfigFile = await writeKubeconfig(join(stateDir, 'kubeconfig-kube-controller-manager.json'), {
    server: `https://127.0.0.1:${config.port}`,
    caPem: pki.ca.certPem,
    credentials: client,
    name: 'kube-controller-manager',
  });
  return startControllerManager({ apiserver: config, kubeconfigFile, controllers, logDir: config.logDir });
}

/** Starts kine, kube-apiserver, the connection proxy and, if asked, kube-controller-manager; writes the admin kubeconfig. */
export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  checkControlPlaneTools(opts);
  const controllers = requestedControllers(opts.controllers);
  const stateDir = await mkdtemp(join(tmpdir(), 'bucket-agent-cp-'));
  const running: Partial<Running> = {};
  try {
    const { pki, config: files } = await createPki(stateDir);
    const kine = await startKine(stateDir, opts.logDir, opts.fastCompaction);
    running.kine = kine.proc;
    const config: ApiserverConfig = {
      ...files,
      port: await freePort(),
      etcdUrl: kine.etcdUrl,
      logDir: opts.logDir,
      fastCompaction: opts.fastCompaction,
    };
    running.apiserver = await startApiserver(config);
    running.proxy = await startConnProxy({ host: '127.0.0.1', port: config.port });
    if (controllers.length > 0) running.controllerManager = await startControllers(pki, config, controllers, stateDir);
    const cp = await assemble(pki, config, running as Running, stateDir, controllers);
    await cp.createNamespace('default');
    return cp;
  } catch (err) {
    await stopAll(running, stateDir);
    throw err;
  }
}

// eslint-disable-next-line max-params
async function assemble(
  pki: TestCa,
  config: ApiserverConfig,
  running: Running,
  stateDir: string,
  controllers: readonly string[],
): Promise<ControlPlane> {
  const server = `https://127.0.0.1:${running.proxy.port}`;
  const caPem = pki.ca.certPem;
  const kubeconfigPath = await writeKubeconfig(join(stateDir, 'kubeconfig-admin.json'), {
    server,
    caPem,
    credentials: config.probeClient,
    name: 'bucket-agent-test',
  });
  const adminKubeConfig = (): KubeConfig => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    return kc;
  };
  let certSeq = 0;
  let stopped: Promise<void> | undefined;
  return {
    kubeconfigPath,
    server,
    apiserverUrl: `https://127.0.0.1:${config.port}`,
    caPem,
    stateDir,
    controllers,
    adminKubeConfig,
    issueCertificate: (req) => pki.issue({ ...req, name: req.name ?? `issued-${++certSeq}` }),
    createNamespace: (name) => ensureNamespace(adminKubeConfig(), name),
    serviceAccountKubeconfig: (namespace, name, rules) =>
      createServiceAccountKubeconfig(adminKubeConfig(), { namespace, name, rules, server, caPem, dir: stateDir }),
    restartApiserver: async () => {
      await running.apiserver.stop();
      running.apiserver = await startApiserver(config);
    },
    dropConnections: () => running.proxy.dropConnections(),
    stallConnections: () => running.proxy.stallConnections(),
    memoryUsage: async () => ({
      kine: await rssBytes(running.kine.pid),
      'kube-apiserver': await rssBytes(running.apiserver.pid),
      ...(running.controllerManager === undefined ? {} : { 'kube-controller-manager': await rssBytes(running.controllerManager.pid) }),
    }),
    stop: () => (stopped ??= stopAll(running, stateDir)),
  };
}
