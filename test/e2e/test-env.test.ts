/**
 * The test environment itself: a start that fails halfway must stop what did start. A control
 * plane left running kept its processes and its in-process proxy alive, and the test file hung
 * instead of failing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { startTestEnv } from '../env/index.js';

/** The processes this test process started and that are still there. */
function children(): string[] {
  const ps = spawnSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  // ps lists the ps it runs itself, and exits 1 when it finds nothing else.
  return ps.stdout.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.endsWith(' ps'));
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
