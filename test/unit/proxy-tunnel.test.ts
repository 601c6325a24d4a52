/**
 * KubeClient through the CONNECT tunnel of src/kube/proxy.ts, with the real loopback proxy of
 * test/env/http-proxy.ts and a node:https server standing in for the apiserver (the e2e corpus
 * runs the real one): requests and watches tunnel, TLS is verified inside the tunnel, the proxy's
 * credentials are sent, a refusal is a typed, final error.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { credentialsAuth } from '../../src/kube/auth.js';
import { KubeClient, type WatchEvent } from '../../src/kube/client.js';
import { KubeConnectionError } from '../../src/kube/errors.js';
import { SECRETS } from '../../src/kube/resources.js';
import { startHttpProxy, type HttpProxy } from '../env/http-proxy.js';
import { REPO_ROOT } from '../env/tools.js';

const pem = (name: string): Buffer => readFileSync(join(REPO_ROOT, 'test/fixtures/tls', name));
/** The fixture certificate has no SAN: node matches its CN, which is this name. */
const NAME = 'bucket-agent-unit-test';

let server: https.Server;
let port: number;
let proxy: HttpProxy;
let authProxy: HttpProxy;
const seen: string[] = [];

before(async () => {
  server = https.createServer({ cert: pem('a.crt'), key: pem('a.key') }, (req, res) => {
    seen.push(`${req.method ?? ''} ${req.url ?? ''} ${req.headers.authorization ?? ''}`);
    if ((req.url ?? '').includes('watch=true')) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 's' } } })}\n`);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ metadata: { resourceVersion: '7' }, items: [] }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
  proxy = await startHttpProxy({ hosts: { [NAME]: '127.0.0.1' } });
  authProxy = await startHttpProxy({ hosts: { [NAME]: '127.0.0.1' }, credentials: { user: 'u', password: 'p@ss' } });
});

after(async () => {
  await proxy.close();
  await authProxy.close();
  server.close();
});

async function client(proxyUrl: string, ca = pem('a.crt')): Promise<KubeClient> {
  const auth = await credentialsAuth({ ca: { what: 'ca', data: ca }, token: { what: 'token', data: Buffer.from('tkn') }, insecure: false });
  return new KubeClient(auth, `https://${NAME}:${port}`, { proxy: new URL(proxyUrl) });
}

describe('KubeClient through an http:// proxy', () => {
  it('requests and watches each go through a tunnel to a name only the proxy resolves, TLS verified inside', async () => {
    const kube = await client(proxy.url);
    const tunnelsBefore = proxy.tunnels.length;
    try {
      const list = await kube.list(SECRETS, 'ns');
      assert.equal(list.metadata?.resourceVersion, '7');
      await kube.list(SECRETS, 'ns');
      const events: WatchEvent[] = [];
      await new Promise<void>((resolve, reject) => {
        void kube.watch(
          SECRETS,
          'ns',
          { query: { timeoutSeconds: 5 } },
          {
            onEvent: (event) => events.push(event),
            onEnd: (err) => (err === undefined ? resolve() : reject(err)),
          },
        );
      });
      assert.equal(events[0]?.type, 'ADDED');
    } finally {
      kube.close();
    }
    // Two requests share one kept-alive tunnel; the watch has its own.
    assert.deepEqual(proxy.tunnels.slice(tunnelsBefore), [`${NAME}:${port}`, `${NAME}:${port}`]);
    assert.ok(
      seen.some((line) => line.startsWith('GET /api/v1/namespaces/ns/secrets?') && line.endsWith('Bearer tkn')),
      seen.join('\n'),
    );
  });

  it("sends the proxy URL's credentials; wrong ones are a final error naming the proxy, not its password", async () => {
    const good = await client(`http://u:${encodeURIComponent('p@ss')}@127.0.0.1:${authProxy.port}`);
    await good.list(SECRETS, 'ns');
    good.close();
    const bad = await client(`http://u:wrong-secret@127.0.0.1:${authProxy.port}`);
    await assert.rejects(bad.list(SECRETS, 'ns'), (err: unknown) => {
      assert.ok(err instanceof KubeConnectionError);
      assert.equal(err.transient, false);
      assert.match(err.message, new RegExp(`proxy http://127.0.0.1:${authProxy.port} refused the tunnel: HTTP 407`));
      assert.ok(!err.message.includes('wrong-secret'));
      return true;
    });
    bad.close();
  });

  it('a CA that did not sign the server: final, over the tunnel as without one', async () => {
    const kube = await client(proxy.url, pem('b.crt'));
    await assert.rejects(
      kube.list(SECRETS, 'ns'),
      (err: unknown) => err instanceof KubeConnectionError && !err.transient && /is not trusted/.test(err.message),
    );
    kube.close();
  });

  it('a proxy that cannot reach the target (502) is transient', async () => {
    const auth = await credentialsAuth({ insecure: true });
    const kube = new KubeClient(auth, 'https://127.0.0.1:1', { proxy: new URL(proxy.url) });
    await assert.rejects(
      kube.list(SECRETS, 'ns'),
      (err: unknown) => err instanceof KubeConnectionError && err.transient && /HTTP 502/.test(err.message),
    );
    kube.close();
  });
});
