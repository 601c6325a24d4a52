import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startProcess, waitUntil, type ManagedProcess } from './process.js';
import { deleteUser, putBucketUser, type WeedShellTarget } from './s3-identities.js';
import { randomKeys, type S3Keys } from './s3-keys.js';
import { listProbe, s3Client, TEST_REGION } from './s3-probe.js';
import { toolPath } from './tools.js';

/**
 * A real SeaweedFS (Cozystack's S3 backend) for e2e tests: master, volume, filer and S3 gateway
 * in one `weed mini` process on loopback, data in a temp dir. Authentication is on from the
 * first request — the admin identity comes from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, which
 * SeaweedFS loads as a static admin — so anonymous requests are denied. Bucket identities are
 * managed at runtime through the filer's IAM store (see s3-identities.ts).
 */

export interface SeaweedOptions {
  /** Where `weed.log` goes; kept for failed runs. */
  readonly logDir: string;
  readonly startTimeoutMs?: number;
}

export interface Seaweed {
  /** `http://127.0.0.1:<port>` of the S3 gateway. */
  readonly endpoint: string;
  readonly region: string;
  /** Static admin identity: every bucket, every action, not deletable at runtime. */
  readonly admin: S3Keys;
  readonly process: ManagedProcess;
  /** Process spawn to the first object write that went through. */
  readonly startupMs: number;
  createBucket(name: string): Promise<void>;
  /** A new identity with fresh random keys, read/write/list on `bucket` only; resolves once the key works. */
  createIdentity(name: string, bucket: string): Promise<S3Keys>;
  /** Removes an identity made by createIdentity; resolves only once its key is rejected. */
  deleteIdentity(name: string): Promise<void>;
  /** Stops the server and removes its data. */
  stop(): Promise<void>;
}

interface SeaweedPorts {
  readonly master: number;
  readonly masterGrpc: number;
  readonly volume: number;
  readonly volumeGrpc: number;
  readonly filer: number;
  readonly filerGrpc: number;
  readonly s3: number;
  readonly s3Grpc: number;
  readonly admin: number;
  readonly adminGrpc: number;
}

interface IdentityRecord {
  readonly keys: S3Keys;
  readonly bucket: string;
}

const HOST = '127.0.0.1';
const DEFAULT_START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 3_000;
const READY_PROBE_BUCKET = 'bucket-agent-ready-probe';
/** Identity changes reach the S3 server by a filer subscription: milliseconds, not seconds. */
const IDENTITY_PROPAGATION_TIMEOUT_MS = 15_000;
/** Answers meaning the server does not (yet) hold this key pair. */
const KEY_ERRORS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch']);
/** Small volumes: tests store bytes, and each bucket gets its own volume. */
const VOLUME_SIZE_LIMIT_MB = 16;

