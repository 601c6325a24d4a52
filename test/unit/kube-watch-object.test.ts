/**
 * watchObject's liveness and retry behaviour against a real loopback HTTP server scripted to
 * stall, refuse and throttle (scripted-apiserver.ts), with timings shortened through the
 * `timings` option so each case takes a second or two, not the minutes the defaults allow.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, it } from 'node:test';
import { credentialsAuth, type KubeAuth } from '../../src/kube/auth.js';
import { KubeClient, type KubeList, type RequestOptions } from '../../src/kube/client.js';
import type { KubeApiError, KubeConnectionError } from '../../src/kube/errors.js';
import { SECRETS, type ResourceType } from '../../src/kube/resources.js';
import {
  watchObject,
  type KubeObject,
  type ObjectWatch,
  type ObjectWatchOptions,
  type RereadOutcome,
  type RestartReason,
} from '../../src/kube/watch-object.js';
import {
  bookmark,
  secret,
  sendEvent,
  sendJson,
  sendList,
  sendStatus,
  startScriptedApiserver,
  startWatch,
  type Handler,
  type ScriptedApiserver,
} from './scripted-apiserver.js';

interface Followed {
  readonly watch: ObjectWatch;
  readonly client: KubeClient;
  readonly states: (KubeObject | undefined)[];
  readonly restarts: RestartReason[];
  readonly fatal: (KubeApiError | KubeConnectionError)[];
  readonly retries: { err: unknown; retryInMs: number }[];
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Holds watch responses open until the test ends, so the server can close cleanly. */
function hold(res: ServerResponse): void {
  cleanups.push(() => void res.destroy());
}

async function serve(handler: Handler): Promise<ScriptedApiserver> {
  const server = await startScriptedApiserver(handler);
  cleanups.push(() => server.close());
  return server;
}

