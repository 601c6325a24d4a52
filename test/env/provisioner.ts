import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { load as parseYaml } from 'js-yaml';
import {
  ApiException,
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type KubeConfig,
  type V1CustomResourceDefinition,
  type V1Secret,
} from '@kubernetes/client-node';
import type { Seaweed } from './seaweedfs.js';
import type { S3Keys } from './s3-keys.js';
import { annotationsOf, optionsOf, secretData, secretNameFor, type BucketOptions, type ProvisionedBucket } from './provisioner-layouts.js';

export * from './provisioner-layouts.js';
import { REPO_ROOT } from './tools.js';
import { waitUntil } from './process.js';

/**
 * Test-only stand-in for Cozystack's bucket machinery. It watches `Bucket` objects
 * (apps.cozystack.io/v1alpha1, a CRD here) and, for each new one, creates the S3 bucket under a
 * different real name and an identity scoped to it in SeaweedFS, then after a delay writes the
 * Secret in the requested layout and marks the Bucket Ready — the order and timing users see.
 * Per-Bucket behaviour comes from test annotations (Cozystack's Bucket has no spec to carry it).
 */

export const GROUP = 'apps.cozystack.io';
export const VERSION = 'v1alpha1';
export const PLURAL = 'buckets';
export interface RotateOptions {
  /** recreate: COSI's way, delete + create (new UID); in-place: update the data. */
  mode?: 'recreate' | 'in-place';
  /** How long the old key keeps working after the new Secret is written. */
  graceMs?: number;
  /** recreate: how long the Secret stays deleted before the new one is created (a slow provisioner). */
  gapMs?: number;
}

export interface Rotation extends ProvisionedBucket {
  /** Resolves once the old key is rejected by S3. */
  readonly revoked: Promise<void>;
  /** Date.now() as the request carrying the new keys (the create, or the update in place) was sent. */
  readonly writtenAt: number;
}

export interface ProvisionerDeps {
  readonly kubeConfig: KubeConfig;
  readonly s3: Seaweed;
  /** `http://127.0.0.1:<port>` (BucketInfo, COSI v1alpha2). */
  readonly httpEndpoint: string;
  /** `127.0.0.1:<tls port>` without scheme, i.e. https (Cozystack's flat Secret). */
  readonly schemelessTlsEndpoint: string;
}

interface BucketRecord {
  bucket: ProvisionedBucket;
  identity: string;
  generation: number;
}

interface Waiter {
  resolve: (b: ProvisionedBucket) => void;
  reject: (err: unknown) => void;
}

const key = (ns: string, name: string): string => `${ns}/${name}`;

export class Provisioner {
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly records = new Map<string, BucketRecord>();
  /** Buckets being or already provisioned: a second ADDED event (after a relist) must not provision twice. */
  private readonly claimed = new Set<string>();
  private readonly waiters = new Map<string, Waiter>();
  private readonly background = new Set<Promise<unknown>>();
  private watchAbort: AbortController | undefined;
  /** Aborts pending delays (a Secret due in a minute) so stop() returns at once. */
  private readonly stopping = new AbortController();
  private stopped = false;

  constructor(private readonly deps: ProvisionerDeps) {
    this.core = deps.kubeConfig.makeApiClient(CoreV1Api);
    this.custom = deps.kubeConfig.makeApiClient(CustomObjectsApi);
  }

