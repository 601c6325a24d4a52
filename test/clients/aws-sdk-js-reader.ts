/**
 * What a Node program using the AWS SDK for JavaScript v3 makes of rendered aws/ files: run as a
 * child process with AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE in its environment, as an app
 * would be, so the SDK finds the files by its own rules (and caches them per process).
 *
 * stdin: a JSON Request; stdout: a JSON array, one answer per query.
 * - `settings`: each profile's credentials and region, the checksum settings, and the URL of a
 *   ListObjectsV2 request (endpoint and addressing style), signed but never sent; `{ error }`
 *   when the SDK finds no credentials in the profile.
 * - `roundtrip`: uploads `body` under `key` with the profile, downloads it, returns what came back.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { text } from 'node:stream/consumers';

export interface SettingsQuery {
  readonly profile: string;
  readonly forcePathStyle?: boolean;
}

export interface Settings {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  /** `http://127.0.0.1:8333/bucket?list-type=2`: scheme, host, port and where the bucket went. */
  readonly requestUrl: string;
  readonly requestChecksumCalculation: string;
  readonly responseChecksumValidation: string;
}

export interface RoundtripQuery {
  readonly profile: string;
  readonly bucket: string;
  readonly key: string;
  readonly body: string;
}

export type Request =
  | { readonly mode: 'settings'; readonly queries: readonly SettingsQuery[] }
  | { readonly mode: 'roundtrip'; readonly queries: readonly RoundtripQuery[] };

/** Thrown by the request handler below with the request the SDK built, endpoint resolved and signed. */
class NotSent extends Error {
  constructor(readonly url: string) {
    super('not sent');
  }
}

interface HttpRequestLike {
  readonly protocol: string;
  readonly hostname: string;
  readonly port?: number;
  readonly path: string;
  readonly query: Record<string, unknown>;
}

const capture = {
  handle(request: HttpRequestLike): Promise<never> {
    const port = request.port === undefined ? '' : `:${request.port}`;
    const query = new URLSearchParams(Object.entries(request.query).map(([k, v]): [string, string] => [k, String(v)])).toString();
    return Promise.reject(new NotSent(`${request.protocol}//${request.hostname}${port}${request.path}${query === '' ? '' : `?${query}`}`));
  },
};

async function settings(query: SettingsQuery): Promise<Settings | { readonly error: string }> {
  const client = new S3Client({ profile: query.profile, forcePathStyle: query.forcePathStyle, requestHandler: capture });
  let credentials;
  try {
    credentials = await client.config.credentials();
  } catch (err) {
    // A key the parser cut to nothing leaves the profile without credentials.
    return { error: err instanceof Error ? err.message : String(err) };
  }
  let requestUrl = '';
  try {
    await client.send(new ListObjectsV2Command({ Bucket: 'bucket', MaxKeys: 1 }));
  } catch (err) {
    if (!(err instanceof NotSent)) throw err;
    requestUrl = err.url;
  }
  return {
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
    region: await client.config.region(),
    requestUrl,
    requestChecksumCalculation: await client.config.requestChecksumCalculation(),
    responseChecksumValidation: await client.config.responseChecksumValidation(),
  };
}

async function roundtrip(query: RoundtripQuery): Promise<string> {
  // Only botocore reads `s3 = addressing_style = path`: every other SDK needs path style in code.
  const client = new S3Client({ profile: query.profile, forcePathStyle: true });
  try {
    await client.send(new PutObjectCommand({ Bucket: query.bucket, Key: query.key, Body: query.body }));
    const got = await client.send(new GetObjectCommand({ Bucket: query.bucket, Key: query.key }));
    if (got.Body === undefined) throw new Error(`GetObject ${query.key}: no body`);
    return await text(got.Body as NodeJS.ReadableStream);
  } finally {
    client.destroy();
  }
}

async function main(): Promise<void> {
  const request = JSON.parse(await text(process.stdin)) as Request;
  const answers: unknown[] = [];
  // One at a time: the answers are in query order and the SDK's file cache is warm after the first.
  if (request.mode === 'settings') for (const query of request.queries) answers.push(await settings(query));
  else for (const query of request.queries) answers.push(await roundtrip(query));
  process.stdout.write(JSON.stringify(answers));
}

await main();
