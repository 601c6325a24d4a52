/**
 * A connection failure no retry mends (here a proxy's 407, errors.ts) ends watchObject's loop at
 * once, as init needs to exit 6 rather than wait out --timeout; with retryDenied (the sidecar) it
 * is retried on the slow back-off instead, as a denial is. The real loopback proxy of
 * test/env/http-proxy.ts answers 407, so no apiserver is reached.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { credentialsAuth } from '../../src/kube/auth.js';
import { KubeClient } from '../../src/kube/client.js';
import { KubeConnectionError, type KubeApiError } from '../../src/kube/errors.js';
import { SECRETS } from '../../src/kube/resources.js';
import { watchObject } from '../../src/kube/watch-object.js';
import { startHttpProxy, type HttpProxy } from '../env/http-proxy.js';

let proxy: HttpProxy;
before(async () => {
  proxy = await startHttpProxy({ credentials: { user: 'u', password: 'not-sent' } });
});
after(async () => proxy.close());

async function follow(
  retryDenied: boolean,
  untilMs: number,
): Promise<{ fatal: (KubeApiError | KubeConnectionError)[]; retries: unknown[] }> {
  const client = new KubeClient(await credentialsAuth({ insecure: false }), 'http://apiserver.invalid:8080', { proxy: new URL(proxy.url) });
  const fatal: (KubeApiError | KubeConnectionError)[] = [];
  const retries: unknown[] = [];
  const watch = watchObject({
    client,
    resource: SECRETS,
    namespace: 'ns',
    name: 'bucket-x',
    onState: () => undefined,
    onFatal: (err) => fatal.push(err),
    onRetry: (err) => retries.push(err),
    retryDenied,
    timings: { deniedRetry: { initialMs: 20, maxMs: 40 }, retry: { initialMs: 20, maxMs: 40 } },
  });
  await new Promise((resolve) => setTimeout(resolve, untilMs));
  watch.stop();
  client.close();
  return { fatal, retries };
}

describe('final connection errors in the watch loop', () => {
  it('end the loop at once, reported once', async () => {
    const { fatal, retries } = await follow(false, 500);
    assert.equal(fatal.length, 1);
    assert.ok(fatal[0] instanceof KubeConnectionError && !fatal[0].transient);
    assert.match(fatal[0].message, /refused the tunnel: HTTP 407/);
    assert.equal(retries.length, 0);
  });

  it('with retryDenied (the sidecar): retried on the slow back-off, never fatal', async () => {
    const { fatal, retries } = await follow(true, 500);
    assert.equal(fatal.length, 0);
    assert.ok(retries.length >= 3, `${retries.length} retries`);
    assert.ok(retries.every((err) => err instanceof KubeConnectionError && !err.transient));
  });
});
