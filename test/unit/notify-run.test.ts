import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { parseNotifyAction } from '../../src/config/notify.js';
import { runNotifications, type NotifyContext, type NotifyOutcome } from '../../src/runtime/notify.js';

const dir = mkdtempSync(join(tmpdir(), 'notify-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A real process that counts SIGHUPs into a file; `title` renames it (comm and cmdline). */
const COUNTER = `
let count = 0;
const file = process.argv[2];
if (process.argv[3]) process.title = process.argv[3];
process.on('SIGHUP', () => { count += 1; require('node:fs').writeFileSync(file, String(count)); });
require('node:fs').writeFileSync(file, '0');
const parent = process.ppid;
// Orphaned (the test runner died): leave, so no counter outlives its test.
setInterval(() => { if (process.ppid !== parent) process.exit(0); }, 200);
`;
writeFileSync(join(dir, 'counter.cjs'), COUNTER);

interface Counter {
  child: ChildProcess;
  file: string;
}

async function startCounter(options: { argv0?: string; title?: string }): Promise<Counter> {
  const file = join(dir, `count-${randomBytes(4).toString('hex')}`);
  const args = [join(dir, 'counter.cjs'), file, ...(options.title === undefined ? [] : [options.title])];
  const child = spawn(process.execPath, args, { stdio: 'ignore', ...(options.argv0 === undefined ? {} : { argv0: options.argv0 }) });
  await waitFor(
    () =>
      existsSync(file) &&
      (options.title === undefined || readFileSync(`/proc/${child.pid}/comm`, 'utf8').startsWith(options.title.slice(0, 15))),
  );
  return { child, file };
}

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await sleep(10);
  }
}

const count = (c: Counter): number => Number(readFileSync(c.file, 'utf8'));

function capture(): { log: NotifyContext['log']; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, stream), text: () => text };
}

function context(extra: Partial<NotifyContext> = {}): NotifyContext {
  return { out: '/bucket', aliases: ['backup', 'media'], env: { PATH: process.env.PATH }, log: capture().log, ...extra };
}

async function run(values: string[], extra: Partial<NotifyContext> = {}): Promise<NotifyOutcome[]> {
  return runNotifications(
    values.map((v) => parseNotifyAction(v)),
    context(extra),
  );
}

