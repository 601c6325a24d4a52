import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { parseListen } from '../../src/config/listen.js';
import { startHealthServer, type HealthReport, type ReadyReport } from '../../src/runtime/health-server.js';
import type { RunningServer } from '../../src/runtime/http-server.js';
import { createSidecarMetrics } from '../../src/runtime/metrics.js';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(url: string, options: http.RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, options, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const silent = pino({ level: 'silent' });

describe('health server', () => {
  let health: HealthReport = { healthy: true };
  let ready: ReadyReport = { ready: false, detail: { buckets: { backup: { state: 'waiting' } } } };
  const metrics = createSidecarMetrics({ aliases: ['backup'], processMetrics: false });
  const servers: RunningServer[] = [];
  after(async () => Promise.all(servers.map((s) => s.close())));

  async function start(listen = '127.0.0.1:0', extra: Partial<Parameters<typeof startHealthServer>[0]> = {}): Promise<RunningServer> {
    const server = await startHealthServer({
      listen: parseListen(listen, 'listen'),
      health: () => health,
      ready: () => ready,
      metrics: () => metrics.render(),
      metricsContentType: metrics.contentType,
      log: silent,
      ...extra,
    });
    servers.push(server);
    return server;
  }

  it('answers /healthz 200 and 503 as the callback says, and recovers', async () => {
    const server = await start();
    assert.deepEqual(await request(`${server.url}/healthz`).then((r) => [r.status, r.body]), [200, '{"status":"ok"}\n']);
    health = { healthy: false, detail: { loop: 'no watch progress for 95 s' } };
    const bad = await request(`${server.url}/healthz`);
    assert.equal(bad.status, 503);
    assert.deepEqual(JSON.parse(bad.body), { status: 'unhealthy', detail: { loop: 'no watch progress for 95 s' } });
    assert.match(bad.headers['content-type'] ?? '', /^application\/json/);
    health = { healthy: true };
    assert.equal((await request(`${server.url}/healthz`)).status, 200);
  });

  it('answers /readyz 503 with per-bucket state until ready', async () => {
    const server = await start();
    const waiting = await request(`${server.url}/readyz`);
    assert.equal(waiting.status, 503);
    assert.deepEqual(JSON.parse(waiting.body), { status: 'not-ready', detail: { buckets: { backup: { state: 'waiting' } } } });
    ready = { ready: true, detail: { buckets: { backup: { state: 'rendered', lastBadUpdate: 'missing-field' } } } };
    const done = await request(`${server.url}/readyz?verbose=1`);
    assert.equal(done.status, 200);
    assert.deepEqual(JSON.parse(done.body), {
      status: 'ready',
      detail: { buckets: { backup: { state: 'rendered', lastBadUpdate: 'missing-field' } } },
    });
  });

  it('serves /metrics in the Prometheus text format', async () => {
    const server = await start();
    metrics.rotations.inc({ alias: 'backup' });
    const reply = await request(`${server.url}/metrics`);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(reply.body, /^bucket_agent_rotations_total\{alias="backup"\} 1$/m);
  });

  it('answers 404 for other paths, 405 for other methods, HEAD without a body', async () => {
    const server = await start();
    assert.equal((await request(`${server.url}/`)).status, 404);
    assert.equal((await request(`${server.url}/healthz/x`)).status, 404);
    const post = await request(`${server.url}/healthz`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    const head = await request(`${server.url}/readyz`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  it('turns a throwing callback into 503 / 500 and logs only the error class', async () => {
    let text = '';
    const log = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _e, cb) {
          text += chunk.toString();
          cb();
        },
      }),
    );
    const server = await start('127.0.0.1:0', {
      health: () => {
        throw new Error('secret-looking-detail');
      },
      metrics: () => Promise.reject(new TypeError('secret-looking-detail')),
      log,
    });
    assert.equal((await request(`${server.url}/healthz`)).status, 503);
    assert.equal((await request(`${server.url}/metrics`)).status, 500);
    assert.match(text, /health check failed/);
    assert.match(text, /"error":"TypeError"/);
    assert.ok(!text.includes('secret-looking-detail'), text);
  });

  it('listens on IPv6 and on every interface', async () => {
    const v6 = await start('[::1]:0');
    assert.equal(v6.address.family, 'IPv6');
    assert.match(v6.url, /^http:\/\/\[::1\]:\d+$/);
    assert.equal((await request(`${v6.url}/healthz`)).status, 200);
    const any = await start(':0');
    assert.equal((await request(`http://127.0.0.1:${any.address.port}/healthz`)).status, 200);
    assert.equal((await request(`http://[::1]:${any.address.port}/healthz`)).status, 200);
  });

  it('fails to start on a port in use', async () => {
    const server = await start();
    await assert.rejects(start(`127.0.0.1:${server.address.port}`), /EADDRINUSE/);
  });

  it('keeps a connection alive across requests', async () => {
    const server = await start();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const ports = new Set<number>();
    for (let i = 0; i < 3; i += 1) {
      await new Promise<void>((resolve, reject) => {
        const req = http.get(`${server.url}/healthz`, { agent }, (res) => {
          ports.add(res.socket.localPort ?? 0);
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
      });
    }
    agent.destroy();
    assert.equal(ports.size, 1, 'one socket for all requests');
  });

  it('cuts a client that sends its headers too slowly', async () => {
    const server = await start('127.0.0.1:0', { limits: { headersTimeoutMs: 300, requestTimeoutMs: 600, checkIntervalMs: 100 } });
    const socket = net.connect(server.address.port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
    const started = Date.now();
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => socket.write('X-Slow: y\r\n'), 50);
    const at = await closed;
    clearInterval(drip);
    assert.ok(at - started < 2000, `closed after ${at - started} ms`);
    assert.match(answer, /^HTTP\/1\.1 408/);
  });

  it('closes gracefully: in-flight requests finish, idle keep-alive sockets go at once', async () => {
    const server = await start('127.0.0.1:0', {
      metrics: async () => {
        await sleep(300);
        return 'slow 1\n';
      },
    });
    const agent = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve) => http.get(`${server.url}/healthz`, { agent }, (res) => res.resume().on('end', resolve)));
    const inflight = request(`${server.url}/metrics`);
    await sleep(50);
    const started = Date.now();
    await server.close();
    const took = Date.now() - started;
    assert.deepEqual(await inflight.then((r) => [r.status, r.body]), [200, 'slow 1\n']);
    assert.ok(took < 1000, `close took ${took} ms`);
    await assert.rejects(request(`${server.url}/healthz`, { agent: false }), /ECONNREFUSED/);
    agent.destroy();
    servers.splice(servers.indexOf(server), 1);
  });
});
