/**
 * The volume Secret source on a real directory, updated exactly as the kubelet does
 * (test/env/kubelet-volume.ts), watched by the real chokidar. Time bounds are generous (2 cores,
 * other suites running): they catch a hang, never measure speed.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { decodeSecret, type SecretObject } from '../../src/credentials/index.js';
import { CredentialsError, UsageError, type BucketAgentError } from '../../src/errors.js';
import { createVolumeSource, readSecretVolume, type VolumeSourceOptions } from '../../src/files/secret-volume.js';
import type { SecretHandlers, SecretSource } from '../../src/runtime/secret-source.js';
import { clearSecretVolume, hammerPayload, writeSecretVolume } from '../env/kubelet-volume.js';

const SECRET = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY';
const WAIT_MS = 15_000;

let root: string;
let counter = 0;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'secret-volume-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

/** A fresh secrets dir for one test. */
function secretsDir(): string {
  counter += 1;
  const dir = join(root, `s${counter}`);
  mkdirSync(dir);
  return dir;
}

type Data = Record<string, string> | undefined;

class Recorder implements SecretHandlers {
  readonly states: Array<SecretObject | undefined> = [];
  readonly retries: unknown[] = [];
  readonly unreadable: BucketAgentError[] = [];
  private wake: (() => void) | undefined;

  onState(secret: SecretObject | undefined): void {
    this.states.push(secret);
    this.wake?.();
  }
  onUnreadable(err: BucketAgentError): void {
    this.unreadable.push(err);
    this.wake?.();
  }
  onRetry(err: unknown): void {
    this.retries.push(err);
    this.wake?.();
  }

  /** Decoded data of every state so far (undefined for absent). */
  data(): Data[] {
    return this.states.map((secret) => (secret === undefined ? undefined : decodeSecret(secret, 'test').data));
  }

  last(): Data {
    return this.data().at(-1);
  }

