import { CredentialsError } from '../errors.js';
import { bucketInfoKeyValues, parseBucketInfo, type BucketInfoFields } from './bucket-info.js';
import { describeSecret, type SecretData } from './secret.js';
import { DEFAULT_REGION, type BucketCredentials, type CredentialsSource, type SecretLayout } from './types.js';
import { optionalText, parseEndpoint, requireBucketName, requireDns1123Label, requireText } from './values.js';

/** Secret keys of each layout (DESIGN.md "Where credentials come from"). */
export const KEY_BUCKET_INFO = 'BucketInfo';
export const COSI_V1ALPHA2_KEYS = {
  endpoint: 'COSI_S3_ENDPOINT',
  bucketName: 'COSI_S3_BUCKET_ID',
  accessKeyId: 'COSI_S3_ACCESS_KEY_ID',
  secretAccessKey: 'COSI_S3_ACCESS_SECRET_KEY',
  region: 'COSI_S3_REGION',
} as const;
/** Cozystack's flat `bucket-<n>[-<u>]-credentials` Secret; its endpoint has no scheme. */
export const COZYSTACK_FLAT_KEYS = {
  endpoint: 'endpoint',
  bucketName: 'bucketName',
  accessKeyId: 'accessKey',
  secretAccessKey: 'secretKey',
} as const;

const SECRET_NAME = /^bucket-(.+?)(?:-credentials)?$/;

/**
 * Credentials from a Secret in any supported layout. `alias` defaults to the Bucket name inferred
 * from the Secret name (`bucket-<n>`, `bucket-<n>-credentials`).
 */
export function credentialsFromSecret(secret: SecretData, alias?: string): BucketCredentials {
  const source = describeSecret(secret.name, secret.namespace);
  const layout = detectLayout(secret, source);
  const fields = LAYOUT_PARSERS[layout](secret.data, source);
  return {
    alias: resolveAlias(alias, secret.name, source),
    bucketName: fields.bucketName,
    endpoint: fields.endpoint,
    region: fields.region ?? DEFAULT_REGION,
    accessKeyId: fields.accessKeyId,
    secretAccessKey: fields.secretAccessKey,
    source: sourceOf(secret, layout),
  };
}

/** Credentials from a raw BucketInfo JSON document (a file); the alias must be given. */
export function credentialsFromBucketInfo(text: string, label: string, alias: string): BucketCredentials {
  const fields = parseBucketInfo(text, label);
  const source: CredentialsSource = { layout: 'bucketinfo', name: label, namespace: undefined, uid: undefined, resourceVersion: undefined };
  return {
    alias: requireDns1123Label(alias, { source: label, field: 'alias' }),
    ...fields,
    region: fields.region ?? DEFAULT_REGION,
    source,
  };
}

export function detectLayout(secret: SecretData, source: string): SecretLayout {
  const keys = Object.keys(secret.data);
  if (keys.includes(KEY_BUCKET_INFO)) return 'bucketinfo';
  if (keys.some((key) => key.startsWith('COSI_S3_'))) return 'cosi-v1alpha2';
  if (keys.includes(COZYSTACK_FLAT_KEYS.accessKeyId) || keys.includes(COZYSTACK_FLAT_KEYS.secretAccessKey)) return 'cozystack-flat';
  const found = keys.length === 0 ? 'no keys' : `keys: ${keys.slice(0, 10).join(', ')}`;
  throw new CredentialsError(
    source,
    'data',
    `has none of the supported layouts: BucketInfo (COSI v1alpha1), COSI_S3_* (COSI v1alpha2), accessKey/secretKey (Cozystack); found ${found}`,
  );
}

type LayoutParser = (data: Readonly<Record<string, string>>, source: string) => BucketInfoFields;

const LAYOUT_PARSERS: { readonly [L in SecretLayout]: LayoutParser } = {
  bucketinfo: (data, source) => parseBucketInfo(data[KEY_BUCKET_INFO] ?? '', source),
  'cosi-v1alpha2': (data, source) => parseFlat(data, source, { ...COSI_V1ALPHA2_KEYS }),
  'cozystack-flat': (data, source) => parseFlat(data, source, { ...COZYSTACK_FLAT_KEYS, region: undefined }),
};

interface FlatKeys {
  endpoint: string;
  bucketName: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string | undefined;
}

function parseFlat(data: Readonly<Record<string, string>>, source: string, keys: FlatKeys): BucketInfoFields {
  const at = (key: string): { source: string; field: string } => ({ source, field: `data.${key}` });
  return {
    bucketName: requireBucketName(data[keys.bucketName], at(keys.bucketName)),
    endpoint: parseEndpoint(data[keys.endpoint], at(keys.endpoint)),
    region: keys.region === undefined ? undefined : optionalText(data[keys.region], at(keys.region)),
    accessKeyId: requireText(data[keys.accessKeyId], at(keys.accessKeyId)),
    secretAccessKey: requireText(data[keys.secretAccessKey], at(keys.secretAccessKey)),
  };
}

function resolveAlias(alias: string | undefined, secretName: string, source: string): string {
  if (alias !== undefined) return requireDns1123Label(alias, { source, field: 'alias' });
  const inferred = SECRET_NAME.exec(secretName)?.[1];
  if (inferred === undefined) {
    throw new CredentialsError(
      source,
      'metadata.name',
      'does not follow bucket-<name>[-credentials], so the alias cannot be inferred: pass --alias',
    );
  }
  return requireDns1123Label(inferred, { source, field: 'alias (inferred from metadata.name)' });
}

function sourceOf(secret: SecretData, layout: SecretLayout): CredentialsSource {
  return { layout, name: secret.name, namespace: secret.namespace, uid: secret.uid, resourceVersion: secret.resourceVersion };
}

/**
 * The key values a Secret holds in any layout, read leniently (no validation): the runtime masks
 * them in every output (src/redact.ts) before the payload is even checked.
 */
export function secretKeyValues(secret: SecretData): string[] {
  const { data } = secret;
  const flat = [
    COSI_V1ALPHA2_KEYS.accessKeyId,
    COSI_V1ALPHA2_KEYS.secretAccessKey,
    COZYSTACK_FLAT_KEYS.accessKeyId,
    COZYSTACK_FLAT_KEYS.secretAccessKey,
  ];
  return [...flat.map((key) => data[key]).filter((v): v is string => v !== undefined), ...bucketInfoKeyValues(data[KEY_BUCKET_INFO])];
}
