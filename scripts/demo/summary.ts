/** The demo's closing table, and the same figures as JSON for `--json`. */
import type { Attempt, ClientRun } from './clients.js';
import { ms, table, type Reporter } from './report.js';
import type { RotationFigures } from './rotations.js';

export interface ClientTotals {
  readonly ok: number;
  readonly failed: number;
  /** Names of the errors of the failed writes, with their counts. */
  readonly errors: Record<string, number>;
}

export interface DemoSummary {
  readonly node: string;
  readonly envStartMs: number;
  readonly init: { readonly exitCode: number | null; readonly ms: number; readonly files: readonly string[] };
  readonly sidecarReadyMs: number;
  readonly rotations: readonly RotationFigures[];
  readonly clients: Record<string, ClientTotals>;
  readonly sidecar: { readonly rotations: number; readonly credentialsAnswers: number; readonly rssMiB: number };
  /** Neither the secret keys nor the access key ids appeared in the agents' output. */
  readonly agentOutputClean: boolean;
  /** Every rotation reached every client, and no write failed. */
  readonly ok: boolean;
}

export interface FinalSummary extends DemoSummary {
  readonly stopMs: number;
  /** Processes still running after the stop (should be none). */
  readonly leftovers: readonly string[];
  readonly wallMs: number;
}

export function clientTotals(client: ClientRun): ClientTotals {
  const failed = client.attempts.filter((a: Attempt) => !a.ok);
  const errors: Record<string, number> = {};
  for (const a of failed) errors[a.error ?? 'unknown'] = (errors[a.error ?? 'unknown'] ?? 0) + 1;
  return { ok: client.attempts.length - failed.length, failed: failed.length, errors };
}

/** Every rotation delivered to every client with no failed write, and the agents' output clean. */
export function allWell(rotations: readonly RotationFigures[], clients: Record<string, ClientTotals>, clean: boolean): boolean {
  const delivered = rotations.every((r) => r.filesMs !== null && Object.values(r.clients).every((c) => c.firstNewKeyMs !== null));
  return clean && delivered && Object.values(clients).every((c) => c.failed === 0);
}

export function printSummary(report: Reporter, s: DemoSummary): void {
  const names = Object.keys(s.rotations[0]?.clients ?? {});
  const header = [
    'rotation',
    'how',
    'new key',
    'files replaced',
    ...names.map((n) => `${n} on new key`),
    'old key revoked',
    'failed writes',
  ];
  const rows = s.rotations.map((r) => [
    String(r.n),
    r.mode === 'recreate' ? 'delete + create' : 'in place',
    r.key.replace('key ', ''),
    ms(r.filesMs),
    ...names.map((n) => ms(r.clients[n]?.firstNewKeyMs)),
    ms(r.revokedMs),
    String(Object.values(r.clients).reduce((sum, c) => sum + c.failed, 0)),
  ]);
  report.step('summary (times from the write of the Secret with the new keys)');
  for (const line of table(header, rows)) report.plain(line);
  const totals = Object.entries(s.clients)
    .map(([name, c]) => `${name} ${c.ok} writes ok, ${c.failed} failed${c.failed > 0 ? ` (${JSON.stringify(c.errors)})` : ''}`)
    .join('; ');
  report.plain(`  all writes: ${totals}`);
  report.plain(
    `  control plane + SeaweedFS up in ${ms(s.envStartMs)}; init ${ms(s.init.ms)} (${s.init.files.length} files); sidecar ready in ${ms(s.sidecarReadyMs)}`,
  );
  report.plain(
    `  sidecar: bucket_agent_rotations_total ${s.sidecar.rotations}, credentials endpoint answered 200 ${s.sidecar.credentialsAnswers} times, RSS ${s.sidecar.rssMiB} MiB`,
  );
}
