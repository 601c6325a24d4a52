import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1PolicyRule } from '@kubernetes/client-node';
import { checkControlPlaneTools, startControlPlane, type ControlPlane, type ControlPlaneOptions } from './control-plane.js';
import { Provisioner, type BucketOptions, type ProvisionedBucket, type RotateOptions, type Rotation } from './provisioner.js';
import { startSeaweed, type Seaweed } from './seaweedfs.js';
import { startTlsProxy, type TlsProxy } from './s3-tls-proxy.js';
import { REPO_ROOT } from './tools.js';

export type { ProvisionedBucket, Rotation, BucketOptions, RotateOptions } from './provisioner.js';

/**
 * Everything a test needs, real and on loopback: kube-apiserver (+kine), SeaweedFS S3 with TLS in
 * front of it, and the Cozystack-like provisioner. One per test file; each test takes a fresh
 * namespace from newNamespace().
 */
export interface TestEnv {
  /** Admin (system:masters) kubeconfig. */
  readonly kubeconfigPath: string;
  /** `http://127.0.0.1:<port>`: SeaweedFS S3, authentication enforced. */
  readonly s3Endpoint: string;
  /** `https://127.0.0.1:<port>`: the same S3 behind TLS with a certificate from `caFile`. */
  readonly s3TlsEndpoint: string;
  /** PEM file of the CA behind the apiserver's and the S3 TLS certificates. */
  readonly caFile: string;
  readonly controlPlane: ControlPlane;
  readonly s3: Seaweed;
  /** Where process logs and test artefacts go; kept after the run for a look at failures. */
  readonly runDir: string;
  newNamespace(prefix?: string): Promise<string>;
  createBucket(ns: string, name: string, opts?: BucketOptions): Promise<ProvisionedBucket>;
  rotateKeys(ns: string, name: string, opts?: RotateOptions): Promise<Rotation>;
  failBucket(ns: string, name: string, reason: string, message: string): Promise<void>;
  serviceAccountKubeconfig(ns: string, name: string, rules: V1PolicyRule[]): Promise<string>;
  restartApiserver(): Promise<void>;
  /** Cuts every open client connection to the apiserver; returns how many. */
  dropConnections(): number;
  stop(): Promise<void>;
}

const RUNS_DIR = join(REPO_ROOT, 'test/.runs');
const RUNS_KEPT = 5;

export interface TestEnvOptions {
  /** How long SeaweedFS may take to serve S3 (its own default otherwise); tests of a failed start shorten it. */
  readonly seaweedStartTimeoutMs?: number;
  /** ControlPlaneOptions.fastCompaction: resourceVersions expire within a second (real 410s). */
  readonly fastCompaction?: boolean;
  /**
   * Run kube-controller-manager too: `true` for Deployments, ReplicaSets, Jobs, CronJobs and
   * ServiceAccounts, or a list of `--controllers` names. See ControlPlaneOptions.controllers.
   */
  readonly controllers?: ControlPlaneOptions['controllers'];
}

export async function startTestEnv(options: TestEnvOptions = {}): Promise<TestEnv> {
  checkControlPlaneTools(options);
  const runDir = newRunDir();
  const logDir = join(runDir, 'logs');
  const started: { cp?: ControlPlane; s3?: Seaweed; tls?: TlsProxy; provisioner?: Provisioner } = {};
  const stop = async (): Promise<void> => {
    await started.provisioner?.stop();
    await started.tls?.close();
    await Promise.allSettled([started.s3?.stop(), started.cp?.stop()]);
  };
  try {
    // allSettled, not all: when one side fails, the other may still start, and must be stopped
    // too; a lost control plane kept its processes and proxy alive and hung the test file.
    const [cpStart, s3Start] = await Promise.allSettled([
      startControlPlane({ logDir, fastCompaction: options.fastCompaction, controllers: options.controllers }),
      startSeaweed({ logDir, startTimeoutMs: options.seaweedStartTimeoutMs }),
    ]);
    if (cpStart.status === 'fulfilled') started.cp = cpStart.value;
    if (s3Start.status === 'fulfilled') started.s3 = s3Start.value;
    if (cpStart.status === 'rejected') throw cpStart.reason;
    if (s3Start.status === 'rejected') throw s3Start.reason;
    const cp = cpStart.value;
    const s3 = s3Start.value;
    const cert = await cp.issueCertificate({ commonName: 's3', usage: 'server', dnsNames: ['localhost'], ips: ['127.0.0.1'] });
    const s3Port = Number(new URL(s3.endpoint).port);
    started.tls = await startTlsProxy({ host: '127.0.0.1', port: s3Port }, cert);
    const caFile = join(runDir, 'ca.crt');
    writeFileSync(caFile, cp.caPem);
    started.provisioner = new Provisioner({
      kubeConfig: cp.adminKubeConfig(),
      s3,
      httpEndpoint: s3.endpoint,
      schemelessTlsEndpoint: `127.0.0.1:${started.tls.port}`,
    });
    await started.provisioner.start();
    return assemble(runDir, cp, s3, started.tls, started.provisioner, caFile, stop);
  } catch (err) {
    await stop();
    throw err;
  }
}

// A plain function rather than a class so the object stays a simple record of closures.
// eslint-disable-next-line max-params
function assemble(
  runDir: string,
  cp: ControlPlane,
  s3: Seaweed,
  tls: TlsProxy,
  provisioner: Provisioner,
  caFile: string,
  stop: () => Promise<void>,
): TestEnv {
  let stopped: Promise<void> | undefined;
  return {
    kubeconfigPath: cp.kubeconfigPath,
    s3Endpoint: s3.endpoint,
    s3TlsEndpoint: `https://127.0.0.1:${tls.port}`,
    caFile,
    controlPlane: cp,
    s3,
    runDir,
    newNamespace: async (prefix = 'test') => {
      const name = `${prefix}-${randomBytes(4).toString('hex')}`;
      await cp.createNamespace(name);
      return name;
    },
    createBucket: (ns, name, opts) => provisioner.createBucket(ns, name, opts),
    rotateKeys: (ns, name, opts) => provisioner.rotateKeys(ns, name, opts),
    failBucket: (ns, name, reason, message) => provisioner.failBucket(ns, name, reason, message),
    serviceAccountKubeconfig: (ns, name, rules) => cp.serviceAccountKubeconfig(ns, name, rules),
    restartApiserver: () => cp.restartApiserver(),
    dropConnections: () => cp.dropConnections(),
    stop: () => (stopped ??= stop()),
  };
}

/**
 * test/.runs/<time>-<pid>, keeping the last few runs for a look at the logs of a failure. A run
 * whose process is alive is never pruned: test files run side by side, and one process may hold
 * several environments (two control planes), each still using its directory.
 */
function newRunDir(): string {
  mkdirSync(RUNS_DIR, { recursive: true });
  const old = readdirSync(RUNS_DIR)
    .filter((name) => !processAlive(Number(/-(\d+)$/.exec(name)?.[1])))
    .sort();
  for (const name of old.slice(0, Math.max(0, old.length - RUNS_KEPT + 1))) rmSync(join(RUNS_DIR, name), { recursive: true, force: true });
  const dir = join(RUNS_DIR, `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Whether `pid` names a living process (signal 0 checks without sending anything). */
function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
