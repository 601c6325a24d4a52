/**
 * One key rotation, as the platform does it (test/env's provisioner: a new identity in SeaweedFS,
 * the Secret replaced, the old key revoked after GRACE_MS), and what follows, measured from the
 * instant the Secret with the new keys was written:
 *  - the sidecar's files replaced (the time of its own "new credentials rendered" log line);
 *  - each client's first successful write with the new key;
 *  - the old key revoked (S3 refuses it);
 *  - every write of each client during the rotation, failed ones counted.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { renderedKeyId } from '../../test/e2e/cli-runs.js';
import { waitUntil } from '../../test/env/process.js';
import type { TestEnv } from '../../test/env/index.js';
import type { Sidecar, TimedLine } from './agents.js';
import type { Attempt, ClientRun } from './clients.js';
import { BUCKET, GRACE_MS, ROTATION_MODES, ROTATIONS, SETTLE_MS } from './options.js';
import { keyLabel, ms, type Reporter } from './report.js';

export type RotationMode = (typeof ROTATION_MODES)[number];

export interface ClientFigures {
  /** Secret written -> this client's first successful write signed with the new key; null: never. */
  readonly firstNewKeyMs: number | null;
  readonly ok: number;
  readonly failed: number;
}

export interface RotationFigures {
  readonly n: number;
  readonly mode: RotationMode;
  readonly key: string;
  /** Secret written -> the sidecar had replaced the files (its log line); null: not within the grace. */
  readonly filesMs: number | null;
  readonly revokedMs: number;
  readonly clients: Record<string, ClientFigures>;
}

export interface RotationContext {
  readonly env: TestEnv;
  readonly namespace: string;
  readonly out: string;
  readonly sidecar: Sidecar;
  readonly clients: readonly ClientRun[];
  readonly report: Reporter;
  /** Every key pair handed out, for the check that none reached the agents' output. */
  readonly keys: { accessKeyId: string; secretAccessKey: string }[];
}

const RENDERED = 'new credentials rendered';
const DESCRIBE: Record<RotationMode, string> = {
  recreate: 'the Secret deleted and re-created with new keys, as COSI does',
  'in-place': 'the Secret updated in place with new keys',
};
/** A client that has not switched this long after the grace ended is reported as never switching. */
const SWITCH_TIMEOUT_MS = GRACE_MS + 15_000;

export async function rotate(ctx: RotationContext, n: number): Promise<RotationFigures> {
  const mode = ROTATION_MODES[(n - 1) % ROTATION_MODES.length] ?? 'recreate';
  const { report, sidecar } = ctx;
  report.step(`rotation ${n}/${ROTATIONS}: ${DESCRIBE[mode]}`);
  const windowStart = Date.now();
  const before = renders(sidecar.lines()).length;
  const oldKey = ctx.keys.at(-1)?.accessKeyId ?? '';
  const rotation = await ctx.env.rotateKeys(ctx.namespace, BUCKET, { mode, graceMs: GRACE_MS });
  ctx.keys.push(rotation);
  const written = rotation.writtenAt;
  report.info(`new ${keyLabel(rotation.accessKeyId)} written; the old ${keyLabel(oldKey)} keeps working for ${GRACE_MS / 1000} s`);
  const filesMs = await filesReplaced(ctx, before, rotation.accessKeyId, written);
  const firsts = await Promise.all(ctx.clients.map((client) => firstWithNewKey(client, rotation.accessKeyId, written, report)));
  await rotation.revoked;
  const revokedMs = Date.now() - written;
  report.info(`old ${keyLabel(oldKey)} revoked ${ms(revokedMs)} after the write: S3 now refuses it`);
  await sleep(SETTLE_MS);
  const end = Date.now();
  const clients: Record<string, ClientFigures> = {};
  ctx.clients.forEach((client, i) => {
    const { ok, failed } = tally(client.attempts, windowStart, end);
    clients[client.name] = { firstNewKeyMs: firsts[i] ?? null, ok, failed };
  });
  reportWrites(report, clients);
  return { n, mode, key: keyLabel(rotation.accessKeyId), filesMs, revokedMs, clients };
}

const renders = (lines: readonly TimedLine[]): TimedLine[] => lines.filter((l) => l.msg.startsWith(RENDERED));

async function filesReplaced(ctx: RotationContext, before: number, keyId: string, written: number): Promise<number | null> {
  try {
    await waitUntil(
      () => renders(ctx.sidecar.lines()).length > before && renderedKeyId(ctx.out, BUCKET) === keyId,
      GRACE_MS,
      () => 'no new render',
      20,
    );
  } catch {
    ctx.report.fail(`the sidecar did not replace the files within ${GRACE_MS / 1000} s`);
    return null;
  }
  const at = renders(ctx.sidecar.lines())[before]?.at ?? Date.now();
  ctx.report.ok(`files replaced ${ms(at - written)} after the Secret write (the sidecar's log line), all at once (one ..data swap)`);
  return at - written;
}

async function firstWithNewKey(client: ClientRun, keyId: string, written: number, report: Reporter): Promise<number | null> {
  const find = (): Attempt | undefined => client.attempts.find((a) => a.ok && a.key === keyId && a.at >= written);
  try {
    await waitUntil(
      () => find() !== undefined,
      SWITCH_TIMEOUT_MS,
      () => 'never',
      20,
    );
  } catch {
    report.fail(`${client.name}: no successful write with the new key within ${ms(SWITCH_TIMEOUT_MS)}`);
    return null;
  }
  const delay = (find()?.at ?? written) - written;
  report.ok(`${client.name}: first write with the new key ${ms(delay)} after the Secret write`);
  return delay;
}

function tally(attempts: readonly Attempt[], from: number, to: number): { ok: number; failed: number } {
  const inWindow = attempts.filter((a) => a.at >= from && a.at < to);
  return { ok: inWindow.filter((a) => a.ok).length, failed: inWindow.filter((a) => !a.ok).length };
}

function reportWrites(report: Reporter, clients: Record<string, ClientFigures>): void {
  const words = Object.entries(clients)
    .map(([name, c]) => `${name} ${c.ok} ok, ${c.failed} failed`)
    .join('; ');
  const failed = Object.values(clients).reduce((sum, c) => sum + c.failed, 0);
  if (failed === 0) report.ok(`writes during this rotation: ${words}`);
  else report.fail(`writes during this rotation: ${words}`);
}
