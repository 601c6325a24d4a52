import { CredentialsError } from '../errors.js';
import type { S3Endpoint } from './types.js';
import { parseEndpoint, optionalText, requireBucketName, requireText } from './values.js';

/**
 * COSI v1alpha1 `BucketInfo`, the JSON blob Cozystack writes under the Secret key `BucketInfo`
 * (sigs.k8s.io/container-object-storage-interface-api, no omitempty):
 *
 *   {metadata:{name}, spec:{bucketName, authenticationType, protocols,
 *                          secretS3:{endpoint, region, accessKeyID, accessSecretKey}, secretAzure}}
 */
export interface BucketInfoFields {
  readonly bucketName: string;
  readonly endpoint: S3Endpoint;
  readonly region: string | undefined;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

const FIELD = 'BucketInfo';
/** COSI's protocol names (BucketClass `protocols`). */
const KNOWN_PROTOCOLS: ReadonlySet<string> = new Set(['s3', 'azure', 'gcs']);

export function parseBucketInfo(text: string, source: string): BucketInfoFields {
  const spec = objectAt(parseJson(text, source), 'spec', source);
  const s3 = spec.secretS3;
  if (s3 === null || s3 === undefined) throw missingS3(spec, source);
  if (typeof s3 !== 'object' || Array.isArray(s3)) {
    throw new CredentialsError(source, `${FIELD}.spec.secretS3`, 'must be an object');
  }
  checkAuthenticationType(spec.authenticationType, source);
  const fields = s3 as Record<string, unknown>;
  const at = (name: string): { source: string; field: string } => ({ source, field: `${FIELD}.spec.secretS3.${name}` });
  return {
    bucketName: requireBucketName(spec.bucketName, { source, field: `${FIELD}.spec.bucketName` }),
    endpoint: parseEndpoint(fields.endpoint, at('endpoint')),
    region: optionalText(fields.region, at('region')),
    accessKeyId: requireText(fields.accessKeyID, at('accessKeyID')),
    secretAccessKey: requireText(fields.accessSecretKey, at('accessSecretKey')),
  };
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    // JSON.parse messages quote the input near the error, which may be a key: keep only the position.
    const where = err instanceof SyntaxError ? /position \d+/.exec(err.message)?.[0] : undefined;
    throw new CredentialsError(source, FIELD, `is not valid JSON${where === undefined ? '' : ` (${where})`}`);
  }
}

function objectAt(parent: unknown, key: string, source: string): Record<string, unknown> {
  if (typeof parent !== 'object' || parent === null || Array.isArray(parent)) {
    throw new CredentialsError(source, FIELD, 'must be a JSON object');
  }
  const value = (parent as Record<string, unknown>)[key];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CredentialsError(source, `${FIELD}.${key}`, value === undefined ? 'is missing' : 'must be an object');
  }
  return value as Record<string, unknown>;
}

/** No S3 section: name what the bucket offers instead, so "Azure-only" is said as such. */
function missingS3(spec: Record<string, unknown>, source: string): CredentialsError {
  const protocols = Array.isArray(spec.protocols) ? spec.protocols.filter((p) => typeof p === 'string') : [];
  const azure = spec.secretAzure !== null && spec.secretAzure !== undefined;
  if (azure || protocols.some((p) => p.toLowerCase() === 'azure')) {
    return new CredentialsError(source, `${FIELD}.spec.protocols`, 'unsupported protocol azure: bucket-agent needs an S3 bucket');
  }
  // Only protocol names COSI defines are echoed: anything else in a payload could be a key.
  const known = protocols.filter((p) => KNOWN_PROTOCOLS.has(p.toLowerCase()));
  const offered = known.length === 0 ? '' : ` (protocols: ${known.join(', ')})`;
  return new CredentialsError(source, `${FIELD}.spec.secretS3`, `is missing${offered}`);
}

function checkAuthenticationType(value: unknown, source: string): void {
  // "IAM" means the workload gets credentials elsewhere (no keys in the Secret).
  if (value === undefined || value === null || value === '' || value === 'KEY' || value === 'Key') return;
  const shown = value === 'IAM' ? ' IAM' : '';
  throw new CredentialsError(source, `${FIELD}.spec.authenticationType`, `unsupported authentication type${shown} (only KEY is supported)`);
}

/**
 * The key values in a BucketInfo document, read leniently (no validation), so that they can be
 * masked in every output even when the document is refused.
 */
export function bucketInfoKeyValues(text: string | undefined): string[] {
  if (text === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return keyValuesInBrokenJson(text);
  }
  const s3 = (parsed as { spec?: { secretS3?: Record<string, unknown> } } | null)?.spec?.secretS3;
  if (typeof s3 !== 'object' || s3 === null) return [];
  return [s3.accessKeyID, s3.accessSecretKey].filter((v): v is string => typeof v === 'string');
}

const KEY_MEMBER = /"(?:accessKeyID|accessSecretKey)"\s*:\s*"((?:[^"\\]|\\.)*)"/g;

/** A document that does not parse (cut short, a stray comma) may still hold the keys. */
function keyValuesInBrokenJson(text: string): string[] {
  return [...text.matchAll(KEY_MEMBER)].map((match) => {
    const raw = match[1] ?? '';
    try {
      return JSON.parse(`"${raw}"`) as string;
    } catch {
      return raw;
    }
  });
}