async function follow(
  server: ScriptedApiserver,
  extra: Partial<ObjectWatchOptions> = {},
  auth?: KubeAuth,
  client?: KubeClient,
): Promise<Followed> {
  const used = client ?? new KubeClient(auth ?? (await credentialsAuth({ insecure: false })), server.url);
  const followed: Followed = { watch: undefined as unknown as ObjectWatch, client: used, states: [], restarts: [], fatal: [], retries: [] };
  const watch = watchObject({
    client: used,
    resource: SECRETS,
    namespace: 'ns',
    name: 'bucket-x',
    onState: (object) => followed.states.push(object),
    onFatal: (err) => followed.fatal.push(err),
    onRetry: (err, retryInMs) => followed.retries.push({ err, retryInMs }),
    onRestart: (reason) => followed.restarts.push(reason),
    ...extra,
  });
  cleanups.push(() => {
    watch.stop();
    used.close();
  });
  return Object.assign(followed, { watch });
}

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const started = performance.now();
  while (!check()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const versionOf = (object: KubeObject | undefined): string | undefined => object?.metadata?.resourceVersion;

describe('watch liveness', () => {
  it('a watch that goes silent is restarted after the idle timeout, and a change made meanwhile is delivered', async () => {
    const server = await serve((seen, res) => {
      if (seen.kind === 'list') return sendList(res, String(10 + seen.n), seen.n === 0 ? [] : [secret('bucket-x', String(10 + seen.n))]);
      // Headers, then nothing: what a half-open connection looks like from the client.
      startWatch(res);
      hold(res);
    });
    const f = await follow(server, { timings: { idleTimeoutMs: 300, retry: { initialMs: 10, maxMs: 50 } } });
    await until('the first watch', () => server.of('watch').length === 1);
    assert.equal(f.watch.liveness().state, 'watching');
    await until('the object from the relist after the stall', () => versionOf(f.states.at(-1)) === '11');
    assert.equal(f.restarts[0], 'stall');
    assert.match(String((f.retries[0]?.err as Error).message), /watch stalled: nothing from the apiserver/);
  });

  it('every chunk resets the idle timer: bookmarks keep a quiet watch alive and count as progress', async () => {
    const server = await serve((seen, res) => {
      if (seen.kind === 'list') return sendList(res, '10');
      startWatch(res);
      hold(res);
      if (seen.n > 0) return;
      let sent = 0;
      const ticker = setInterval(() => {
        if (++sent <= 12) return sendEvent(res, 'BOOKMARK', bookmark(String(10 + sent)));
        clearInterval(ticker);
        sendEvent(res, 'ADDED', secret('bucket-x', '30'));
      }, 100);
      cleanups.push(() => clearInterval(ticker));
    });
    const f = await follow(server, { timings: { idleTimeoutMs: 400 } });
    await until('the list', () => f.states.length === 1);
    const listedAt = f.watch.liveness().lastProgressAt;
    await until('a few bookmarks', () => f.watch.liveness().lastProgressAt > listedAt + 300);
    await until('the event after 1.2 s of bookmarks', () => versionOf(f.states.at(-1)) === '30');
    assert.deepEqual(f.restarts, [], 'no restart: 1.2 s of bookmarks at 100 ms never reach a 400 ms idle timeout');
    assert.equal(server.of('watch').length, 1);
    f.watch.stop();
    assert.equal(f.watch.liveness().state, 'stopped');
  });

  it('restarts are reported by reason: 410 Gone, the server ending the watch, an error', async () => {
    const server = await serve((seen, res) => {
      if (seen.kind === 'list') return sendList(res, String(10 + seen.n));
      startWatch(res);
      if (seen.n === 0)
        return void res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } })}\n`);
      if (seen.n === 1) return void setTimeout(() => res.end(), 50);
      if (seen.n === 2)
        return void res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 500, message: 'etcd trouble' } })}\n`);
      hold(res);
    });
    const f = await follow(server, { timings: { minHealthyWatchMs: 10, retry: { initialMs: 10, maxMs: 20 } } });
    await until('the fourth watch', () => server.of('watch').length === 4);
    assert.deepEqual(f.restarts, ['gone', 'timeout', 'error']);
    assert.equal(server.of('list').length, 3, 'a relist after 410 and after the error, none after a routine end');
  });

  it('the short-watch back-off resets after a watch that ran its course', async () => {
    const server = await serve((seen, res) => {
      if (seen.kind === 'list') return sendList(res, '10');
      startWatch(res);
      if (seen.n === 5) return void setTimeout(() => res.end(), 400);
      if (seen.n < 7) return void res.end();
      hold(res);
    });
    await follow(server, { timings: { minHealthyWatchMs: 300, retry: { initialMs: 50, maxMs: 5_000 } } });
    // Five short watches grew the back-off to 800 ms; the healthy sixth must bring it back, so the
    // short seventh is followed after ~50 ms (~1.6 s without the reset).
    const [seventh, eighth] = [await server.waitFor('watch', 7), await server.waitFor('watch', 8)];
    const gap = eighth.at - seventh.at;
    assert.ok(gap < 700, `${Math.round(gap)} ms between the short watch after a healthy one and the next`);
  });

  it('the periodic re-read is a GET beside the healthy watch: no relist, no new watch', async () => {
    const server = await serve((seen, res) => {
      if (seen.kind === 'list') return sendList(res, '10', [secret('bucket-x', '10')]);
      if (seen.kind === 'get') return sendJson(res, secret('bucket-x', '10'));
      startWatch(res);
      hold(res);
    });
    const rereads: RereadOutcome[] = [];
    const f = await follow(server, { timings: { resyncMs: 200 }, onReread: (outcome) => rereads.push(outcome) });
    await server.waitFor('get', 3);
    await until('three re-reads settled', () => rereads.length >= 3);
    assert.deepEqual(rereads.slice(0, 3), ['unchanged', 'unchanged', 'unchanged']);
    assert.equal(server.of('list').length, 1);
    assert.equal(server.of('watch').length, 1);
    assert.deepEqual(f.restarts, []);
    assert.equal(f.states.length, 1);
  });

  it('a re-read that finds a newer object (a lost event) delivers it; one that finds it gone delivers absence', async () => {
    let stored: Record<string, unknown> | undefined = secret('bucket-x', '10');
    const server = await serve((seen, res) => {
      if (seen.kind === 'list') return sendList(res, '10', [secret('bucket-x', '10')]);
      if (seen.kind === 'get') return stored === undefined ? sendStatus(res, 404) : sendJson(res, stored);
      startWatch(res);
      hold(res);
    });
    const rereads: RereadOutcome[] = [];
    const f = await follow(server, { timings: { resyncMs: 150 }, onReread: (outcome) => rereads.push(outcome) });
    await until('a first re-read', () => rereads.length >= 1);
    stored = secret('bucket-x', '11');
    await until('the lost update delivered', () => versionOf(f.states.at(-1)) === '11');
    stored = undefined;
    await until('the lost deletion delivered', () => f.states.length === 3 && f.states.at(-1) === undefined);
    assert.ok(rereads.filter((outcome) => outcome === 'changed').length === 2, rereads.join(','));
    assert.equal(server.of('list').length, 1);
  });

  it('a re-read overtaken by a watch event drops its older answer', async () => {
    const server = await serve((seen, res) => {
      if (seen.kind === 'list') return sendList(res, '10', [secret('bucket-x', '10')]);
      if (seen.kind === 'get') {
        // Answer late, with the state from before the event the watch delivers meanwhile.
        setTimeout(() => sendJson(res, secret('bucket-x', '10')), 300);
        return;
      }
      startWatch(res);
      setTimeout(() => sendEvent(res, 'MODIFIED', secret('bucket-x', '12')), 250);
      hold(res);
    });
    const rereads: RereadOutcome[] = [];
    const f = await follow(server, { timings: { resyncMs: 100 }, onReread: (outcome) => rereads.push(outcome) });
    await until('the first re-read settled', () => rereads.length >= 1);
    assert.equal(rereads[0], 'superseded');
    assert.equal(versionOf(f.states.at(-1)), '12');
  });
});

