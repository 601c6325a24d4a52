import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { parseListen } from '../../src/config/listen.js';
import { UsageError } from '../../src/errors.js';
import {
  credentialsExpiration,
  generateToken,
  startCredentialsEndpoint,
  type CredentialsEndpointOptions,
  type ServedKeys,
} from '../../src/runtime/credentials-endpoint.js';
import type { RunningServer } from '../../src/runtime/http-server.js';
import { REPO_ROOT, requireProgram } from '../env/tools.js';

const KEYS_A: ServedKeys = { accessKeyId: 'AKIAOLDKEY0000000001', secretAccessKey: 'old/Secret+Key0000000000000000000000001' };
const KEYS_B: ServedKeys = { accessKeyId: 'AKIANEWKEY0000000002', secretAccessKey: 'new/Secret+Key0000000000000000000000002' };

const dir = mkdtempSync(join(tmpdir(), 'creds-endpoint-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function get(url: string, headers: http.OutgoingHttpHeaders = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function logBuffer(): { log: CredentialsEndpointOptions['log']; text: () => string } {
  let text = '';
  return {
    log: pino(
      { level: 'trace' },
      new Writable({
        write(chunk: Buffer, _e, cb) {
          text += chunk.toString();
          cb();
        },
      }),
    ),
    text: () => text,
  };
}

/** A stand-in S3 that records which access key id signed each request (the SDKs are real). */
async function startRecorder(): Promise<{ url: string; keys: string[]; close(): Promise<void> }> {
  const keys: string[] = [];
  const server = http.createServer((req, res) => {
    const match = /Credential=([^/]+)\//.exec(req.headers.authorization ?? '');
    keys.push(match?.[1] ?? 'unsigned');
    req.resume();
    res.writeHead(200, { 'content-length': 0 }).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    keys,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function run(program: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(program, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (status) => resolve({ status, output }));
  });
}

describe('credentials endpoint', () => {
  const token = generateToken();
  let current: ServedKeys = KEYS_A;
  let fetches = 0;
  const answers: string[] = [];
  const logs = logBuffer();
  let server: RunningServer;
  let base = '';
  before(async () => {
    server = await startCredentialsEndpoint({
      listen: parseListen('127.0.0.1:0', 'credentials-listen'),
      token,
      lookup: (alias) => {
        fetches += 1;
        return alias === 'backup' ? current : undefined;
      },
      log: logs.log,
      onAnswer: (code) => answers.push(code),
      // JS v3's window and a 1 s re-fetch: the SDK should come back about every second.
      expiration: { refreshWindowSeconds: 300, refetchAfterSeconds: 1 },
    });
    base = `${server.url}/v1/credentials`;
  });
  after(() => server.close());

  it('generates 32 random bytes as hex', () => {
    const a = generateToken();
    assert.match(a, /^[0-9a-f]{64}$/);
    assert.notEqual(a, generateToken());
  });

  it('serves the keys in the container-credentials format, every field a string', async () => {
    const started = Date.now();
    const reply = await get(`${base}/backup`, { authorization: token });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], 'application/json');
    assert.equal(reply.headers['cache-control'], 'no-store');
    const body = JSON.parse(reply.body) as Record<string, string>;
    assert.deepEqual(Object.keys(body), ['AccessKeyId', 'SecretAccessKey', 'Token', 'Expiration']);
    assert.equal(body.AccessKeyId, KEYS_A.accessKeyId);
    assert.equal(body.SecretAccessKey, KEYS_A.secretAccessKey);
    assert.equal(body.Token, '');
    assert.match(body.Expiration ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const seconds = (Date.parse(body.Expiration ?? '') - started) / 1000;
    assert.ok(seconds > 300 && seconds <= 303, `Expiration ${seconds} s ahead`);
  });

  const refusals: { name: string; path: string; headers?: http.OutgoingHttpHeaders; method?: string; status: number; code: string }[] = [
    { name: 'no token', path: '/v1/credentials/backup', status: 401, code: 'Unauthorized' },
    { name: 'an empty token', path: '/v1/credentials/backup', headers: { authorization: '' }, status: 401, code: 'Unauthorized' },
    {
      name: 'a wrong token',
      path: '/v1/credentials/backup',
      headers: { authorization: generateToken() },
      status: 403,
      code: 'AccessDenied',
    },
    {
      name: 'the token with a prefix',
      path: '/v1/credentials/backup',
      headers: { authorization: 'Bearer TOKEN' },
      status: 403,
      code: 'AccessDenied',
    },
    {
      name: 'a wrong token for an unknown alias',
      path: '/v1/credentials/nope',
      headers: { authorization: 'x' },
      status: 403,
      code: 'AccessDenied',
    },
    { name: 'an unknown alias', path: '/v1/credentials/nope', headers: { authorization: 'TOKEN' }, status: 404, code: 'NotFound' },
    {
      name: 'an alias that is not a DNS label',
      path: '/v1/credentials/Backup',
      headers: { authorization: 'TOKEN' },
      status: 404,
      code: 'NotFound',
    },
    { name: 'a path trick', path: '/v1/credentials/../backup', headers: { authorization: 'TOKEN' }, status: 404, code: 'NotFound' },
    { name: 'another path', path: '/latest/meta-data/', headers: { authorization: 'TOKEN' }, status: 404, code: 'NotFound' },
    {
      name: 'POST',
      path: '/v1/credentials/backup',
      headers: { authorization: 'TOKEN' },
      method: 'POST',
      status: 405,
      code: 'MethodNotAllowed',
    },
  ];
  for (const { name, path, headers = {}, method = 'GET', status, code } of refusals) {
    it(`refuses ${name} with ${status}`, async () => {
      const sent = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v).replace('TOKEN', token)]));
      const reply = await get(`${server.url}${path}`, sent, method);
      assert.equal(reply.status, status);
      assert.equal((JSON.parse(reply.body) as { Code: string }).Code, code);
      assert.ok(!reply.body.includes(KEYS_A.accessKeyId) && !reply.body.includes(token));
    });
  }

  it('counts every answer by status', () => {
    for (const code of ['200', '401', '403', '404', '405']) assert.ok(answers.includes(code), `${code} in ${answers.join(',')}`);
  });

  it('is followed by the AWS SDK for JavaScript v3 given only the two variables, across a rotation', async (t) => {
    const recorder = await startRecorder();
    const tokenFile = join(dir, 'container-token');
    writeFileSync(tokenFile, token);
    const app = `
      const { createRequire } = require('node:module');
      const { S3Client, HeadBucketCommand } = createRequire(${JSON.stringify(join(REPO_ROOT, 'package.json'))})('@aws-sdk/client-s3');
      const s3 = new S3Client({ region: 'us-east-1', endpoint: ${JSON.stringify(recorder.url)}, forcePathStyle: true, maxAttempts: 1 });
      (async () => {
        for (let i = 0; i < 40; i += 1) {
          await s3.send(new HeadBucketCommand({ Bucket: 'b' }));
          await new Promise((r) => setTimeout(r, 100));
        }
      })().catch((e) => { console.error(e.name, e.message); process.exit(1); });`;
    const env = {
      PATH: process.env.PATH,
      HOME: dir,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${base}/backup`,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
    };
    current = KEYS_A;
    const fetchesBefore = fetches;
    const done = run(process.execPath, ['-e', app], env);
    while (recorder.keys.length < 5) await new Promise((r) => setTimeout(r, 20));
    current = KEYS_B;
    const rotatedAt = Date.now();
    while (!recorder.keys.includes(KEYS_B.accessKeyId) && Date.now() - rotatedAt < 5000) await new Promise((r) => setTimeout(r, 10));
    const tookMs = Date.now() - rotatedAt;
    const result = await done;
    await recorder.close();
    assert.equal(result.status, 0, result.output);
    const firstNew = recorder.keys.indexOf(KEYS_B.accessKeyId);
    assert.ok(firstNew > 0, 'the app never signed with the new key');
    assert.equal(recorder.keys[0], KEYS_A.accessKeyId);
    assert.deepEqual(
      recorder.keys.slice(firstNew).filter((k) => k !== KEYS_B.accessKeyId),
      [],
      'back to the old key after the switch',
    );
    assert.ok(tookMs < 2500, `new key signed ${tookMs} ms after the rotation (re-fetch set to 1 s)`);
    const appFetches = fetches - fetchesBefore;
    t.diagnostic(`new key signed ${tookMs} ms after the rotation; ${appFetches} credential fetches for ${recorder.keys.length} requests`);
    assert.ok(
      appFetches >= 2 && appFetches < recorder.keys.length / 2,
      `${appFetches} fetches for ${recorder.keys.length} requests: re-fetch, without hammering`,
    );
  });

  it('is used by the aws CLI, and a wrong token makes the SDKs fail', async () => {
    const aws = requireProgram('aws', 'pip install awscli');
    const recorder = await startRecorder();
    const good = join(dir, 'good-token');
    const bad = join(dir, 'bad-token');
    writeFileSync(good, token);
    writeFileSync(bad, generateToken());
    current = KEYS_A;
    const env = (file: string): NodeJS.ProcessEnv => ({
      PATH: process.env.PATH,
      HOME: dir,
      AWS_CONFIG_FILE: join(dir, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${base}/backup`,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: file,
    });
    const args = ['s3api', 'head-bucket', '--bucket', 'b', '--endpoint-url', recorder.url, '--region', 'us-east-1'];
    const ok = await run(aws, args, env(good));
    assert.equal(ok.status, 0, ok.output);
    assert.deepEqual(recorder.keys, [KEYS_A.accessKeyId]);
    const refused = await run(aws, args, env(bad));
    assert.notEqual(refused.status, 0);
    assert.match(refused.output, /credential|403|AccessDenied/i);
    const app = `
      const { createRequire } = require('node:module');
      const { S3Client, HeadBucketCommand } = createRequire(${JSON.stringify(join(REPO_ROOT, 'package.json'))})('@aws-sdk/client-s3');
      new S3Client({ region: 'us-east-1', endpoint: ${JSON.stringify(recorder.url)}, forcePathStyle: true, maxAttempts: 1 })
        .send(new HeadBucketCommand({ Bucket: 'b' })).then(() => process.exit(0), (e) => { console.error(e.name); process.exit(3); });`;
    const js = await run(process.execPath, ['-e', app], env(bad));
    await recorder.close();
    assert.equal(js.status, 3, js.output);
    assert.match(js.output, /CredentialsProviderError/);
    assert.deepEqual(recorder.keys, [KEYS_A.accessKeyId], 'nothing was signed with a wrong token');
  });

  it('logs neither the token nor the keys', () => {
    const text = logs.text();
    assert.match(text, /credentials request/);
    for (const secret of [token, KEYS_A.accessKeyId, KEYS_A.secretAccessKey, KEYS_B.accessKeyId, KEYS_B.secretAccessKey]) {
      assert.ok(!text.includes(secret), 'a secret reached the log');
    }
  });
});