  async until(what: string, done: () => boolean, ms = WAIT_MS): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`timed out waiting for ${what}; states: ${JSON.stringify(this.data())}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  async states_(count: number): Promise<void> {
    await this.until(`${count} state(s)`, () => this.states.length >= count);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const sources: SecretSource[] = [];
function source(dir: string, options: Partial<VolumeSourceOptions> = {}): SecretSource {
  const created = createVolumeSource({ dir, ...options });
  sources.push(created);
  return created;
}
after(async () => {
  for (const created of sources) await created.close();
});

const creds = (tag: string): Record<string, string> => ({ accessKey: `AK-${tag}`, secretKey: `${SECRET}-${tag}` });

describe('initial state', () => {
  test('a Secret that is there is read with its keys, base64 as from the apiserver', async () => {
    const dir = secretsDir();
    writeSecretVolume(join(dir, 'bucket-a'), { ...creds('1'), '.dotted': 'kept' });
    const src = source(dir);
    const rec = new Recorder();
    const follower = src.follow('bucket-a', rec);
    await rec.states_(1);
    const secret = rec.states[0];
    assert.equal(secret?.kind, 'Secret');
    assert.equal(secret?.metadata?.name, 'bucket-a');
    assert.match(String(secret?.metadata?.resourceVersion), /^sha256:[0-9a-f]{32}$/);
    assert.deepEqual(secret?.data, {
      '.dotted': 'a2VwdA==',
      accessKey: Buffer.from('AK-1').toString('base64'),
      secretKey: Buffer.from(`${SECRET}-1`).toString('base64'),
    });
    assert.equal(follower.liveness().state, 'watching');
    assert.equal(src.kind, 'volume');
    assert.match(src.description, /Secret volumes under/);
    await src.close();
  });

  test('absent: no dir, an empty dir, an optional volume whose Secret does not exist', async () => {
    const dir = secretsDir();
    mkdirSync(join(dir, 'bucket-empty'));
    clearSecretVolume(join(dir, 'bucket-optional'));
    const src = source(dir);
    const recorders = ['bucket-missing', 'bucket-empty', 'bucket-optional'].map((name) => {
      const rec = new Recorder();
      src.follow(name, rec);
      return rec;
    });
    for (const rec of recorders) await rec.states_(1);
    for (const rec of recorders) assert.deepEqual(rec.states, [undefined]);
    await src.close();
  });
});

describe('changes', () => {
  test('an update is delivered once; a swap to identical bytes delivers nothing', async () => {
    const dir = secretsDir();
    const vol = join(dir, 'bucket-a');
    writeSecretVolume(vol, creds('1'));
    const src = source(dir);
    const rec = new Recorder();
    src.follow('bucket-a', rec);
    await rec.states_(1);
    writeSecretVolume(vol, creds('2'));
    await rec.states_(2);
    assert.equal(writeSecretVolume(vol, creds('2'), { force: true }), true);
    // Given time to (wrongly) report the identical swap, then a real change as a marker.
    await sleep(300);
    writeSecretVolume(vol, creds('3'));
    await rec.until('the marker change', () => rec.last()?.accessKey === 'AK-3');
    assert.deepEqual(rec.data(), [creds('1'), creds('2'), creds('3')]);
    await src.close();
  });

  test('a burst of swaps ends with its last state, and states come in order, each once', async () => {
    const dir = secretsDir();
    const vol = join(dir, 'bucket-a');
    writeSecretVolume(vol, creds('0'));
    const src = source(dir);
    const rec = new Recorder();
    src.follow('bucket-a', rec);
    await rec.states_(1);
    for (let i = 1; i <= 40; i += 1) {
      writeSecretVolume(vol, creds(String(i)));
      if (i % 4 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await rec.until('the last swap', () => rec.last()?.accessKey === 'AK-40');
    const seen = rec.data().map((data) => Number(data?.accessKey?.slice(3)));
    assert.deepEqual(
      seen,
      [...seen].sort((a, b) => a - b),
      'in order',
    );
    assert.equal(new Set(seen).size, seen.length, 'each state once');
    await sleep(200);
    assert.equal(rec.last()?.accessKey, 'AK-40', 'nothing after the last state');
    await src.close();
  });

  test('a Secret that starts empty (optional volume) and is then filled', async () => {
    const dir = secretsDir();
    const vol = join(dir, 'bucket-a');
    clearSecretVolume(vol);
    const src = source(dir);
    const rec = new Recorder();
    src.follow('bucket-a', rec);
    await rec.states_(1);
    writeSecretVolume(vol, creds('1'));
    await rec.states_(2);
    assert.deepEqual(rec.data(), [undefined, creds('1')]);
    await src.close();
  });

  test('deleted (the key files vanish) then re-created with new keys', async () => {
    const dir = secretsDir();
    const vol = join(dir, 'bucket-a');
    writeSecretVolume(vol, { ...creds('1'), region: 'eu' });
    const src = source(dir);
    const rec = new Recorder();
    src.follow('bucket-a', rec);
    await rec.states_(1);
    clearSecretVolume(vol);
    await rec.states_(2);
    writeSecretVolume(vol, creds('2'));
    await rec.states_(3);
    assert.deepEqual(rec.data(), [{ ...creds('1'), region: 'eu' }, undefined, creds('2')]);
    await src.close();
  });

  test('a Secret dir that appears after follow(): kubelet-style, and plain files', async () => {
    const dir = secretsDir();
    const src = source(dir);
    const kubelet = new Recorder();
    const plain = new Recorder();
    src.follow('bucket-late', kubelet);
    src.follow('bucket-plain', plain);
    await kubelet.states_(1);
    await plain.states_(1);
    writeSecretVolume(join(dir, 'bucket-late'), creds('1'));
    mkdirSync(join(dir, 'bucket-plain'));
    writeFileSync(join(dir, 'bucket-plain', 'accessKey'), 'AK-p');
    await kubelet.states_(2);
    await plain.until('the plain file', () => plain.last()?.accessKey === 'AK-p');
    assert.deepEqual(kubelet.data(), [undefined, creds('1')]);
    assert.equal(plain.data()[0], undefined);
    await src.close();
  });

  test('a secrets dir that does not exist yet is picked up by the safety re-read', async () => {
    const dir = join(secretsDir(), 'later', 'secrets');
    const lines: string[] = [];
    const log = pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) }));
    const src = source(dir, { resyncMs: 100, log });
    const rec = new Recorder();
    src.follow('bucket-a', rec);
    await rec.states_(1);
    writeSecretVolume(join(dir, 'bucket-a'), creds('1'));
    await rec.states_(2);
    // Watched again after the re-read noticed the dir: a change now comes by event.
    writeSecretVolume(join(dir, 'bucket-a'), creds('2'));
    await rec.states_(3);
    assert.deepEqual(rec.data(), [undefined, creds('1'), creds('2')]);
    assert.ok(
      lines.some((line) => line.includes('does not exist (yet)')),
      'said once why nothing is there',
    );
    assert.ok(!lines.join('').includes(SECRET), 'no key in the log');
    await src.close();
  });

  test('a secrets dir that is a symlink is watched through it', async () => {
    const target = secretsDir();
    const dir = `${target}-link`;
    symlinkSync(target, dir);
    writeSecretVolume(join(target, 'bucket-a'), creds('1'));
    const src = source(dir);
    const rec = new Recorder();
    src.follow('bucket-a', rec);
    await rec.states_(1);
    writeSecretVolume(join(dir, 'bucket-a'), creds('2'));
    await rec.states_(2);
    assert.deepEqual(rec.data(), [creds('1'), creds('2')]);
    await src.close();
  });

  test('a secrets dir removed and made again is watched again', async () => {
    const dir = secretsDir();
    writeSecretVolume(join(dir, 'bucket-a'), creds('1'));
    const src = source(dir, { resyncMs: 100 });
    const rec = new Recorder();
    src.follow('bucket-a', rec);
    await rec.states_(1);
    rmSync(dir, { recursive: true });
    await rec.states_(2);
    writeSecretVolume(join(dir, 'bucket-a'), creds('2'));
    await rec.states_(3);
    writeSecretVolume(join(dir, 'bucket-a'), creds('3'));
    await rec.states_(4);
    assert.deepEqual(rec.data(), [creds('1'), undefined, creds('2'), creds('3')]);
    await src.close();
  });
});

describe('consistency', () => {
  test('a reader racing the kubelet never sees a mix of two generations', async () => {
    const dir = secretsDir();
    const vol = join(dir, 'bucket-a');
    const swaps = 400;
    writeSecretVolume(vol, hammerPayload(0));
    const src = source(dir, { debounceMs: 1 });
    const rec = new Recorder();
    src.follow('bucket-a', rec);
    await rec.states_(1);
    const worker = new Worker(new URL('../env/kubelet-volume-hammer.js', import.meta.url), { workerData: { dir: vol, swaps } });
    const finished = new Promise<void>((resolve, reject) => worker.once('message', () => resolve()).once('error', reject));
    let done = false;
    void finished.then(
      () => (done = true),
      () => (done = true),
    );
    // Direct reads as well, between the source's own: many more chances to hit a swap.
    const direct: Array<Record<string, string>> = [];
    const failures: unknown[] = [];
    while (!done) {
      try {
        const state = readSecretVolume(vol, 'bucket-a');
        if (state.kind === 'present') direct.push(decodeSecret(state.secret, 'direct').data);
      } catch (err: unknown) {
        failures.push(err);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await finished;
    await rec.until('the last generation', () => rec.last()?.accessKey === `AK${swaps}`);
    for (const data of [...rec.data(), ...direct]) {
      assert.ok(data !== undefined, 'never absent');
      const i = Number(data.accessKey?.slice(2));
      assert.deepEqual(data, hammerPayload(i), `one generation, got ${JSON.stringify(data)}`);
    }
    assert.deepEqual(failures, [], 'every read succeeded within its retries');
    assert.ok(direct.length > 10, `raced the writer (${direct.length} direct reads)`);
    await src.close();
  });
});

describe('lifecycle', () => {
  test('after stop() nothing is delivered; close() leaves no file watch behind', async () => {
    const dir = secretsDir();
    const vol = join(dir, 'bucket-a');
    writeSecretVolume(vol, creds('1'));
    const src = source(dir);
    const rec = new Recorder();
    const follower = src.follow('bucket-a', rec);
    const other = new Recorder();
    src.follow('bucket-a', other);
    await rec.states_(1);
    await other.states_(1);
    follower.stop();
    assert.equal(follower.liveness().state, 'stopped');
    writeSecretVolume(vol, creds('2'));
    await other.states_(2);
    await sleep(200);
    assert.equal(rec.states.length, 1, 'a stopped follower gets nothing');
    await src.close();
    assert.equal(await settledWatches(), 0, 'no fs.watch handle left');
  });

  test('one fs watch for the secrets dir and one per Secret dir, none per key', async () => {
    const dir = secretsDir();
    const before = await settledWatches();
    const names = ['bucket-a', 'bucket-b', 'bucket-c'];
    for (const name of names) writeSecretVolume(join(dir, name), { ...creds(name), k3: '3', k4: '4', k5: '5' });
    const src = source(dir);
    const recs = names.map((name) => {
      const rec = new Recorder();
      src.follow(name, rec);
      return rec;
    });
    for (const rec of recs) await rec.states_(1);
    assert.equal(fsWatches() - before, 1 + names.length);
    await src.close();
  });

  for (const ending of ['stop', 'close'] as const) {
    test(`a process that follows three Secrets exits by itself after ${ending}()`, async () => {
      const dir = secretsDir();
      for (const name of ['bucket-a', 'bucket-b']) writeSecretVolume(join(dir, name), creds(name));
      const moduleUrl = new URL('../../src/files/secret-volume.js', import.meta.url).href;
      const code = `
        const { createVolumeSource } = await import(${JSON.stringify(moduleUrl)});
        const src = createVolumeSource({ dir: ${JSON.stringify(dir)} });
        const names = ['bucket-a', 'bucket-b', 'bucket-missing'];
        let seen = 0;
        const followers = names.map((name) => src.follow(name, {
          onState: () => { seen += 1; if (seen === names.length) end(); },
          onUnreadable: () => process.exit(3), onRetry: () => process.exit(4),
        }));
        function end() {
          for (const f of followers) f.stop();
          ${ending === 'close' ? 'void src.close();' : ''}
          process.stdout.write('stopped');
        }`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), WAIT_MS);
      const status = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      clearTimeout(timer);
      assert.equal(out, 'stopped');
      assert.equal(status, 0, 'exited on its own, nothing left holding the event loop');
    });
  }

  test('liveness: the safety re-read keeps lastProgressAt fresh with no event at all', async () => {
    const dir = secretsDir();
    writeSecretVolume(join(dir, 'bucket-a'), creds('1'));
    const src = source(dir, { resyncMs: 50 });
    const rec = new Recorder();
    const follower = src.follow('bucket-a', rec);
    await rec.states_(1);
    const first = follower.liveness().lastProgressAt;
    await sleep(300);
    assert.ok(follower.liveness().lastProgressAt > first + 100, 'progress without events');
    assert.equal(follower.liveness().state, 'watching');
    assert.equal(rec.states.length, 1, 'a re-read that finds the same content reports nothing');
    await src.close();
  });
});

describe('bad content and bad places', () => {
  test('bytes that are not UTF-8 come through as base64, and decodeSecret refuses them', async () => {
    const dir = secretsDir();
    writeSecretVolume(join(dir, 'bucket-a'), { accessKey: Buffer.from([0xff, 0xfe, 0x00, 0x41]) });
    const src = source(dir);
    const rec = new Recorder();
    src.follow('bucket-a', rec);
    await rec.states_(1);
    assert.deepEqual(rec.states[0]?.data, { accessKey: Buffer.from([0xff, 0xfe, 0x00, 0x41]).toString('base64') });
    assert.throws(
      () => decodeSecret(rec.states[0] ?? {}, 'volume'),
      (err: unknown) => err instanceof CredentialsError && /not valid UTF-8/.test(err.message),
    );
    await src.close();
  });

  test('unreadable for good: the secrets dir is a file, a Secret path is a file (subPath), a bad name', async () => {
    const dir = secretsDir();
    const file = join(dir, 'not-a-dir');
    writeFileSync(file, 'x');
    writeFileSync(join(dir, 'bucket-subpath'), SECRET);
    const cases: Array<[SecretSource, string, RegExp]> = [
      [source(file), 'bucket-a', /is not a directory/],
      [source(dir), 'bucket-subpath', /subPath/],
      [source(dir), '../etc', /not a valid Secret name/],
    ];
    for (const [src, name, pattern] of cases) {
      const rec = new Recorder();
      const follower = src.follow(name, rec);
      await rec.until(`${name} unreadable`, () => rec.unreadable.length > 0);
      assert.ok(rec.unreadable[0] instanceof UsageError);
      assert.match(rec.unreadable[0].message, pattern);
      assert.ok(!rec.unreadable[0].message.includes(SECRET));
      assert.deepEqual(rec.states, []);
      assert.equal(follower.liveness().state, 'stopped');
      await src.close();
    }
  });

  test('files the process may not read are retried with back-off, then read once readable', async () => {
    const dir = secretsDir();
    const vol = join(dir, 'bucket-a');
    writeSecretVolume(vol, creds('1'), { mode: 0o000 });
    // Root reads anything: the product's non-root case needs a child process without privileges.
    const outcome = await followUnprivileged(dir, 'bucket-a', () => {
      for (const key of Object.keys(creds('1'))) chmodSync(join(vol, '..data', key), 0o644);
    });
    assert.ok(outcome.retries.length >= 1, 'an unreadable file is a retry, not a crash');
    assert.match(outcome.retries[0] ?? '', /EACCES/);
    assert.ok(outcome.retries.every((line) => !line.includes(SECRET)));
    assert.deepEqual(outcome.state, creds('1'));
  });
});

const IS_ROOT = process.getuid?.() === 0;
const CHILD_ID = IS_ROOT ? { uid: 65534, gid: 65534 } : { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };

interface ChildOutcome {
  retries: string[];
  state: Record<string, string> | undefined;
}

/**
 * Follows `name` in a child process running as nobody; `fix` runs after the first retry. The
 * child imports a copy of the compiled source and chokidar, since the checkout may sit where
 * nobody cannot read it.
 */
async function followUnprivileged(dir: string, name: string, fix: () => void): Promise<ChildOutcome> {
  const copy = join(root, `child-${counter}`);
  const here = fileURLToPath(new URL('../../', import.meta.url));
  cpSync(join(here, 'src'), join(copy, 'src'), { recursive: true });
  for (const pkg of ['chokidar', 'readdirp'])
    cpSync(realpathSync(join(here, '..', 'node_modules', pkg)), join(copy, 'node_modules', pkg), { recursive: true });
  writeFileSync(join(copy, 'package.json'), '{"type":"module"}\n');
  for (const path of [root, dir]) chmodSync(path, 0o755);
  // Likewise node itself: CI's Node 24 lives under root's 0700 home (~/.cache).
  let childNode = process.execPath;
  if (spawnSync(childNode, ['-e', '0'], { uid: CHILD_ID.uid, gid: CHILD_ID.gid, timeout: WAIT_MS }).status !== 0) {
    childNode = join(copy, 'node');
    cpSync(process.execPath, childNode);
    chmodSync(childNode, 0o755);
  }
  const moduleUrl = pathToFileURL(join(copy, 'src/files/secret-volume.js')).href;
  const code = `
    const { createVolumeSource } = await import(${JSON.stringify(moduleUrl)});
    const { decodeSecret } = await import(${JSON.stringify(pathToFileURL(join(copy, 'src/credentials/index.js')).href)});
    const src = createVolumeSource({ dir: ${JSON.stringify(dir)}, retryInitialMs: 50, retryMaxMs: 200 });
    const say = (line) => process.stdout.write(JSON.stringify(line) + '\\n');
    const follower = src.follow(${JSON.stringify(name)}, {
      onState: (secret) => { say({ state: secret === undefined ? null : decodeSecret(secret, 'child').data }); follower.stop(); void src.close(); },
      onUnreadable: (err) => { say({ unreadable: err.message }); process.exit(3); },
      onRetry: (err, ms) => say({ retry: err.message, ms }),
    });`;
  const child = spawn(childNode, ['--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
    uid: CHILD_ID.uid,
    gid: CHILD_ID.gid,
  });
  const outcome: ChildOutcome = { retries: [], state: undefined };
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = JSON.parse(buffered.slice(0, nl)) as { retry?: string; state?: Record<string, string> };
      buffered = buffered.slice(nl + 1);
      if (line.retry !== undefined && outcome.retries.push(line.retry) === 1) fix();
      if (line.state !== undefined) outcome.state = line.state;
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), WAIT_MS);
  const status = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  clearTimeout(timer);
  assert.equal(status, 0, `child exited with ${String(status)}: ${JSON.stringify(outcome)}`);
  return outcome;
}

function fsWatches(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'FSEventWrap').length;
}

/** fs.watch handles close asynchronously after FSWatcher.close(): the count once they have. */
async function settledWatches(): Promise<number> {
  for (let i = 0; i < 50 && fsWatches() > 0; i += 1) await sleep(20);
  return fsWatches();
}
