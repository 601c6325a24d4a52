import { Client, S3Error } from 'minio';
import type { S3Keys } from './s3-keys.js';

/** Region every test client sends; setting it avoids minio-js's `?location` round trip. */
export const TEST_REGION = 'us-east-1';

/** A minio-js client for `endpoint` (`http://host:port`), path-style as SeaweedFS needs. */
export function s3Client(endpoint: string, keys: S3Keys): Client {
  const url = new URL(endpoint);
  const useSSL = url.protocol === 'https:';
  return new Client({
    endPoint: url.hostname,
    port: url.port === '' ? (useSSL ? 443 : 80) : Number(url.port),
    useSSL,
    pathStyle: true,
    region: TEST_REGION,
    accessKey: keys.accessKeyId,
    secretKey: keys.secretAccessKey,
  });
}

/**
 * `'OK'` or the S3 error code of a 1-key ListObjectsV2 on `bucket`. A GET is used on purpose:
 * HEAD-based calls (bucketExists, statObject) have no body, so bad keys come back as a vague
 * AccessDenied instead of InvalidAccessKeyId / SignatureDoesNotMatch (DESIGN.md, minio-js 8).
 * Transport errors (connection refused) are thrown, not turned into codes.
 */
export async function listProbe(client: Client, bucket: string): Promise<string> {
  try {
    await client.listObjectsV2Query(bucket, '', '', '', 1, '');
    return 'OK';
  } catch (err: unknown) {
    if (err instanceof S3Error && typeof err.code === 'string') return err.code;
    throw err;
  }
}