  /** Installs the Bucket CRD and starts watching Buckets in every namespace. */
  async start(): Promise<void> {
    await installBucketCrd(this.deps.kubeConfig);
    // Right after the CRD is Established its storage may still answer 429 "(re)initializing".
    await waitUntil(
      async () => {
        await this.watchBuckets();
        return true;
      },
      30_000,
      () => 'cannot list Buckets',
      250,
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    this.watchAbort?.abort();
    await Promise.allSettled([...this.background]);
  }

  /** Creates the Bucket (or, with bucketObject:false, provisions directly); resolves when keys exist. */
  async createBucket(namespace: string, name: string, opts: BucketOptions = {}): Promise<ProvisionedBucket> {
    if (opts.bucketObject === false) return this.provision(namespace, name, opts);
    const provisioned = new Promise<ProvisionedBucket>((resolve, reject) => this.waiters.set(key(namespace, name), { resolve, reject }));
    await this.custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURAL,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Bucket', metadata: { name, namespace, annotations: annotationsOf(opts) } },
    });
    return provisioned;
  }

  /** New identity and keys; the Secret is replaced (recreate) or updated (in-place); the old key is revoked after graceMs. */
  async rotateKeys(namespace: string, name: string, opts: RotateOptions = {}): Promise<Rotation> {
    const record = this.records.get(key(namespace, name));
    if (record === undefined) throw new Error(`no provisioned bucket ${key(namespace, name)}`);
    await record.bucket.secretWritten;
    const oldIdentity = record.identity;
    record.generation += 1;
    record.identity = `${record.bucket.bucketName}-g${record.generation}`;
    const keys = await this.deps.s3.createIdentity(record.identity, record.bucket.bucketName);
    const bucket = { ...record.bucket, ...keys };
    const secret = this.secretFor(bucket);
    let writtenAt = Date.now();
    if (opts.mode === 'in-place') await this.core.replaceNamespacedSecret({ name: bucket.secretName, namespace, body: secret });
    else {
      await this.core.deleteNamespacedSecret({ name: bucket.secretName, namespace });
      if (opts.gapMs !== undefined) await this.delay(opts.gapMs);
      writtenAt = Date.now();
      await this.core.createNamespacedSecret({ namespace, body: secret });
    }
    record.bucket = { ...bucket, secretWritten: Promise.resolve() };
    const revoked = this.track(this.delay(opts.graceMs ?? 1000).then(() => this.deps.s3.deleteIdentity(oldIdentity)));
    return { ...record.bucket, revoked, writtenAt };
  }

  /** Marks the Bucket Ready=False with a reason, as Cozystack does when its Helm release fails. */
  async failBucket(namespace: string, name: string, reason: string, message: string): Promise<void> {
    await this.setReady(namespace, name, { status: 'False', reason, message });
  }

  private async watchBuckets(): Promise<void> {
    const list = (await this.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as {
      items: BucketObject[];
      metadata: { resourceVersion: string };
    };
    for (const item of list.items) this.onBucket(item);
    this.watchAbort = await new Watch(this.deps.kubeConfig).watch(
      `/apis/${GROUP}/${VERSION}/${PLURAL}`,
      { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true },
      (phase: string, obj: BucketObject) => {
        if (phase === 'ADDED') this.onBucket(obj);
      },
      () => {
        // Any end of the watch (timeout, error): relist and watch again until stopped.
        if (!this.stopped) void this.track(this.rewatch());
      },
    );
  }

  private onBucket(obj: BucketObject): void {
    const namespace = obj.metadata?.namespace ?? '';
    const name = obj.metadata?.name ?? '';
    if (this.claimed.has(key(namespace, name)) || obj.metadata?.deletionTimestamp !== undefined) return;
    const waiter = this.waiters.get(key(namespace, name));
    const done = this.provision(namespace, name, optionsOf(obj.metadata?.annotations ?? {}));
    void this.track(
      done.then(
        (b) => waiter?.resolve(b),
        (err: unknown) => waiter?.reject(err),
      ),
    );
  }

  private async provision(namespace: string, name: string, opts: BucketOptions): Promise<ProvisionedBucket> {
    const layout = opts.layout ?? 'bucketinfo';
    const bucketName = `bucket-${randomUUID()}`;
    const identity = `${bucketName}-g0`;
    this.claimed.add(key(namespace, name));
    if (opts.bucketObject !== false)
      await this.setReady(namespace, name, {
        status: 'False',
        reason: 'Provisioning',
        message: 'waiting for the bucket and its credentials',
      });
    await this.deps.s3.createBucket(bucketName);
    const keys = await this.deps.s3.createIdentity(identity, bucketName);
    const secretName = secretNameFor(name, layout, opts.user);
    const endpoint = layout === 'cozystack-flat' ? this.deps.schemelessTlsEndpoint : this.deps.httpEndpoint;
    const base = { namespace, name, bucketName, secretName, layout, endpoint, ...keys };
    const secretWritten = this.track(this.writeLater(base, opts));
    const bucket: ProvisionedBucket = { ...base, secretWritten };
    this.records.set(key(namespace, name), { bucket, identity, generation: 0 });
    return bucket;
  }

  private async writeLater(bucket: Omit<ProvisionedBucket, 'secretWritten'>, opts: BucketOptions): Promise<void> {
    await this.delay(opts.secretDelayMs ?? 0);
    await this.core.createNamespacedSecret({ namespace: bucket.namespace, body: this.secretFor(bucket) });
    if (opts.bucketObject !== false)
      await this.setReady(bucket.namespace, bucket.name, {
        status: 'True',
        reason: 'Provisioned',
        message: 'bucket and credentials are ready',
      });
  }

  private secretFor(b: Omit<ProvisionedBucket, 'secretWritten'>): V1Secret {
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: b.secretName, namespace: b.namespace },
      type: 'Opaque',
      stringData: secretData(b),
    };
  }

  private async setReady(namespace: string, name: string, ready: ReadyCondition): Promise<void> {
    const condition = { type: 'Ready', ...ready, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
    await this.custom.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body: { status: { conditions: [condition] } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  /** Watches again after the watch ended, retrying while the apiserver is away (restart tests). */
  private async rewatch(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.delay(200);
        await this.watchBuckets();
        return;
      } catch {
        // apiserver restarting or connection cut: try again
      }
    }
  }

  /** Waits, or throws once stop() was called. */
  private async delay(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.stopping.signal });
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.background.add(promise);
    const forget = (): void => void this.background.delete(promise);
    promise.then(forget, forget);
    return promise;
  }
}

interface ReadyCondition {
  status: 'True' | 'False';
  reason: string;
  message: string;
}

interface BucketObject {
  metadata?: { name?: string; namespace?: string; annotations?: { [k: string]: string }; deletionTimestamp?: string };
}

/** Installs the Bucket CRD (test/fixtures/bucket-crd.yaml) and waits until it is Established. */
export async function installBucketCrd(kc: KubeConfig): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const body = parseYaml(await readFile(join(REPO_ROOT, 'test/fixtures/bucket-crd.yaml'), 'utf8')) as V1CustomResourceDefinition;
  try {
    await api.createCustomResourceDefinition({ body });
  } catch (err) {
    if (!(err instanceof ApiException && err.code === 409)) throw err;
  }
  await waitUntil(
    async () => {
      const crd = await api.readCustomResourceDefinition({ name: `${PLURAL}.${GROUP}` });
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true;
    },
    30_000,
    () => 'Bucket CRD not Established',
  );
}

export type { S3Keys };
