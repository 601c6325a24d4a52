/**
 * The app of bench/rotation's SDK case: a real @aws-sdk/client-s3 client given nothing but the
 * container-credentials variables (AWS_CONTAINER_CREDENTIALS_FULL_URI and
 * AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, set by the bench), making one request every ~100 ms to
 * the S3 endpoint in argv[2] (the bench's recording server, which reads the signing key from the
 * Authorization header). The SDK's default credential chain and its own refresh logic decide when
 * new keys are fetched: that is what is measured.
 *
 * Also the app of `npm run demo` (scripts/demo/clients.ts), against the real SeaweedFS: there it
 * writes an object (argv[4] `put`) into the bucket argv[3] every argv[5] ms.
 * Usage: node rotation-sdk-app.js ENDPOINT [BUCKET=bench-real] [head|put=head] [INTERVAL_MS=100]
 * stdout: one JSON line per request, `{"at":<Date.now()>,"key":"<access key id>","ok":true}` or
 * with `"ok":false,"error":"<name>"`; stderr: diagnostics for a log.
 */
import { HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

const [endpoint = '', bucket = 'bench-real', operation = 'head', interval = '100'] = process.argv.slice(2);
const client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, maxAttempts: 1 });
let stopping = false;
let lastKey = '';
process.once('SIGTERM', () => (stopping = true));

const request = async (n: number): Promise<unknown> =>
  operation === 'put'
    ? client.send(new PutObjectCommand({ Bucket: bucket, Key: `sdk/${String(n).padStart(6, '0')}.txt`, Body: `object ${n}\n` }))
    : client.send(new HeadBucketCommand({ Bucket: bucket }));

for (let n = 0; !stopping; n += 1) {
  let key = '';
  try {
    // Diagnostics for the bench's log: each change of the keys the SDK holds, with their Expiration.
    const identity = await client.config.credentials();
    key = identity.accessKeyId;
    if (identity.accessKeyId !== lastKey) {
      lastKey = identity.accessKeyId;
      process.stderr.write(
        `${new Date().toISOString()} signing with ${identity.accessKeyId}, expiration ${identity.expiration?.toISOString() ?? 'none'}\n`,
      );
    }
    await request(n);
    process.stdout.write(`${JSON.stringify({ at: Date.now(), key, ok: true })}\n`);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ at: Date.now(), key, ok: false, error: err instanceof Error ? err.name : 'unknown' })}\n`);
    process.stderr.write(`request failed: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  await new Promise((resolve) => setTimeout(resolve, Number(interval)));
}
client.destroy();