describe('credentials endpoint: start', () => {
  const options = (listen: string): CredentialsEndpointOptions => ({
    listen: parseListen(listen, 'credentials-listen'),
    token: generateToken(),
    lookup: () => undefined,
    log: pino({ level: 'silent' }),
  });
  for (const listen of ['0.0.0.0:0', '[::]:0', ':0', '10.0.0.1:0']) {
    it(`refuses to listen on ${listen}`, async () => {
      await assert.rejects(
        startCredentialsEndpoint(options(listen)),
        (err: unknown) => err instanceof UsageError && /not a loopback address/.test(err.message),
      );
    });
  }

  it('listens on [::1] and localhost', async () => {
    for (const listen of ['[::1]:0', 'localhost:0']) {
      const server = await startCredentialsEndpoint(options(listen));
      assert.equal((await get(`${server.url}/v1/credentials/x`)).status, 401);
      await server.close();
    }
  });

  it('refuses a short token', async () => {
    await assert.rejects(startCredentialsEndpoint({ ...options('127.0.0.1:0'), token: 'short' }), /too short/);
  });
});

describe('credentials Expiration', () => {
  const now = Date.parse('2026-01-01T00:00:00.250Z');
  const table: { policy: { refreshWindowSeconds: number; refetchAfterSeconds: number } | undefined; expected: string }[] = [
    { policy: undefined, expected: '2026-01-01T00:06:01Z' },
    { policy: { refreshWindowSeconds: 900, refetchAfterSeconds: 60 }, expected: '2026-01-01T00:16:01Z' },
    { policy: { refreshWindowSeconds: 0, refetchAfterSeconds: 30 }, expected: '2026-01-01T00:00:31Z' },
  ];
  for (const { policy, expected } of table) {
    it(`is now + window + re-fetch, rounded up to the second: ${expected}`, () =>
      assert.equal(credentialsExpiration(now, policy), expected));
  }
});
