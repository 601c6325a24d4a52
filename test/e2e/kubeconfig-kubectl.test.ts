/**
 * kubectl is the oracle for kubeconfig handling (issue 9 item 3): on every kubeconfig of the corpus
 * (test/env/kubeconfig-corpus.ts) the real kubectl (`get secret`) and the real bucket-agent
 * (`init --no-verify`) run against the real apiserver holding a bucket's Secret, under the same
 * environment. Both work, or both fail; when they fail, ours does with exit code 6, at once, with
 * a message naming the field or file and no credential. Proxied cases go through a real loopback
 * HTTP CONNECT proxy whose tunnel count proves where each program's traffic went.
 *
 * Deliberate differences are stated in the corpus (`deliberate`); the one kind not in it: kubectl
 * gives up on any connection failure, while init rides out network faults (refused connections,
 * DNS, a proxy's 502) until --timeout, because waiting is its job. Only failures no retry mends
 * (an untrusted certificate, a proxy's 403/407, a refusal of the kubeconfig) end it at once.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CorpusCase } from '../env/kubeconfig-corpus.js';
import { BUCKET, ourError, runKubectl, runOurs, startDifferential, type Differential, type Run } from '../env/kubeconfig-differential.js';

/** "At once": loading and refusing takes ~0.3 s; this leaves room for a busy 2-core machine. */
const AT_ONCE_MS = 8_000;

let diff: Differential;
let logDir: string;

before(async () => {
  logDir = await mkdtemp(join(tmpdir(), 'kubeconfig-kubectl-logs-'));
  diff = await startDifferential(logDir);
});

after(async () => {
  await diff?.stop();
  await rm(logDir, { recursive: true, force: true });
});

async function runBoth(c: CorpusCase, index: number): Promise<{ theirs: Run; ours: Run; tunnels: [number, number] }> {
  const home = join(diff.work, `home-${index}`);
  const count = (): number => c.via?.proxy.tunnels.length ?? 0;
  const start = count();
  const theirs = await runKubectl(c, home);
  const middle = count();
  const ours = await runOurs(c, home, join(diff.work, `out-${index}`));
  return { theirs, ours, tunnels: [middle - start, count() - middle] };
}

async function checkCase(c: CorpusCase, index: number): Promise<void> {
  const { theirs, ours, tunnels } = await runBoth(c, index);
  const detail = `${c.name}\nkubectl (${theirs.code}): ${theirs.stdout}${theirs.stderr}\nours (${ours.code}, ${ours.ms} ms): ${ours.stderr}`;
  assert.equal(theirs.code === 0 ? 'works' : 'fails', c.kubectl, `kubectl did not do what the corpus says: ${detail}`);
  if (c.kubectl === 'works') {
    assert.equal(theirs.stdout.trim(), `secret/bucket-${BUCKET}`, detail);
    assert.equal(ours.code, 0, detail);
    assert.ok(existsSync(join(diff.work, `out-${index}`, 'aws/credentials')), `no rendered files: ${detail}`);
  } else {
    assert.equal(ours.code, 6, detail);
    assert.ok(ours.ms < AT_ONCE_MS, `took ${ours.ms} ms: ${detail}`);
    assert.ok(c.ours !== undefined, `a failing case must say what our message names: ${c.name}`);
    assert.match(ourError(ours), c.ours, detail);
  }
  if (c.via !== undefined) {
    const where = (n: number): string => (n > 0 ? 'through the proxy' : 'not through the proxy');
    assert.equal(where(tunnels[0]), where(c.via.tunnels ? 1 : 0), `kubectl went otherwise: ${detail}`);
    assert.equal(where(tunnels[1]), where(c.via.tunnels ? 1 : 0), `we went otherwise: ${detail}`);
  }
  for (const secret of diff.secrets)
    assert.ok(secret === '' || !(ours.stdout + ours.stderr).includes(secret), `our output holds a credential: ${c.name}`);
}

describe('kubeconfig handling: bucket-agent agrees with kubectl', () => {
  // The corpus needs the running apiserver (ports, a token), so its cases are subtests of one
  // test rather than tests collected before `before` has run. Each is reported by name.
  it('on every kubeconfig of the corpus', async (t) => {
    assert.ok(diff.corpus.length >= 30, `only ${diff.corpus.length} cases`);
    for (const [index, c] of diff.corpus.entries()) await t.test(c.name, () => checkCase(c, index));
  });

  // Not a kubectl comparison: the proxy must carry watches too, not only the first LIST. A Secret
  // that appears late is only seen by the watch, so init succeeding proves the watch went through.
  it('a proxy carries the watch as well: init waits through it for a Secret created later', async () => {
    const c = diff.corpus.find((entry) => entry.name.startsWith('proxy-url (loopback'));
    assert.ok(c?.via !== undefined);
    const before = c.via.proxy.tunnels.length;
    const out = join(diff.work, 'out-watch');
    const ours = runOurs(c, diff.work, out, { bucket: 'late', timeout: '40s' });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await diff.createSecret('late');
    const done = await ours;
    assert.equal(done.code, 0, done.stderr);
    assert.ok(
      c.via.proxy.tunnels.length - before >= 2,
      `a list and a watch, each on its own tunnel: ${c.via.proxy.tunnels.length - before}`,
    );
    assert.ok(existsSync(join(out, 'aws/credentials')));
  });
});
