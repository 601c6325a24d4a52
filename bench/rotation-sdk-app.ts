/**
 * The app of bench/rotation's SDK case: a real @aws-sdk/client-s3 client given nothing but the
 * container-credentials variables (AWS_CONTAINER_CREDENTIALS_FULL_URI and
 * AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, set by the bench), making one request every ~100 ms to
 * the S3 endpoint in argv[2] (the bench's recording server, which reads the signing key from the
 * Authorization header). The SDK's default credential chain and its own refresh logic decide when
 * new keys are fetched: that is what is measured.
 */
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';

const endpoint = process.argv[2] ?? '';
const client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, maxAttempts: 1 });
let stopping = false;
let lastKey = '';
process.once('SIGTERM', () => (stopping = true));

while (!stopping) {
  try {
    // Diagnostics for the bench's log: each change of the keys the SDK holds, with their Expiration.
    const identity = await client.config.credentials();
    if (identity.accessKeyId !== lastKey) {
      lastKey = identity.accessKeyId;
      process.stderr.write(
        `${new Date().toISOString()} signing with ${identity.accessKeyId}, expiration ${identity.expiration?.toISOString() ?? 'none'}\n`,
      );
    }
    await client.send(new HeadBucketCommand({ Bucket: 'bench-real' }));
  } catch (err) {
    process.stderr.write(`request failed: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
}
client.destroy();
