/**
 * Probes a bucket's keys with minio-js: a 1-key ListObjectsV2, which answers with exact S3 codes
 * (DESIGN.md "Facts": HEAD-based bucketExists only says 403). minio is imported on first use, so
 * `--no-verify` never pays for loading it.
 */
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { effectivePort, type BucketCredentials } from '../credentials/index.js';

export interface ProbeOptions {
  /** Extra trusted CA certificates (PEM), added to the system's. */
  readonly ca: Buffer | undefined;
  /** Accept any server certificate: an explicit opt-in, for test setups only. */
  readonly insecureSkipTlsVerify: boolean;
  readonly timeoutMs: number;
}

/** Resolves when the keys may list the bucket; rejects with minio's or node's error otherwise. */
export async function probeBucket(creds: BucketCredentials, options: ProbeOptions): Promise<void> {
  const { Client } = await import('minio');
  const agent = transportAgent(creds, options);
  const { endpoint } = creds;
  const client = new Client({
    endPoint: endpoint.host.replace(/^\[(.*)\]$/, '$1'),
    port: effectivePort(endpoint),
    useSSL: endpoint.scheme === 'https',
    accessKey: creds.accessKeyId,
    secretKey: creds.secretAccessKey,
    // A region set up front saves minio a `?location` round trip; path style works with every backend.
    region: creds.region,
    pathStyle: true,
    transportAgent: agent,
    // Retries are ours (bounded, with words for each failure); minio's would hide the first error.
    retryOptions: { disableRetry: true },
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('S3 did not answer in time'), { code: 'ETIMEDOUT' })), options.timeoutMs);
  });
  try {
    await Promise.race([client.listObjectsV2Query(creds.bucketName, '', '', '', 1, ''), timeout]);
  } finally {
    clearTimeout(timer);
    agent.destroy();
  }
}

function transportAgent(creds: BucketCredentials, options: ProbeOptions): http.Agent {
  if (creds.endpoint.scheme === 'http') return new http.Agent({ keepAlive: false });
  return new https.Agent({
    keepAlive: false,
    ca: options.ca === undefined ? undefined : [...rootCertificates, options.ca.toString('utf8')],
    rejectUnauthorized: !options.insecureSkipTlsVerify,
  });
}
