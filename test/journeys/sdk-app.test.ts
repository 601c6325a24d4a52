/**
 * Journey examples/sdk-app/: the Deployment as a user applies it (inject, then kubectl apply on the
 * real apiserver, its own Role the only grant), its injected sidecar run with the pod's args, and
 * its app — the ConfigMap's script on the real @aws-sdk/client-s3 — writing an object every second
 * through the credentials endpoint, across a COSI rotation whose old key SeaweedFS then refuses.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { waitUntil } from '../env/process.js';
import { listProbe, s3Client } from '../env/s3-probe.js';
import { knownSecrets, rememberKeys } from '../e2e/cli-runs.js';
import { assertStillRunning, type AppLine, fingerprint, journeyFile, jsonLines, startScriptExample } from './app-journey.js';

/** Longer than the sidecar's default --credentials-refresh (10 s) plus a write, with room for a loaded machine. */
const GRACE_MS = 30_000;

const journey = journeyFile();

describe('examples/sdk-app: an AWS SDK app on the credentials endpoint', () => {
  it(
    'writes every second across a rotation with the old key revoked: same process, new key within the refresh, no failed write',
    { timeout: 240_000 },
    async (t) => {
      const env = journey.env();
      const { ns, bucket, local, command, app } = await startScriptExample(journey, {
        example: 'sdk-app',
        bucket: 'uploads',
        deployment: 'uploads-writer',
        container: 'writer',
      });
      knownSecrets.add(readFileSync(join(local.out, 'aws/container-token'), 'utf8'));
      assert.equal(command.env.AWS_CONTAINER_CREDENTIALS_FULL_URI, `http://127.0.0.1:${local.ports.get(9911) ?? 0}/v1/credentials/uploads`);
      const writes = (): AppLine[] => jsonLines<AppLine>(app).filter((line) => line.n !== undefined);
      const okWith = (key: string): number => writes().filter((w) => w.ok === true && w.key === fingerprint(key)).length;
      await waitUntil(
        () => okWith(bucket.accessKeyId) >= 3,
        60_000,
        () => `no writes with the first key:\n${app.output()}`,
      );

      const rotatedAt = Date.now();
      const rotation = await env.rotateKeys(ns, 'uploads', { graceMs: GRACE_MS });
      rememberKeys(rotation);
      await waitUntil(
        () => okWith(rotation.accessKeyId) >= 1,
        GRACE_MS,
        () => `the SDK never moved to the new key:\n${app.output()}`,
      );
      t.diagnostic(`rotation -> first write signed with the new key: ${Date.now() - rotatedAt} ms`);
      await rotation.revoked;
      assert.notEqual(await listProbe(s3Client(env.s3Endpoint, bucket), bucket.bucketName), 'OK', 'SeaweedFS refuses the old key');
      const revokedAt = writes().length;
      await waitUntil(
        () =>
          writes()
            .slice(revokedAt)
            .filter((w) => w.ok === true).length >= 3,
        30_000,
        () => `no writes after the old key was revoked:\n${app.output()}`,
      );

      await assertStillRunning(app);
      const all = writes();
      const switched = all.findIndex((w) => w.key === fingerprint(rotation.accessKeyId));
      assert.deepEqual(
        all.slice(switched).filter((w) => w.key !== fingerprint(rotation.accessKeyId)),
        [],
        'never the old key after the switch',
      );
      assert.deepEqual(
        all.filter((w) => w.ok !== true),
        [],
        'no failed write: the SDK moved on before the old key was revoked',
      );
      assert.equal(await listProbe(s3Client(env.s3Endpoint, rotation), bucket.bucketName), 'OK');
    },
  );
});