export async function startSeaweed(opts: SeaweedOptions): Promise<Seaweed> {
  const weed = toolPath('weed');
  const ports = await allocatePorts();
  const dataDir = await mkdtemp(join(tmpdir(), 'bucket-agent-seaweed-'));
  const admin = randomKeys();
  const started = Date.now();
  const proc = startProcess({
    name: 'weed',
    command: weed,
    args: buildMiniArgs(ports, dataDir),
    logDir: opts.logDir,
    cwd: dataDir,
    env: buildServerEnv(admin),
  });
  const endpoint = `http://${HOST}:${String(ports.s3)}`;
  try {
    await waitForS3(proc, endpoint, admin, opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
  } catch (err: unknown) {
    await proc.stop(STOP_GRACE_MS);
    await removeServerFiles(ports, dataDir);
    throw err;
  }
  const shell: WeedShellTarget = {
    weed,
    master: `${HOST}:${String(ports.master)}.${String(ports.masterGrpc)}`,
    filer: `${HOST}:${String(ports.filer)}.${String(ports.filerGrpc)}`,
  };
  return assemble({ endpoint, admin, proc, shell, dataDir, ports, startupMs: Date.now() - started });
}

interface Parts {
  readonly endpoint: string;
  readonly admin: S3Keys;
  readonly proc: ManagedProcess;
  readonly shell: WeedShellTarget;
  readonly dataDir: string;
  readonly ports: SeaweedPorts;
  readonly startupMs: number;
}

function assemble(parts: Parts): Seaweed {
  const { endpoint, admin, proc, shell, dataDir } = parts;
  const identities = new Map<string, IdentityRecord>();
  const adminClient = s3Client(endpoint, admin);
  return {
    endpoint,
    region: TEST_REGION,
    admin,
    process: proc,
    startupMs: parts.startupMs,
    createBucket: (name) => adminClient.makeBucket(name, TEST_REGION),
    createIdentity: async (name, bucket) => {
      // s3.configure on an existing user adds a key instead of replacing it, which would keep
      // the old key alive; rotation must delete first, as COSI does.
      if (identities.has(name)) throw new Error(`identity ${name} exists; deleteIdentity it first`);
      const keys = randomKeys();
      await putBucketUser(shell, name, bucket, keys);
      identities.set(name, { keys, bucket });
      await waitForKey(endpoint, { keys, bucket }, 'accepted', proc);
      return keys;
    },
    deleteIdentity: async (name) => {
      const record = identities.get(name);
      if (record === undefined) throw new Error(`identity ${name} was not created by this SeaweedFS`);
      await deleteUser(shell, name);
      identities.delete(name);
      await waitForKey(endpoint, record, 'rejected', proc);
    },
    stop: async () => {
      // mini drains S3/admin before filer/volume/master and exits in ~1.5 s on SIGTERM; the
      // grace bounds a hang (weed server's ordering made the filer wait 15 s on shutdown).
      await proc.stop(STOP_GRACE_MS);
      await removeServerFiles(parts.ports, dataDir);
    },
  };
}

/** Ten distinct loopback ports; grpc ports are explicit because the default (http+10000) can exceed 65535. */
async function allocatePorts(): Promise<SeaweedPorts> {
  const taken = new Set<number>();
  while (taken.size < 10) taken.add(await freePort());
  const [master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3, s3Grpc, admin, adminGrpc] = [...taken] as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return { master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3, s3Grpc, admin, adminGrpc };
}

/**
 * `weed mini` rather than `weed server -filer -s3`: both run everything in one process with the
 * same RSS (~130 MiB), but mini skips the filer's 10 s empty-cluster confirmation and the
 * master's volume-allocation hold, so the first write works ~5 s after spawn instead of ~11 s.
 */
function buildMiniArgs(ports: SeaweedPorts, dataDir: string): string[] {
  const p = (n: number): string => String(n);
  return [
    // glog writes files under /tmp unless told to use stderr, which startProcess captures.
    '-logtostderr',
    'mini',
    `-ip=${HOST}`,
    `-ip.bind=${HOST}`,
    `-dir=${dataDir}`,
    `-master.port=${p(ports.master)}`,
    `-master.port.grpc=${p(ports.masterGrpc)}`,
    `-master.volumeSizeLimitMB=${p(VOLUME_SIZE_LIMIT_MB)}`,
    // No network here, and tests must not phone home.
    '-master.telemetry=false',
    `-volume.port=${p(ports.volume)}`,
    `-volume.port.grpc=${p(ports.volumeGrpc)}`,
    // Sparse files, so many slots cost nothing; each bucket takes at least one.
    '-volume.max=1000',
    `-filer.port=${p(ports.filer)}`,
    `-filer.port.grpc=${p(ports.filerGrpc)}`,
    // HTTP fast-path sockets default to /tmp; keep them with the data so stop() removes them.
    `-filer.localSocket=${join(dataDir, 'filer.sock')}`,
    `-s3.port=${p(ports.s3)}`,
    `-s3.port.grpc=${p(ports.s3Grpc)}`,
    `-s3.localSocket=${join(dataDir, 's3.sock')}`,
    // Iceberg, Lance, WebDAV and the admin UI listen on fixed ports by default; tests need none.
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
    '-webdav=false',
    '-admin.ui=false',
    // The admin server itself always runs in mini (it hosts the maintenance worker).
    `-admin.port=${p(ports.admin)}`,
    `-admin.port.grpc=${p(ports.adminGrpc)}`,
    '-admin.port.legacy=0',
  ];
}

/** The data dir, and the gRPC unix sockets weed always puts in /tmp (not configurable in 4.53). */
async function removeServerFiles(ports: SeaweedPorts, dataDir: string): Promise<void> {
  const grpcSockets: ReadonlyArray<[string, number]> = [
    ['master', ports.masterGrpc],
    ['volume', ports.volumeGrpc],
    ['filer', ports.filerGrpc],
    ['s3', ports.s3Grpc],
    ['admin', ports.adminGrpc],
  ];
  await Promise.all([
    rm(dataDir, { recursive: true, force: true }),
    ...grpcSockets.map(([svc, port]) => rm(grpcSocketPath(svc, port), { force: true })),
  ]);
}

function grpcSocketPath(service: string, port: number): string {
  return `/tmp/seaweedfs-${service}-grpc-${String(port)}.sock`;
}

function buildServerEnv(admin: S3Keys): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AWS_ACCESS_KEY_ID: admin.accessKeyId,
    AWS_SECRET_ACCESS_KEY: admin.secretAccessKey,
    // One volume per new bucket instead of seven: faster first write, less disk.
    WEED_MASTER_VOLUME_GROWTH_COPY_1: '1',
  };
}