describe('watch retries', () => {
  it('honours Retry-After on a throttled list', async () => {
    const server = await serve((seen, res) => {
      if (seen.kind === 'list' && seen.n === 0) return sendStatus(res, 429, { 'Retry-After': '1' });
      if (seen.kind === 'list') return sendList(res, '10');
      startWatch(res);
      hold(res);
    });
    const f = await follow(server, { timings: { retry: { initialMs: 10, maxMs: 20 } } });
    const [first, second] = [await server.waitFor('list', 1), await server.waitFor('list', 2)];
    assert.ok(second.at - first.at >= 950, `retried after ${Math.round(second.at - first.at)} ms, asked to wait 1 s`);
    assert.equal((f.retries[0]?.err as KubeApiError).retryAfterMs, 1000);
    assert.ok((f.retries[0]?.retryInMs ?? 0) >= 1000);
  });

  for (const [what, refuse] of [
    ['a 503 refusing the watch', (res: ServerResponse) => sendStatus(res, 503, { 'Retry-After': '1' })],
    [
      'an ERROR event with details.retryAfterSeconds',
      (res: ServerResponse) => {
        startWatch(res);
        res.end(
          `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 429, reason: 'TooManyRequests', details: { retryAfterSeconds: 1 } } })}\n`,
        );
      },
    ],
  ] as const) {
    it(`honours the wait asked by ${what}`, async () => {
      const server = await serve((seen, res) => {
        if (seen.kind === 'list') return sendList(res, '10');
        if (seen.n === 0) return refuse(res);
        startWatch(res);
        hold(res);
      });
      await follow(server, { timings: { retry: { initialMs: 10, maxMs: 20 } } });
      const [watch, relist] = [await server.waitFor('watch', 1), await server.waitFor('list', 2)];
      assert.ok(relist.at - watch.at >= 950, `retried after ${Math.round(relist.at - watch.at)} ms, asked to wait 1 s`);
    });
  }

  it('retryDenied: 401/403 are retried on the slow back-off and reported each time; the object then arrives', async () => {
    const server = await serve((seen, res) => {
      if (seen.kind === 'list' && seen.n < 3) return sendStatus(res, seen.n === 1 ? 401 : 403);
      if (seen.kind === 'list') return sendList(res, '10', [secret('bucket-x', '10')]);
      startWatch(res);
      hold(res);
    });
    const denied: { err: KubeApiError; retryInMs: number }[] = [];
    const f = await follow(server, {
      retryDenied: true,
      onDenied: (err, retryInMs) => denied.push({ err, retryInMs }),
      timings: { deniedRetry: { initialMs: 300, maxMs: 400 } },
    });
    await until('the first denial', () => denied.length === 1);
    assert.equal(f.watch.liveness().state, 'backing-off');
    await until('the object after three denials', () => versionOf(f.states.at(-1)) === '10');
    assert.deepEqual(
      denied.map((d) => d.err.status),
      [403, 401, 403],
    );
    assert.ok(
      denied.every((d) => d.retryInMs >= 240 && d.retryInMs <= 480),
      'on the denied back-off',
    );
    assert.deepEqual(f.fatal, []);
    assert.deepEqual(f.restarts, ['denied', 'denied', 'denied']);
  });

  it('without retryDenied a denial ends the loop, reported once', async () => {
    const server = await serve((_seen, res) => sendStatus(res, 403));
    const f = await follow(server, { timings: { retry: { initialMs: 10, maxMs: 20 } } });
    await until('the denial', () => f.fatal.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(server.of('list').length, 1);
    assert.equal(f.watch.liveness().state, 'stopped');
  });
});

/** The real client; only notes the signals the loop hands to its requests, to count their listeners. */
class SignalNotingClient extends KubeClient {
  readonly signals = new Set<AbortSignal>();

  override list<T>(resource: ResourceType, namespace: string, options: RequestOptions = {}): Promise<KubeList<T>> {
    if (options.signal !== undefined) this.signals.add(options.signal);
    return super.list<T>(resource, namespace, options);
  }
}

describe('watch resources', () => {
  it('leaves no abort listener behind when opening a watch fails', async () => {
    const server = await serve((seen, res) => {
      if (seen.kind === 'list') return sendList(res, '10');
      startWatch(res);
      hold(res);
    });
    // An auth plugin that fails every other call: each list works, each watch cannot be opened.
    let calls = 0;
    const plain = await credentialsAuth({ insecure: false });
    const flaky: KubeAuth = {
      apply: async (options) => {
        if (++calls % 2 === 0) throw new Error('auth plugin exited with status 1');
        await plain.apply(options);
      },
    };
    const client = new SignalNotingClient(flaky, server.url);
    const f = await follow(server, { timings: { retry: { initialMs: 1, maxMs: 5 } } }, undefined, client);
    await until('a dozen lists', () => server.of('list').length >= 12);
    const [signal] = [...client.signals];
    assert.ok(signal !== undefined && client.signals.size === 1, 'one loop signal');
    // At most the back-off sleep's and an in-flight list's own; a leak adds one per failed watch.
    assert.ok(
      getEventListeners(signal, 'abort').length <= 2,
      `${getEventListeners(signal, 'abort').length} abort listeners after ${calls} calls`,
    );
    assert.ok(f.restarts.length >= 11 && f.restarts.every((r) => r === 'error'));
  });
});
