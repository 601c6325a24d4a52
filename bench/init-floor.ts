/**
 * The least a Node process can do for init's job, run by bench/init.ts beside the real thing: one
 * GET of the Secret over https with the test environment's admin kubeconfig (JSON, client
 * certificate), one file written with its BucketInfo. No argument parsing, logging, kubeconfig
 * rules, Bucket, verification, rendering or atomic swap: it measures Node's own start-up and
 * TLS, the floor under any bucket-agent start-up.
 *
 * Usage: node dist/bench/init-floor.js <kubeconfig.json> <namespace> <secret> <out-file>
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type * as Https from 'node:https';
import { createRequire } from 'node:module';

// As the bundle does (scripts/bundle.mjs): node:https by require(), not by an ESM facade.
const https = createRequire(import.meta.url)('node:https') as typeof Https;

interface Kubeconfig {
  clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
  users: { user: { 'client-certificate-data': string; 'client-key-data': string } }[];
}

const [kubeconfig = '', namespace = '', secret = '', out = ''] = process.argv.slice(2);
const config = JSON.parse(readFileSync(kubeconfig, 'utf8')) as Kubeconfig;
const cluster = config.clusters[0]?.cluster;
const user = config.users[0]?.user;
if (cluster === undefined || user === undefined) throw new Error(`${kubeconfig}: no cluster or user`);
const pem = (base64: string): Buffer => Buffer.from(base64, 'base64');

const url = `${cluster.server}/api/v1/namespaces/${namespace}/secrets/${secret}`;
const options = {
  ca: pem(cluster['certificate-authority-data']),
  cert: pem(user['client-certificate-data']),
  key: pem(user['client-key-data']),
};
https
  .get(url, options, (res) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data?: { BucketInfo?: string } };
      if (res.statusCode !== 200 || body.data?.BucketInfo === undefined) throw new Error(`GET ${url}: ${res.statusCode}`);
      writeFileSync(out, pem(body.data.BucketInfo), { mode: 0o440 });
    });
  })
  .on('error', (err) => {
    throw err;
  });
