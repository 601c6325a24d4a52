import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { ServingCertificate } from '../../../src/runtime/webhook-certificate.js';
import { createWebhookMetrics } from '../../../src/runtime/webhook-metrics.js';
import { startWebhookServer, type WebhookServer } from '../../../src/runtime/webhook-server.js';
import { startFileCertificates } from '../../../src/runtime/webhook-tls-files.js';
import type { MutateFn } from '../../../src/webhook/admission.js';
import { generateCa, issueServing, type IssuedPair } from '../../../src/webhook/certificates.js';

const MIN = 60_000;
const lines: string[] = [];
const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });

const SECRET_ENV = 'very-secret-env-value-123';
const mutate: MutateFn = (pod) => {
  const name = (pod as { metadata?: { name?: string } }).metadata?.name;
  if (name === 'slow') {
    const until = Date.now() + 300;
    while (Date.now() < until);
  }
  if (name === 'bad') throw Object.assign(new Error('bucket-agent.io/buckets: required'), { name: 'AnnotationError' });
  if (name === 'bug') throw new TypeError(`boom ${SECRET_ENV}`);
  return { patch: [{ op: 'add', path: '/metadata/labels', value: { a: 'b' } }], warnings: [], injected: true };
};

function reviewBody(name: string, extra: object = {}): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `uid-${name}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      namespace: 'team',
      operation: 'CREATE',
      object: { metadata: { name }, spec: { containers: [{ name: 'app', env: [{ name: 'X', value: SECRET_ENV }] }] } },
      ...extra,
    },
  });
}

interface Answer {
  status: number;
  body: string;
  serial: string;
}

function post(
  url: string,
  ca: string,
  body: string | undefined,
  opts: { method?: string; path?: string; servername?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${url}${opts.path ?? '/mutate'}`,
      { method: opts.method ?? 'POST', ca, agent: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        const serial = (res.socket as TLSSocket).getPeerX509Certificate()?.serialNumber ?? '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, serial }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('webhook HTTPS server', () => {
  let ca: IssuedPair;
  let first: IssuedPair;
  let server: WebhookServer;
  const metrics = createWebhookMetrics({ processMetrics: false });

  before(async () => {
    ca = await generateCa({ commonName: 'test-ca', validityMs: 60 * MIN, nowMs: Date.now() });
    first = await issueServing(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'], validityMs: 30 * MIN, nowMs: Date.now() });
    server = await startWebhookServer({
      listen: { host: '127.0.0.1', port: 0 },
      mutate,
      metrics,
      log,
      reviewTimeoutMs: 500,
      certificate: { cert: first.cert, key: first.key },
    });
  });
  after(() => server.close(100));

  it('answers an AdmissionReview with the uid and the base64 patch', async () => {
    const answer = await post(server.url, ca.cert, reviewBody('web'));
    assert.equal(answer.status, 200);
    const response = (JSON.parse(answer.body) as { response: { uid: string; allowed: boolean; patchType: string; patch: string } })
      .response;
    assert.equal(response.uid, 'uid-web');
    assert.equal(response.patchType, 'JSONPatch');
    assert.deepEqual(JSON.parse(Buffer.from(response.patch, 'base64').toString()), [
      { op: 'add', path: '/metadata/labels', value: { a: 'b' } },
    ]);
  });

  it('a domain error is a 200 refusal with the message, never a 5xx', async () => {
    const answer = await post(server.url, ca.cert, reviewBody('bad'));
    assert.equal(answer.status, 200);
    assert.deepEqual((JSON.parse(answer.body) as { response: object }).response, {
      uid: 'uid-bad',
      allowed: false,
      status: { code: 400, reason: 'BadRequest', message: 'bucket-agent.io/buckets: required' },
    });
  });

  const bad: [string, string | undefined, RegExp, { method?: string; path?: string }?][] = [
    ['not JSON', '{"apiVersion": ', /^body is not valid JSON$/],
    ['JSON that quotes a value', `{"x": "${SECRET_ENV}" nope}`, /^body is not valid JSON$/],
    ['another kind', JSON.stringify({ apiVersion: 'v1', kind: 'Pod' }), /expected kind AdmissionReview/],
    ['no uid', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {} }), /request.uid is missing/],
  ];
  for (const [name, body, message] of bad) {
    it(`${name}: 400 with the reason`, async () => {
      const answer = await post(server.url, ca.cert, body);
      assert.equal(answer.status, 400);
      assert.match(answer.body.trim(), message);
      assert.ok(!answer.body.includes(SECRET_ENV));
    });
  }

  it('other paths and methods: 404, 405', async () => {
    assert.equal((await post(server.url, ca.cert, undefined, { path: '/' })).status, 404);
    assert.equal((await post(server.url, ca.cert, undefined, { method: 'GET' })).status, 405);
  });

  it('a bug is a 500 (failurePolicy decides), logged without the pod or its message', async () => {
    const answer = await post(server.url, ca.cert, reviewBody('bug'));
    assert.equal(answer.status, 500);
    const line = lines.find((l) => l.includes('"uid":"uid-bug"'));
    assert.ok(line !== undefined && line.includes('"namespace":"team"') && line.includes('"name":"bug"'));
  });

  it('a body not received within --review-timeout gets a 503', async () => {
    const answer = await new Promise<number>((resolve, reject) => {
      const req = https.request(
        `${server.url}/mutate`,
        { method: 'POST', ca: ca.cert, agent: false, headers: { 'content-length': '1000' } },
        (res) => resolve(res.statusCode ?? 0),
      );
      req.on('error', reject);
      req.write('{');
    });
    assert.equal(answer, 503);
  });

  it('setCertificate: new connections get the new certificate, no restart', async () => {
    const second = await issueServing(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], validityMs: 30 * MIN, nowMs: Date.now() });
    assert.equal((await post(server.url, ca.cert, reviewBody('web'))).serial, new X509Certificate(first.cert).serialNumber);
    server.setCertificate({ cert: second.cert, key: second.key });
    assert.equal((await post(server.url, ca.cert, reviewBody('web'))).serial, new X509Certificate(second.cert).serialNumber);
  });

  it('counts reviews by outcome and never logs the pod body or an env value', () => {
    const text = metrics.render();
    assert.match(text, /bucket_agent_webhook_reviews_total\{outcome="mutated"\} [1-9]/);
    assert.match(text, /bucket_agent_webhook_reviews_total\{outcome="refused"\} 1/);
    assert.match(text, /bucket_agent_webhook_reviews_total\{outcome="bad-request"\} [1-9]/);
    assert.match(text, /bucket_agent_webhook_reviews_total\{outcome="timeout"\} 1/);
    assert.match(text, /bucket_agent_webhook_review_duration_seconds_count [1-9]/);
    for (const line of lines) assert.ok(!line.includes(SECRET_ENV), `log line leaks: ${line}`);
  });

  it('close() answers the review in flight before it resolves', async () => {
    const other = await startWebhookServer({
      listen: { host: '::1', port: 0 },
      mutate,
      metrics,
      log,
      reviewTimeoutMs: 2000,
      certificate: { cert: first.cert, key: first.key },
    });
    assert.match(other.url, /^https:\/\/\[::1\]:\d+$/);
    const inFlight = post(other.url, ca.cert, reviewBody('slow'));
    await new Promise((r) => setTimeout(r, 100));
    const closed = other.close(2000);
    const answer = await inFlight;
    await closed;
    assert.equal(answer.status, 200);
  });
});

