/**
 * The test environment itself: a start that fails halfway must stop what did start (a control
 * plane left running kept its processes and its in-process proxy alive, and the test file hung
 * instead of failing), and a test process that crashes or is killed must take its servers along.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { startTestEnv } from '../env/index.js';

/** The processes this test process started and that are still there. */
function children(): string[] {
  const ps = spawnSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  // ps lists the ps it runs itself, and exits 1 when it finds nothing else.
  return ps.stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.endsWith(' ps'));
}

/** Listening servers and open sockets of this process (the control plane's proxy is one). */
function networkHandles(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'TCPServerWrap' || kind === 'TCPSocketWrap').length;
}

describe('test environment', () => {
  it('stops the half that started when the other fails, leaving no process or server behind', async () => {
    const handlesBefore = networkHandles();
    // SeaweedFS cannot answer within 1 ms; the control plane starts meanwhile.
    await assert.rejects(startTestEnv({ seaweedStartTimeoutMs: 1 }), /SeaweedFS S3 at .* not answering/);
    assert.deepEqual(children(), []);
    assert.equal(networkHandles(), handlesBefore);
  });
});

const work = mkdtempSync(join(tmpdir(), 'bucket-agent-test-env-'));
after(() => rmSync(work, { recursive: true, force: true }));

/**
 * Runs a Node process that starts `sleep 300` through test/env/process.ts, prints its pid, then
 * does `then` (JavaScript); resolves with the pid once that process has ended.
 */
function orphanCheck(then: string, signal?: NodeJS.Signals): Promise<number> {
  const processModule = pathToFileURL(join(import.meta.dirname, '../env/process.js')).href;
  const script = `import { startProcess } from ${JSON.stringify(processModule)};
    const p = startProcess({ name: 'sleeper', command: 'sleep', args: ['300'], logDir: ${JSON.stringify(work)} });
    process.stdout.write(p.pid + '\\n');
    ${then}`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (signal !== undefined && out.includes('\n')) child.kill(signal);
    });
    child.on('error', reject);
    child.on('close', () => resolve(Number(out.trim())));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether `pid` is gone within `ms` (a killed orphan is reaped by init a moment later). */
async function goneWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (alive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  return !alive(pid);
}

describe('test environment processes', () => {
  it('are killed when the test process dies of an uncaught exception', async () => {
    const pid = await orphanCheck("setTimeout(() => { throw new Error('crash'); }, 10);");
    assert.ok(pid > 0);
    assert.ok(await goneWithin(pid, 2000), `sleep ${pid} outlived the crashed test process`);
  });

  it('are killed when the test process gets SIGTERM (a runner timeout)', async () => {
    const pid = await orphanCheck('setInterval(() => {}, 1000);', 'SIGTERM');
    assert.ok(pid > 0);
    assert.ok(await goneWithin(pid, 2000), `sleep ${pid} outlived the terminated test process`);
  });
});
