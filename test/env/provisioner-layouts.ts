import { randomUUID } from 'node:crypto';

/**
 * What the test provisioner writes, as Cozystack and COSI do: Secret names and payloads per
 * layout, and the test annotations that carry per-Bucket behaviour (Cozystack's Bucket has no
 * spec to carry it).
 */

export const ANNOTATION_LAYOUT = 'test.bucket-agent.io/layout';
export const ANNOTATION_USER = 'test.bucket-agent.io/user';
export const ANNOTATION_SECRET_DELAY_MS = 'test.bucket-agent.io/secret-delay-ms';

export type ProvisionLayout = 'bucketinfo' | 'cozystack-flat' | 'cosi-v1alpha2';

export interface BucketOptions {
  layout?: ProvisionLayout;
  /** Cozystack >= 1.1 per-user access: Secret `bucket-<n>-<u>` (or `bucket-<n>-<u>-credentials`). */
  user?: string;
  /** Delay between the S3 side being ready and the Secret being written. */
  secretDelayMs?: number;
  /** false: no Bucket object, just the S3 side and the Secret (an API group that is absent or forbidden). */
  bucketObject?: boolean;
}

export interface ProvisionedBucket {
  readonly namespace: string;
  readonly name: string;
  /** The real S3 bucket name (BucketInfo spec.bucketName), unlike `name`. */
  readonly bucketName: string;
  readonly secretName: string;
  readonly layout: ProvisionLayout;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The endpoint as written in the Secret. */
  readonly endpoint: string;
  /** Resolves once the Secret has been written and the Bucket marked Ready. */
  readonly secretWritten: Promise<void>;
}

export function secretNameFor(name: string, layout: ProvisionLayout, user: string | undefined): string {
  const base = user === undefined ? `bucket-${name}` : `bucket-${name}-${user}`;
  return layout === 'cozystack-flat' ? `${base}-credentials` : base;
}

/** The Secret payload in each layout, as Cozystack / COSI write it. */
export function secretData(b: Omit<ProvisionedBucket, 'secretWritten'>): { [k: string]: string } {
  switch (b.layout) {
    case 'bucketinfo':
      return {
        BucketInfo: JSON.stringify({
          metadata: { name: `bc-${randomUUID()}`, creationTimestamp: null },
          spec: {
            bucketName: b.bucketName,
            authenticationType: 'KEY',
            secretS3: { endpoint: b.endpoint, region: '', accessKeyID: b.accessKeyId, accessSecretKey: b.secretAccessKey },
            secretAzure: null,
            protocols: ['s3'],
          },
        }),
      };
    case 'cosi-v1alpha2':
      return {
        COSI_S3_ENDPOINT: b.endpoint,
        COSI_S3_BUCKET_ID: b.bucketName,
        COSI_S3_ACCESS_KEY_ID: b.accessKeyId,
        COSI_S3_ACCESS_SECRET_KEY: b.secretAccessKey,
        COSI_S3_REGION: '',
      };
    case 'cozystack-flat':
      return { accessKey: b.accessKeyId, secretKey: b.secretAccessKey, endpoint: b.endpoint, bucketName: b.bucketName };
  }
}

export function annotationsOf(opts: BucketOptions): { [k: string]: string } {
  const out: { [k: string]: string } = {};
  if (opts.layout !== undefined) out[ANNOTATION_LAYOUT] = opts.layout;
  if (opts.user !== undefined) out[ANNOTATION_USER] = opts.user;
  if (opts.secretDelayMs !== undefined) out[ANNOTATION_SECRET_DELAY_MS] = String(opts.secretDelayMs);
  return out;
}

export function optionsOf(annotations: { [k: string]: string }): BucketOptions {
  const delay = annotations[ANNOTATION_SECRET_DELAY_MS];
  return {
    layout: annotations[ANNOTATION_LAYOUT] as ProvisionLayout | undefined,
    user: annotations[ANNOTATION_USER],
    secretDelayMs: delay === undefined ? undefined : Number(delay),
  };
}