describe('notify: signals to real processes', () => {
  const counters: Counter[] = [];
  after(() => counters.forEach((c) => c.child.kill('SIGKILL')));

  it('signals every process whose argv[0] has the name, and only them', async () => {
    const name = `ba-ctr-${randomBytes(3).toString('hex')}`;
    const a = await startCounter({ argv0: name });
    const b = await startCounter({ argv0: `/opt/bin/${name}` });
    const other = await startCounter({ argv0: `${name}-other` });
    counters.push(a, b, other);
    const [outcome] = await run([`signal:HUP:${name}`]);
    assert.equal(outcome?.outcome, 'ok', outcome?.detail);
    assert.equal(outcome?.kind, 'signal');
    assert.match(outcome?.detail ?? '', /SIGHUP to 2 of 2/);
    await waitFor(() => count(a) === 1 && count(b) === 1);
    await sleep(100);
    assert.equal(count(other), 0);
    await run([`signal:SIGHUP:${name}`]);
    await waitFor(() => count(a) === 2 && count(b) === 2);
  });

  it('matches a process that renamed itself (comm)', async () => {
    const title = `bactr${randomBytes(3).toString('hex')}`;
    const c = await startCounter({ title });
    counters.push(c);
    const [outcome] = await run([`signal:HUP:${title}`]);
    assert.equal(outcome?.outcome, 'ok', outcome?.detail);
    await waitFor(() => count(c) === 1);
  });

  it('never signals itself', async () => {
    // A child named uniquely runs the runner against its own name: signalling "node" here would
    // reach every node process on the machine, the test runner included.
    const name = `ba-self-${randomBytes(3).toString('hex')}`;
    const code = `
      process.on('SIGHUP', () => { console.log('SIGNALLED'); process.exit(99); });
      const { runNotifications } = await import(${JSON.stringify(new URL('../../src/runtime/notify.js', import.meta.url).href)});
      const { parseNotifyAction } = await import(${JSON.stringify(new URL('../../src/config/notify.js', import.meta.url).href)});
      const { pino } = await import('pino');
      const [o] = await runNotifications([parseNotifyAction('signal:HUP:${name}')], { out: '/o', aliases: [], env: {}, log: pino({ level: 'silent' }) });
      await new Promise((r) => setTimeout(r, 200));
      console.log(JSON.stringify(o));`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      argv0: name,
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(status, 0, out);
    const outcome = JSON.parse(out) as NotifyOutcome;
    assert.equal(outcome.outcome, 'failed');
    assert.match(outcome.detail, /no process named/);
  });

  it('fails plainly when no process has the name', async () => {
    const [outcome] = await run([`signal:HUP:no-such-${randomBytes(4).toString('hex')}`]);
    assert.equal(outcome?.outcome, 'failed');
    assert.match(outcome?.detail ?? '', /no process named/);
  });

  it('signals the pid in a pid file, read again each time', async () => {
    const first = await startCounter({});
    const second = await startCounter({});
    counters.push(first, second);
    const pidfile = join(dir, 'app.pid');
    writeFileSync(pidfile, `${first.child.pid}\n`);
    const [one] = await run([`signal:HUP:pidfile:${pidfile}`]);
    assert.equal(one?.outcome, 'ok', one?.detail);
    await waitFor(() => count(first) === 1);
    writeFileSync(pidfile, String(second.child.pid));
    await run([`signal:HUP:pidfile:${pidfile}`]);
    await waitFor(() => count(second) === 1);
    assert.equal(count(first), 1);
  });

  const badPidfiles: { name: string; content: string | undefined; says: RegExp }[] = [
    { name: 'missing', content: undefined, says: /ENOENT/ },
    { name: 'not a pid', content: 'hello', says: /does not hold a pid/ },
    { name: 'a dead pid', content: '4194303', says: /ESRCH/ },
  ];
  for (const { name, content, says } of badPidfiles) {
    it(`fails for a pid file that is ${name}`, async () => {
      const path = join(dir, `bad-${randomBytes(3).toString('hex')}.pid`);
      if (content !== undefined) writeFileSync(path, content);
      const [outcome] = await run([`signal:HUP:pidfile:${path}`]);
      assert.equal(outcome?.outcome, 'failed');
      assert.match(outcome?.detail ?? '', says);
    });
  }

  it('refuses a pid file naming the sidecar itself', async () => {
    const path = join(dir, 'self.pid');
    writeFileSync(path, String(process.pid));
    const [outcome] = await run([`signal:HUP:pidfile:${path}`]);
    assert.equal(outcome?.outcome, 'failed');
    assert.match(outcome?.detail ?? '', /sidecar itself/);
  });
});

describe('notify: http calls to a real server', () => {
  const calls = new Map<string, { method: string; body: string; auth: string | undefined }[]>();
  let server: http.Server;
  let base = '';
  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        const seen = calls.get(path) ?? [];
        seen.push({ method: req.method ?? '', body, auth: req.headers.authorization });
        calls.set(path, seen);
        if (path === '/ok') res.writeHead(204).end();
        else if (path === '/flaky') res.writeHead(seen.length < 2 ? 503 : 200).end();
        else if (path === '/hang')
          return; // never answers
        else res.writeHead(500).end('boom');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('delivers a POST with the changed aliases', async () => {
    const [outcome] = await run([`http:POST:${base}/ok`]);
    assert.equal(outcome?.outcome, 'ok', outcome?.detail);
    assert.equal(outcome?.kind, 'http');
    assert.deepEqual(calls.get('/ok'), [{ method: 'POST', body: '{"event":"rendered","aliases":["backup","media"]}', auth: undefined }]);
  });

  it('retries a failing endpoint with back-off until it answers 2xx', async () => {
    const [outcome] = await run([`http:PUT:${base}/flaky`], { timeouts: { httpBackoffMs: 50 } });
    assert.equal(outcome?.outcome, 'ok', outcome?.detail);
    assert.equal(calls.get('/flaky')?.length, 2);
    assert.match(outcome?.detail ?? '', /HTTP 503, HTTP 200/);
    assert.ok((outcome?.durationMs ?? 0) >= 50);
  });

  it('gives up after the attempts on an endpoint that keeps failing', async () => {
    const [outcome] = await run([`http:GET:${base}/fail`], { timeouts: { httpBackoffMs: 10, httpAttempts: 3 } });
    assert.equal(outcome?.outcome, 'failed');
    assert.equal(calls.get('/fail')?.length, 3);
    assert.match(outcome?.detail ?? '', /3 attempt\(s\): HTTP 500, HTTP 500, HTTP 500/);
  });

  it('times out on an endpoint that never answers', async () => {
    const [outcome] = await run([`http:POST:${base}/hang`], { timeouts: { httpTimeoutMs: 200, httpAttempts: 2, httpBackoffMs: 10 } });
    assert.equal(outcome?.outcome, 'timeout');
    assert.equal(calls.get('/hang')?.length, 2);
    assert.ok((outcome?.durationMs ?? 0) >= 400 && (outcome?.durationMs ?? 0) < 2000, String(outcome?.durationMs));
  });

  it('fails on a refused connection', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const [outcome] = await run([`http:POST:http://127.0.0.1:${port}/x`], { timeouts: { httpBackoffMs: 1 } });
    assert.equal(outcome?.outcome, 'failed');
    assert.match(outcome?.detail ?? '', /ECONNREFUSED/);
  });

  it('sends userinfo but never logs it or the query', async () => {
    const { log, text } = capture();
    const url = base.replace('http://', 'http://hook-user:hook-SECRET@') + '/ok?token=QUERY-SECRET';
    const [outcome] = await runNotifications([parseNotifyAction(`http:POST:${url}`)], context({ log }));
    assert.equal(outcome?.outcome, 'ok');
    assert.equal(calls.get('/ok')?.at(-1)?.auth, `Basic ${Buffer.from('hook-user:hook-SECRET').toString('base64')}`);
    assert.equal(outcome?.action, `http:POST:${base}/ok`);
    assert.match(text(), /notified/);
    assert.ok(!text().includes('SECRET'), text());
    assert.ok(!JSON.stringify(outcome).includes('SECRET'));
  });
});

