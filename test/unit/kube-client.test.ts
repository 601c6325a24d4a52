/**
 * KubeClient's connections against real loopback HTTP(S) servers: who waits for whom, what a
 * request's deadline covers, what a TLS change does to open watches, and what it sends.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { credentialsAuth } from '../../src/kube/auth.js';
import { KubeClient, type WatchEvent } from '../../src/kube/client.js';
import { KubeConnectionError } from '../../src/kube/errors.js';
import { SECRETS } from '../../src/kube/resources.js';
import { REPO_ROOT } from '../env/tools.js';
import { createTestCa, type KeyPair } from '../env/kube-pki.js';
import {
  bookmark,
  secret,
  sendEvent,
  sendList,
  startScriptedApiserver,
  startWatch,
  type Handler,
  type ScriptedApiserver,
  type Tls,
} from './scripted-apiserver.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function hold(res: ServerResponse): void {
  cleanups.push(() => void res.destroy());
}

async function serve(handler: Handler, tls?: Tls): Promise<ScriptedApiserver> {
  const server = await startScriptedApiserver(handler, tls);
  cleanups.push(() => server.close());
  return server;
}

async function plainClient(server: ScriptedApiserver, options: ConstructorParameters<typeof KubeClient>[2] = {}): Promise<KubeClient> {
  const client = new KubeClient(await credentialsAuth({ insecure: false }), server.url, options);
  cleanups.push(() => client.close());
  return client;
}

interface Opened {
  readonly events: WatchEvent[];
  ended: Error | undefined | 'open';
}

async function openWatch(client: KubeClient): Promise<Opened> {
  const opened: Opened = { events: [], ended: 'open' };
  await client.watch(
    SECRETS,
    'ns',
    { query: { timeoutSeconds: 60 } },
    { onEvent: (e) => opened.events.push(e), onEnd: (err) => (opened.ended = err) },
  );
  return opened;
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const started = performance.now();
  while (!check()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('KubeClient requests', () => {
  it('sends User-Agent bucket-agent/<package version> on requests and watches', async () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const server = await serve((seen, res) => {
      if (seen.kind === 'list') return sendList(res, '1');
      startWatch(res);
      hold(res);
    });
    const client = await plainClient(server);
    await client.list(SECRETS, 'ns');
    await openWatch(client);
    await server.waitFor('watch', 1);
    for (const seen of server.seen) assert.equal(seen.headers['user-agent'], `bucket-agent/${version}`, seen.kind);
  });

  it('a hung request does not hold up the next one', async () => {
    const server = await serve((seen, res) => {
      if (seen.kind === 'get') return hold(res);
      sendList(res, '1');
    });
    const client = await plainClient(server);
    const hung = client.get(SECRETS, 'ns', 'stuck').catch((err: unknown) => err);
    await server.waitFor('get', 1);
    const started = performance.now();
    const list = await client.list(SECRETS, 'ns');
    assert.equal(list.metadata?.resourceVersion, '1');
    assert.ok(performance.now() - started < 5_000);
    client.close();
    assert.ok((await hung) instanceof KubeConnectionError);
  });

  it("a request's deadline covers its wait for a connection", async () => {
    // The first request's answer trickles forever, so the one connection never comes free: only a
    // deadline that runs from the call (not from getting a socket) ends the second request's wait.
    const server = await serve((seen, res) => {
      if (seen.n > 0) return sendList(res, '1');
      startWatch(res);
      hold(res);
      const ticker = setInterval(() => sendEvent(res, 'BOOKMARK', bookmark('1')), 50);
      cleanups.push(() => clearInterval(ticker));
    });
    const client = await plainClient(server, { maxSockets: 1, requestTimeoutMs: 500 });
    const first = client.list(SECRETS, 'ns', { timeoutMs: 1_500 }).catch((err: unknown) => err);
    await server.waitFor('list', 1);
    const started = performance.now();
    const second = await client.list(SECRETS, 'ns').catch((err: unknown) => err);
    assert.ok(second instanceof KubeConnectionError, 'the queued request fails at its deadline');
    assert.match(second.message, /no answer within 0.5 s \(ETIMEDOUT\)/);
    assert.ok(performance.now() - started < 5_000);
    const firstErr = await first;
    assert.ok(
      firstErr instanceof KubeConnectionError && /no answer within 1.5 s/.test(firstErr.message),
      'a trickling answer is cut at its deadline too',
    );
  });
});

describe('KubeClient connections over TLS', () => {
  let dir: string;
  let serving: KeyPair;
  let caFile: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kube-client-'));
    const ca = await createTestCa(dir);
    caFile = ca.ca.certFile;
    serving = await ca.issue({ name: 'server', commonName: '127.0.0.1', usage: 'server', ips: ['127.0.0.1'] });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function tlsClient(server: ScriptedApiserver): Promise<KubeClient> {
    const client = new KubeClient(await credentialsAuth({ ca: { what: 'CA', file: caFile }, insecure: false }), server.url);
    cleanups.push(() => client.close());
    return client;
  }

  it("a burst of requests at start shares one TLS handshake (init's LIST per candidate)", async () => {
    const server = await serve((_seen, res) => sendList(res, '1'), { cert: serving.certPem, key: serving.keyPem });
    const client = await tlsClient(server);
    await Promise.all([client.list(SECRETS, 'ns'), client.list(SECRETS, 'ns'), client.list(SECRETS, 'ns')]);
    await client.create(SECRETS, 'ns', secret('x', ''));
    assert.equal(server.connections(), 1);
  });

  it('a TLS change retires the old connections without cutting open watches or requests in flight', async () => {
    const streams: ServerResponse[] = [];
    const server = await serve(
      (seen, res) => {
        if (seen.kind === 'get') return void setTimeout(() => res.end(JSON.stringify(secret('slow', '2'))), 300);
        if (seen.kind === 'list') return sendList(res, '1');
        startWatch(res);
        streams.push(res);
        hold(res);
      },
      { cert: serving.certPem, key: serving.keyPem },
    );
    const client = await tlsClient(server);
    const first = await openWatch(client);
    const slow = client.get(SECRETS, 'ns', 'slow');
    await server.waitFor('get', 1);
    // Same CA, other bytes: what a re-issued CA bundle or client certificate looks like to the pool.
    await appendFile(caFile, '\n');
    const second = await openWatch(client);
    await client.list(SECRETS, 'ns');
    await server.waitFor('watch', 2);
    assert.equal(
      ((await slow) as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion,
      '2',
      'the request in flight finished',
    );
    for (const res of streams) sendEvent(res, 'ADDED', secret('bucket-x', '5'));
    await until('the event on both watches', () => first.events.length === 1 && second.events.length === 1);
    assert.equal(first.ended, 'open', 'the watch opened before the change is still open');
  });
});
