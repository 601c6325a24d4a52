import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from './control-plane.js';
import { startHttpProxy } from './http-proxy.js';
import { startConnProxy } from './kube-conn-proxy.js';
import { buildCorpus, PROXY_PASSWORD, PROXY_USER, type CorpusCase } from './kubeconfig-corpus.js';
import { run, type Run } from './process.js';
import { secretData } from './provisioner-layouts.js';
import { REPO_ROOT, toolPath } from './tools.js';

/**
 * The differential setup of test/e2e/kubeconfig-kubectl.test.ts (and bench/kubeconfig-parity.ts):
 * the real control plane with a bucket's Secret, a service-account token, the apiserver also on a
 * LAN address and behind the real `kubectl proxy`, two real CONNECT proxies, and the corpus
 * written out; plus runners for kubectl and bucket-agent under exactly a case's environment.
 *
 * No S3 and no provisioner: both programs only read the Secret (init runs with --no-verify), so
 * it is written directly, with the payload the provisioner writes (provisioner-layouts.ts).
 */
export interface Differential {
  readonly controlPlane: ControlPlane;
  readonly work: string;
  readonly namespace: string;
  readonly bucket: string;
  readonly corpus: readonly CorpusCase[];
  /** Values no output of ours may contain. */
  readonly secrets: readonly string[];
  /** Writes Secret `bucket-<name>` (BucketInfo layout) in the namespace. */
  createSecret(name: string): Promise<void>;
  stop(): Promise<void>;
}

export { run, type Run };

export const BUCKET = 'kc';
const BIN = join(REPO_ROOT, 'dist/src/bin.js');

/** Only what the case sets: no KUBERNETES_SERVICE_HOST, no proxy of the machine's own. */
export function caseEnv(c: CorpusCase, home: string): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: home, ...c.env };
}

export function runKubectl(c: CorpusCase, home: string): Promise<Run> {
  const args = ['--kubeconfig', c.kubeconfig, 'get', 'secret', `bucket-${BUCKET}`, '-o', 'name', '--request-timeout', '15s'];
  return run(toolPath('kubectl'), args, caseEnv(c, home));
}

export function runOurs(c: CorpusCase, home: string, out: string, { bucket = BUCKET, timeout = '20s' } = {}): Promise<Run> {
  const args = [
    BIN,
    'init',
    '--bucket',
    bucket,
    '--kubeconfig',
    c.kubeconfig,
    '--no-verify',
    '--timeout',
    timeout,
    '--out',
    out,
    '--log-format',
    'json',
  ];
  return run(process.execPath, args, caseEnv(c, home));
}

/** The message of our final error line (JSON logs). */
export function ourError(result: Run): string {
  return result.stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string })
    .filter((line) => line.level >= 50)
    .map((line) => line.msg)
    .join('\n');
}

/** A non-loopback IPv4 address of this machine: Go's env proxies skip loopback servers. */
function lanAddress(): string {
  const found = Object.values(networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal);
  if (found === undefined)
    throw new Error('the environment-proxy cases need a non-loopback IPv4 address on this machine (ip addr); none found');
  return found.address;
}

interface AdminConfig {
  clusters: { cluster: { server: string } }[];
  users: { user: Record<string, string> }[];
}

const READER_RULES = [
  { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['apps.cozystack.io'], resources: ['buckets'], verbs: ['get', 'list', 'watch'] },
];

/**
 * The real `kubectl proxy` on loopback: plain http in front of the apiserver, authenticating as
 * the admin, which is what a scheme-less `server: 127.0.0.1:8001` usually points at.
 */
async function startKubectlProxy(kubeconfig: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = spawn(toolPath('kubectl'), ['--kubeconfig', kubeconfig, 'proxy', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kubectl proxy did not start: ${output}`)), 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const found = /Starting to serve on 127\.0\.0\.1:(\d+)/.exec(output);
      if (found !== null) {
        clearTimeout(timer);
        resolve(Number(found[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`kubectl proxy exited (${code ?? 'signal'}): ${output}`)));
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  return { port, stop };
}

/** Key values no output may hold; the Secret payload is the provisioner's. */
const KEYS = { accessKeyId: 'AKIAKUBECONFIGDIFF01', secretAccessKey: 'kubeconfig-differential-secret-key-0123456789' };

export async function startDifferential(logDir: string): Promise<Differential> {
  toolPath('kubectl');
  const cp = await startControlPlane({ logDir });
  const closers: (() => Promise<void>)[] = [() => cp.stop()];
  const stop = async (): Promise<void> => {
    for (const close of closers.reverse()) await close();
  };
  try {
    const work = await mkdtemp(join(tmpdir(), 'kubeconfig-kubectl-'));
    closers.push(() => rm(work, { recursive: true, force: true }));
    const namespace = 'kubeconfig-kc';
    await cp.createNamespace(namespace);
    const core = cp.adminKubeConfig().makeApiClient(CoreV1Api);
    const createSecret = async (name: string): Promise<void> => {
      const data = secretData({
        namespace,
        name,
        bucketName: `${name}-0001`,
        secretName: `bucket-${name}`,
        layout: 'bucketinfo',
        endpoint: 'https://s3.example:8443',
        ...KEYS,
      });
      await core.createNamespacedSecret({ namespace, body: { metadata: { name: `bucket-${name}`, namespace }, stringData: data } });
    };
    await createSecret(BUCKET);
    const admin = JSON.parse(readFileSync(cp.kubeconfigPath, 'utf8')) as AdminConfig;
    const decode = (text: string | undefined): string => Buffer.from(text ?? '', 'base64').toString('utf8');
    const sa = JSON.parse(readFileSync(await cp.serviceAccountKubeconfig(namespace, 'reader', READER_RULES), 'utf8')) as {
      users: { user: { token: string } }[];
    };
    const token = sa.users[0]?.user.token ?? '';
    const server = admin.clusters[0]?.cluster.server ?? '';
    const port = Number(new URL(server).port);
    const lanIp = lanAddress();
    // The apiserver on the LAN address too, through the same kind of forwarder the control plane uses.
    const lan = await startConnProxy({ host: '127.0.0.1', port }, 0, lanIp);
    const proxy = await startHttpProxy({ hosts: { 'kubernetes.default.svc': '127.0.0.1' } });
    const authProxy = await startHttpProxy({ credentials: { user: PROXY_USER, password: PROXY_PASSWORD } });
    const kubectlProxy = await startKubectlProxy(cp.kubeconfigPath);
    closers.push(
      () => lan.close(),
      () => proxy.close(),
      () => authProxy.close(),
      () => kubectlProxy.stop(),
    );
    const certPem = decode(admin.users[0]?.user['client-certificate-data']);
    const keyPem = decode(admin.users[0]?.user['client-key-data']);
    const corpus = await buildCorpus({
      dir: join(work, 'corpus'),
      namespace,
      server,
      port,
      httpPort: kubectlProxy.port,
      lanServer: `https://${lanIp}:${lan.port}`,
      lanIp,
      caPem: cp.caPem,
      certPem,
      keyPem,
      token,
      otherCaPem: readFileSync(join(REPO_ROOT, 'test/fixtures/tls/a.crt'), 'utf8'),
      proxy,
      authProxy,
    });
    const secrets = [
      token,
      keyPem.split('\n')[1] ?? keyPem,
      Buffer.from(keyPem).toString('base64').slice(0, 40),
      PROXY_PASSWORD,
      KEYS.secretAccessKey,
    ];
    return { controlPlane: cp, work, namespace, bucket: BUCKET, corpus, secrets, createSecret, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
