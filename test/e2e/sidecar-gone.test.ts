/**
 * A real 410 Gone (issue 10, "a forced 410: an expired resourceVersion"), end to end: the sidecar
 * against a control plane whose storage forgets old revisions within a second (kine compacting
 * every second, no apiserver watch cache for Secrets: test/env ControlPlaneOptions.fastCompaction),
 * as etcd's periodic compaction does in a real cluster. Each of the sidecar's short watches
 * (`--watch-timeout 3s`) ends on time and is resumed from the last resourceVersion it saw; with
 * unrelated writes in between, that version has been compacted, and the apiserver answers 410.
 * The sidecar must relist and keep delivering rotations.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { startTestEnv, type TestEnv } from '../env/index.js';
import { waitUntil } from '../env/process.js';
import { assertRunClean, firstWatchLine, metricValue, rememberKeys, renderedKeyId, startCli, type Running } from './cli-runs.js';

let env: TestEnv;
let work: string;
let sidecar: Running | undefined;

before(async () => {
  env = await startTestEnv({ fastCompaction: true });
  work = await mkdtemp(join(tmpdir(), 'bucket-agent-gone-'));
});

after(async () => {
  await sidecar?.stop('SIGKILL');
  await env?.stop();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('bucket-agent sidecar and an expired resourceVersion (real 410 Gone)', { timeout: 5 * 60_000 }, () => {
  it('relists after the 410 and delivers the rotations that follow', async () => {
    const ns = await env.newNamespace('gone');
    const admin = env.controlPlane.adminKubeConfig();
    const core = admin.makeApiClient(CoreV1Api);
    const bucket = await env.createBucket(ns, 'gn');
    rememberKeys(bucket);
    await bucket.secretWritten;
    const out = join(work, 'out');
    sidecar = startCli([
      'sidecar',
      ...['--bucket', bucket.name, '--namespace', ns, '--kubeconfig', env.kubeconfigPath, '--out', out],
      ...['--listen', '127.0.0.1:0', '--no-verify', '--log-format', 'json', '--watch-timeout', '3s'],
    ]);
    const started = JSON.parse(await sidecar.waitForLog(/following credentials through/, 30_000)) as { listen?: string[] };
    const metricsUrl = `${started.listen?.[0] ?? ''}/metrics`;
    await sidecar.waitForLog(/"msg":"rendered into /, 30_000);
    const gone = async (): Promise<number> =>
      metricValue(await (await fetch(metricsUrl)).text(), 'bucket_agent_watch_restarts_total', { reason: 'gone' });

    // Unrelated writes move the revision on; compaction then expires what the watches hold.
    const held = (await core.listNamespacedSecret({ namespace: ns })).metadata?.resourceVersion ?? '';
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'churn' }, stringData: { n: '0' } } });
    let churning = true;
    const churn = (async () => {
      for (let n = 1; churning; n++) {
        await core.replaceNamespacedSecret({
          name: 'churn',
          namespace: ns,
          body: { metadata: { name: 'churn' }, stringData: { n: String(n) } },
        });
        await sleep(200);
      }
    })();
    try {
      await waitUntil(
        async () => /"code":410/.test(await firstWatchLine(admin, env.controlPlane.apiserverUrl, ns, held)),
        30_000,
        () => `the apiserver never expired resourceVersion ${held}`,
      );
      await waitUntil(
        async () => (await gone()) >= 2,
        60_000,
        () => `no 410 reached the sidecar:\n${sidecar?.stderrSoFar().slice(-3000) ?? ''}`,
      );
      console.log(`# 410 Gone answered to the sidecar's resumed watches: ${await gone()}`);
      for (let i = 0; i < 3; i++) {
        const rotation = await env.rotateKeys(ns, bucket.name, { mode: i % 2 === 0 ? 'in-place' : 'recreate' });
        rememberKeys(rotation);
        const rotatedAt = Date.now();
        await waitUntil(
          () => Promise.resolve(renderedKeyId(out, bucket.name) === rotation.accessKeyId),
          60_000,
          () => `rotation ${i + 1} after 410s not delivered:\n${sidecar?.stderrSoFar().slice(-3000) ?? ''}`,
          50,
        );
        console.log(`# rotation ${i + 1} amid 410s delivered in ${Date.now() - rotatedAt} ms`);
      }
      assert.ok((await gone()) >= 2);
    } finally {
      churning = false;
      await churn;
    }
    const run = await sidecar.stop();
    sidecar = undefined;
    assert.equal(run.code, 0, run.stderr);
    assertRunClean(run);
  });
});