describe('--tls files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webhook-tls-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** As the kubelet writes a Secret volume: files in a timestamped dir, `..data` swapped, stable symlinks. */
  function writeVolume(gen: number, pair: { cert: string; key: string }): void {
    const ts = join(dir, `..gen${gen}`);
    mkdirSync(ts);
    writeFileSync(join(ts, 'tls.crt'), pair.cert);
    writeFileSync(join(ts, 'tls.key'), pair.key);
    symlinkSync(`..gen${gen}`, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    if (gen === 1) {
      symlinkSync('..data/tls.crt', join(dir, 'tls.crt'));
      symlinkSync('..data/tls.key', join(dir, 'tls.key'));
    }
  }

  it('loads the pair, swaps in a renewed one on the ..data swap, and keeps the old one when the new is bad', async () => {
    const ca = await generateCa({ commonName: 'files-ca', validityMs: 60 * MIN, nowMs: Date.now() });
    const issue = (): Promise<IssuedPair> =>
      issueServing(ca, { dnsNames: ['localhost'], ipAddresses: [], validityMs: 30 * MIN, nowMs: Date.now() });
    const [a, b, c] = [await issue(), await issue(), await issue()];
    writeVolume(1, a);
    const loaded: ServingCertificate[] = [];
    let rejected = 0;
    const source = startFileCertificates({
      certFile: join(dir, 'tls.crt'),
      keyFile: join(dir, 'tls.key'),
      log,
      onCertificate: (cert) => loaded.push(cert),
      onRejected: () => (rejected += 1),
      debounceMs: 50,
    });
    const until = async (check: () => boolean): Promise<void> => {
      for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(check());
    };
    await until(() => loaded.length === 1);
    writeVolume(2, b);
    await until(() => loaded.length === 2);
    writeVolume(3, { cert: c.cert, key: a.key });
    await until(() => rejected === 1);
    writeVolume(4, c);
    await until(() => loaded.length === 3);
    await source.close();
    assert.deepEqual(
      loaded.map((l) => l.serial),
      [a, b, c].map((p) => new X509Certificate(p.cert).serialNumber),
    );
    for (const line of lines) assert.ok(!line.includes('PRIVATE KEY'), 'a key reached the log');
  });
});
