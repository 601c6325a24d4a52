/**
 * Journeys examples/reload-signal/ and examples/reload-http/: apps that hold their keys in memory
 * (the ConfigMap's script on the real @aws-sdk/client-s3, keys read from json/<alias>.json) and
 * read them again when the injected sidecar tells them — SIGHUP to the process found by name, or
 * POST /reload on loopback. Each: inject, kubectl apply (the example's Role the only grant), the
 * agent with the pod's args, the app with the container's command; a COSI rotation whose old key
 * SeaweedFS then refuses; the same app process reloads once and keeps writing with the new key.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitUntil } from '../env/process.js';
import { listProbe, s3Client } from '../env/s3-probe.js';
import { metricValue, rememberKeys } from '../e2e/cli-runs.js';
import {
  HEALTH_PORT,
  type AppLine,
  assertStillRunning,
  fingerprint,
  journeyFile,
  jsonLines,
  startScriptExample,
  type ScriptExampleSpec,
} from './app-journey.js';

/** The notify reaches the app within milliseconds; the grace only has to cover a request in flight. */
const GRACE_MS = 3_000;

const journey = journeyFile();

/** kind: the sidecar's notify_total label for the example's action. */
async function reloadJourney(spec: ScriptExampleSpec, kind: 'signal' | 'http', diagnostic: (message: string) => void): Promise<void> {
  const env = journey.env();
  const { ns, bucket, agents, app } = await startScriptExample(journey, spec);
  const lines = (): AppLine[] => jsonLines<AppLine>(app);
  const writes = (from = 0): AppLine[] =>
    lines()
      .slice(from)
      .filter((l) => l.n !== undefined);
  await waitUntil(
    () => writes().filter((w) => w.ok === true && w.key === fingerprint(bucket.accessKeyId)).length >= 3,
    60_000,
    () => `no writes with the first key:\n${app.output()}`,
  );

  const rotatedAt = Date.now();
  const rotation = await env.rotateKeys(ns, spec.bucket, { graceMs: GRACE_MS });
  rememberKeys(rotation);
  const newKey = fingerprint(rotation.accessKeyId);
  await waitUntil(
    () => lines().some((l) => l.event === 'reloaded'),
    20_000,
    () => `the app was never told to reload:\n${app.output()}\n${agents.sidecar.stderrSoFar()}`,
  );
  diagnostic(`rotation -> app reloaded: ${Date.now() - rotatedAt} ms`);
  await rotation.revoked;
  assert.notEqual(await listProbe(s3Client(env.s3Endpoint, bucket), bucket.bucketName), 'OK', 'SeaweedFS refuses the old key');
  const revokedAt = lines().length;
  await waitUntil(
    () => writes(revokedAt).filter((w) => w.ok === true).length >= 3,
    30_000,
    () => `no writes after the old key was revoked:\n${app.output()}`,
  );

  await assertStillRunning(app);
  const all = lines();
  const reloads = all.filter((l) => l.event !== undefined);
  assert.deepEqual(
    reloads.map((l) => [l.event, l.key]),
    [['reloaded', newKey]],
    'one reload, to the new key',
  );
  const reloadedAt = all.findIndex((l) => l.event === 'reloaded');
  // The write in flight when the reload came may still be on the old key (valid until the grace ends).
  assert.deepEqual(
    writes(reloadedAt + 2).filter((w) => w.key !== newKey),
    [],
    'only the new key after the reload',
  );
  assert.deepEqual(
    writes().filter((w) => w.ok !== true),
    [],
    'no failed write',
  );
  const metrics = await (await fetch(`${agents.health}/metrics`)).text();
  assert.equal(metricValue(metrics, 'bucket_agent_notify_total', { kind, outcome: 'ok' }), 1, metrics);
}

describe('apps that reload their keys when the sidecar tells them', () => {
  it('examples/reload-signal: SIGHUP to the app by process name (shared process namespace)', { timeout: 180_000 }, async (t) => {
    await reloadJourney({ example: 'reload-signal', bucket: 'reports', deployment: 'reports-app', container: 'app' }, 'signal', (m) =>
      t.diagnostic(m),
    );
  });

  it('examples/reload-http: POST /reload on loopback', { timeout: 180_000 }, async (t) => {
    await reloadJourney(
      { example: 'reload-http', bucket: 'archive', deployment: 'archive-app', container: 'app', ports: [HEALTH_PORT, 9911, 8081] },
      'http',
      (m) => t.diagnostic(m),
    );
  });
});
