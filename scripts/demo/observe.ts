/**
 * What a user would see with `kubectl get bucket,secret -w`: the Bucket's Ready condition as it
 * changes and the Secret as it appears, is deleted, is re-created or updated. Watched through the
 * apiserver like any client; printed the moment each event arrives, and kept (with its arrival
 * time) so the demo can tell when the Secret first carried a key.
 */
import { Watch, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../../test/env/provisioner.js';
import { keyLabel, type Reporter } from './report.js';

export interface SecretEvent {
  readonly at: number;
  readonly type: string;
  /** The access key id in the payload; undefined for a deletion or a payload without one. */
  readonly keyId: string | undefined;
}

interface ReadyCondition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

interface BucketObject {
  status?: { conditions?: ReadyCondition[] };
}

export class ClusterObserver {
  readonly secretEvents: SecretEvent[] = [];
  /** The Bucket object exists (its ADDED event came). */
  bucketSeen = false;
  private readonly aborts: AbortController[] = [];
  private lastReady = '';
  private lastKey: string | undefined;

  private constructor(
    private readonly report: Reporter,
    private readonly bucket: string,
    private readonly secret: string,
  ) {}

  /** Resolves once both watches are open, so nothing that follows can be missed. */
  static async start(
    kc: KubeConfig,
    namespace: string,
    names: { bucket: string; secret: string },
    report: Reporter,
  ): Promise<ClusterObserver> {
    const observer = new ClusterObserver(report, names.bucket, names.secret);
    const watch = new Watch(kc);
    const ignoreEnd = (): void => undefined;
    observer.aborts.push(
      await watch.watch(
        `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`,
        { fieldSelector: `metadata.name=${names.bucket}` },
        (type: string, obj: BucketObject) => observer.onBucket(type, obj),
        ignoreEnd,
      ),
      await watch.watch(
        `/api/v1/namespaces/${namespace}/secrets`,
        { fieldSelector: `metadata.name=${names.secret}` },
        (type: string, obj: V1Secret) => observer.onSecret(type, obj),
        ignoreEnd,
      ),
    );
    return observer;
  }

  /** When a watch first saw the Secret carry `keyId`. */
  firstSeen(keyId: string): number | undefined {
    return this.secretEvents.find((e) => e.keyId === keyId)?.at;
  }

  stop(): void {
    for (const abort of this.aborts) abort.abort();
  }

  private onBucket(type: string, obj: BucketObject): void {
    if (type === 'ADDED' && !this.bucketSeen) this.report.info(`Bucket ${this.bucket} created (${GROUP}/${VERSION})`);
    this.bucketSeen = true;
    const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready === undefined) return;
    const text = readyText(ready);
    if (text === this.lastReady) return;
    this.lastReady = text;
    if (ready.status === 'True') this.report.ok(`Bucket ${this.bucket}: ${text}`);
    else this.report.info(`Bucket ${this.bucket}: ${text}`);
  }

  private onSecret(type: string, obj: V1Secret): void {
    const keyId = type === 'DELETED' ? undefined : accessKeyIdOf(obj);
    this.secretEvents.push({ at: Date.now(), type, keyId });
    if (type === 'DELETED') {
      this.report.info(`Secret ${this.secret} deleted (COSI rotates by delete + re-create; the files stay as they are)`);
      this.lastKey = undefined;
      return;
    }
    if (keyId === this.lastKey) return;
    const what = type === 'ADDED' ? 'created' : 'updated in place';
    this.report.info(`Secret ${this.secret} ${what}: BucketInfo with ${keyId === undefined ? 'no key' : keyLabel(keyId)}`);
    this.lastKey = keyId;
  }
}

function readyText(c: ReadyCondition): string {
  return `Ready=${c.status ?? '?'} ${c.reason ?? ''}: ${c.message ?? ''}`;
}

/** spec.secretS3.accessKeyID of the BucketInfo payload (the layout the demo's Bucket gets). */
function accessKeyIdOf(secret: V1Secret): string | undefined {
  const raw = secret.data?.BucketInfo;
  if (raw === undefined) return undefined;
  try {
    const info = JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as { spec?: { secretS3?: { accessKeyID?: string } } };
    return info.spec?.secretS3?.accessKeyID;
  } catch {
    return undefined;
  }
}