describe('notify: commands', () => {
  it('runs a command through sh with BUCKET_AGENT_OUT and BUCKET_AGENT_ALIASES', async () => {
    const file = join(dir, 'exec-out');
    const [outcome] = await run([`exec:echo "$BUCKET_AGENT_OUT|$BUCKET_AGENT_ALIASES" > ${file}`]);
    assert.equal(outcome?.outcome, 'ok', outcome?.detail);
    assert.equal(outcome?.kind, 'exec');
    assert.equal(readFileSync(file, 'utf8'), '/bucket|backup,media\n');
  });

  it('reports a non-zero exit', async () => {
    const [outcome] = await run(['exec:echo some output; exit 3']);
    assert.equal(outcome?.outcome, 'failed');
    assert.equal(outcome?.detail, 'exit 3');
  });

  it('kills a command that runs past its timeout, with what it started', async () => {
    const marker = join(dir, 'late');
    const seconds = `7.${Math.floor(Math.random() * 1e6)}`;
    const started = Date.now();
    const [outcome] = await run([`exec:sleep ${seconds} && touch ${marker}`], { timeouts: { execTimeoutMs: 300 } });
    assert.equal(outcome?.outcome, 'timeout');
    assert.match(outcome?.detail ?? '', /killed after 300 ms/);
    assert.ok(Date.now() - started < 2000);
    await sleep(100);
    const left = readdirSync('/proc').filter((pid) => /^\d+$/.test(pid) && readOr(`/proc/${pid}/cmdline`) === `sleep\0${seconds}\0`);
    assert.deepEqual(left, [], 'the sleep the command started was left running');
    assert.equal(existsSync(marker), false);
  });
});

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

describe('notify: the runner', () => {
  it('runs actions concurrently, reports each in order, and a failure stops none', async () => {
    const started = Date.now();
    const outcomes = await run(['exec:sleep 0.4', 'exec:exit 1', 'signal:HUP:pidfile:/nonexistent/x.pid', 'exec:sleep 0.4'], {
      timeouts: { execTimeoutMs: 5000 },
    });
    assert.deepEqual(
      outcomes.map((o) => [o.kind, o.outcome]),
      [
        ['exec', 'ok'],
        ['exec', 'failed'],
        ['signal', 'failed'],
        ['exec', 'ok'],
      ],
    );
    assert.ok(Date.now() - started < 750, `took ${Date.now() - started} ms: not concurrent`);
  });

  it('logs every outcome', async () => {
    const { log, text } = capture();
    await runNotifications([parseNotifyAction('exec:true'), parseNotifyAction('exec:false')], context({ log }));
    const lines = text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; action: string; outcome: string });
    assert.deepEqual(lines.map((l) => [l.action, l.outcome]).sort(), [
      ['exec:false', 'failed'],
      ['exec:true', 'ok'],
    ]);
  });

  it('does nothing for no actions', async () => assert.deepEqual(await run([]), []));
});