/**
 * Ready = the admin can write: S3 gateway up, auth loaded, and the filer's lock ring formed
 * (until then object writes block for seconds). The probe bucket is removed so tests that list
 * buckets see only their own.
 */
async function waitForS3(proc: ManagedProcess, endpoint: string, admin: S3Keys, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  const log = (): string => `log ${proc.logFile}:\n${proc.tail()}`;
  const client = s3Client(endpoint, admin);
  // A dead process ends the poll at once instead of after the whole timeout.
  await waitUntil(
    async () => exited || (await client.listBuckets(), true),
    timeoutMs,
    () => `SeaweedFS S3 at ${endpoint} not answering; ${log()}`,
  );
  if (exited) throw new Error(`weed mini exited during startup; ${log()}`);
  const writeProbe = async (): Promise<void> => {
    await client.makeBucket(READY_PROBE_BUCKET, TEST_REGION);
    await client.putObject(READY_PROBE_BUCKET, 'probe', 'ok');
    await client.removeObject(READY_PROBE_BUCKET, 'probe');
    await client.removeBucket(READY_PROBE_BUCKET);
  };
  const describe = (): string => `SeaweedFS S3 at ${endpoint} does not accept writes; ${log()}`;
  await withTimeout(writeProbe(), deadline - Date.now(), describe);
}

async function withTimeout<T>(work: Promise<T>, ms: number, describe: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${String(ms)} ms: ${describe()}`)), Math.max(ms, 0));
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls with the identity's own key until the server knows it (accepted) or no longer does (rejected). */
async function waitForKey(endpoint: string, record: IdentityRecord, want: 'accepted' | 'rejected', proc: ManagedProcess): Promise<void> {
  const client = s3Client(endpoint, record.keys);
  let last = '';
  await waitUntil(
    async () => {
      last = await listProbe(client, record.bucket);
      return want === 'rejected' ? last === 'InvalidAccessKeyId' : !KEY_ERRORS.has(last);
    },
    IDENTITY_PROPAGATION_TIMEOUT_MS,
    () => `key ${record.keys.accessKeyId} not ${want} by SeaweedFS (last answer: ${last}); log ${proc.logFile}`,
    25,
  );
}
