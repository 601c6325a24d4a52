/**
 * `webhook` in the image (issue 12: "`webhook` answering an AdmissionReview"): hardened as a
 * cluster runs it, with a cert-manager-style certificate pair mounted (`--tls files`), on the host
 * network. A realistic review POSTed over TLS comes back with a JSON patch that injects the agent;
 * SIGTERM ends it promptly with exit 0. No apiserver is needed for `--tls files`.
 */
import assert from 'node:assert/strict';
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { realisticReview } from '../../bench/webhook-review.js';
import { generateCa, issueServing } from '../../src/webhook/certificates.js';
import { freePort, waitUntil } from '../env/process.js';
import { HARDENED, requireImage, startContainer, type Container } from './engine.js';

const IMAGE_UID = 65532;

let work: string;
const containers: Container[] = [];

before(async () => {
  await requireImage();
  work = await mkdtemp(join(tmpdir(), 'bucket-agent-image-webhook-'));
});

after(async () => {
  for (const container of containers) await container.remove();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

/** POSTs `body` to `url` trusting only `ca`; the status and the parsed answer. */
function post(url: string, ca: string, body: string): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', ca, headers: { 'content-type': 'application/json' }, agent: false }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text.startsWith('{') ? JSON.parse(text) : text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface ReviewAnswer {
  readonly response?: { readonly uid?: string; readonly allowed?: boolean; readonly patchType?: string; readonly patch?: string };
}

describe('webhook in the image', () => {
  it('answers an AdmissionReview over TLS with the injecting JSON patch, and stops within 2 s of SIGTERM, exit 0', async (t) => {
    const tls = join(work, 'tls');
    mkdirSync(tls);
    const now = Date.now();
    const ca = await generateCa({ commonName: 'image-test-ca', validityMs: 3_600_000, nowMs: now });
    const serving = await issueServing(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], validityMs: 3_600_000, nowMs: now });
    writeFileSync(join(tls, 'tls.crt'), serving.cert);
    writeFileSync(join(tls, 'tls.key'), serving.key, { mode: 0o600 });
    // As a Secret volume with the pod's fsGroup would be: the key readable by the image user only.
    for (const name of ['', 'tls.crt', 'tls.key']) chownSync(join(tls, name), IMAGE_UID, IMAGE_UID);
    const [port, health] = [await freePort(), await freePort()];
    const args = [
      'webhook',
      ...['--agent-image', 'registry.example.org/bucket-agent:0.1.0', '--tls', 'files'],
      ...['--tls-cert-file', '/tls/tls.crt', '--tls-key-file', '/tls/tls.key'],
      ...['--listen', `127.0.0.1:${port}`, '--health-listen', `127.0.0.1:${health}`, '--shutdown-delay', '0', '--log-format', 'json'],
    ];
    const container = await startContainer(args, { volumes: [`${tls}:/tls:ro`], flags: [...HARDENED] });
    containers.push(container);
    await waitUntil(
      async () => (await fetch(`http://127.0.0.1:${health}/readyz`).catch(() => undefined))?.status === 200,
      30_000,
      () => 'the webhook in the image never became ready',
    ).catch(async (err: Error) => assert.fail(`${err.message}\n${await container.logs()}`));

    const review = realisticReview() as { request: { uid: string } };
    const { status, json } = await post(`https://127.0.0.1:${port}/mutate`, ca.cert, JSON.stringify(review));
    assert.equal(status, 200, JSON.stringify(json));
    const answer = (json as ReviewAnswer).response;
    assert.equal(answer?.uid, review.request.uid);
    assert.equal(answer?.allowed, true);
    assert.equal(answer?.patchType, 'JSONPatch');
    const patch = JSON.parse(Buffer.from(answer?.patch ?? '', 'base64').toString('utf8')) as { op: string; path: string }[];
    assert.ok(
      patch.some((op) => op.path.startsWith('/spec/initContainers')),
      `the patch adds the agent: ${patch.map((op) => `${op.op} ${op.path}`).join(', ')}`,
    );
    assert.ok(patch.some((op) => op.path === '/metadata/annotations/bucket-agent.io~1status'));

    const stopped = await container.signalAndWait('TERM');
    const logs = await container.logs();
    assert.equal(stopped.code, 0, logs);
    t.diagnostic(`${patch.length} patch operations; exit ${stopped.code} ${stopped.ms} ms after podman kill --signal TERM`);
    assert.ok(stopped.ms < 2000, `stopped ${stopped.ms} ms after SIGTERM`);
    assert.ok(!logs.includes('PRIVATE KEY'), 'the private key reached the log');
  });
});
