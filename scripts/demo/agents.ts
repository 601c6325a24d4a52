/**
 * `bucket-agent init` and `bucket-agent sidecar` as local processes: the shipped bundle, started
 * the way the e2e tests start it (test/e2e/cli-runs.ts), against the demo's control plane. Their
 * JSON log lines are relayed as they come, so the user sees what the agent itself says.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE, metricValue, startCli, type LogLine, type Run, type Running } from '../../test/e2e/cli-runs.js';
import { freePort, waitUntil } from '../../test/env/process.js';
import { CREDENTIALS_REFRESH } from './options.js';
import type { Reporter } from './report.js';
import type { Teardown } from './teardown.js';

export interface AgentTarget {
  readonly kubeconfig: string;
  readonly namespace: string;
  readonly bucket: string;
  readonly out: string;
  /** Where the agents' logs are written at the end. */
  readonly logDir: string;
}

/** A log line with its `time` as a number (Date.now() scale). */
export interface TimedLine extends LogLine {
  readonly at: number;
}

/** Relays each complete log line of a running agent (polled: cli-runs keeps the output, not a stream). */
class LogRelay {
  private seen = 0;
  private readonly timer: NodeJS.Timeout;
  readonly lines: TimedLine[] = [];

  constructor(
    private readonly running: Running,
    private readonly onLine: (line: TimedLine) => void,
  ) {
    this.timer = setInterval(() => this.poll(), 25);
  }

  poll(): void {
    const complete = this.running.stderrSoFar().split('\n').slice(0, -1);
    for (const raw of complete.slice(this.seen)) {
      if (!raw.startsWith('{')) continue;
      const line = JSON.parse(raw) as LogLine & { time?: string };
      const timed = { ...line, at: Date.parse(line.time ?? '') };
      this.lines.push(timed);
      this.onLine(timed);
    }
    this.seen = complete.length;
  }

  stop(): void {
    clearInterval(this.timer);
    this.poll();
  }
}

const relayTo =
  (report: Reporter, who: string) =>
  (line: TimedLine): void => {
    if (line.level >= 40) report.fail(`${who}: ${line.msg}`);
    else report.info(`${who}: ${line.msg}`);
  };

const agentArgs = (t: AgentTarget): string[] => [
  '--bucket',
  t.bucket,
  '--namespace',
  t.namespace,
  '--kubeconfig',
  t.kubeconfig,
  '--out',
  t.out,
  '--log-format',
  'json',
];

export interface InitResult {
  readonly run: Run;
  readonly startedAt: number;
  readonly endedAt: number;
  /** The log line saying the files were written. */
  readonly rendered: TimedLine | undefined;
  readonly files: string[];
}

/** Starts init now (it waits for the Bucket's Secret by itself); resolves when it has exited. */
export function startInit(target: AgentTarget, report: Reporter, teardown: Teardown): Promise<InitResult> {
  const startedAt = Date.now();
  const running = startCli(['init', ...agentArgs(target), '--timeout', '60s'], {}, BUNDLE);
  teardown.add(
    'init',
    () => running.stop().then(() => undefined),
    () => void running.stop('SIGKILL'),
  );
  const relay = new LogRelay(running, relayTo(report, 'init'));
  return running.done.then((run) => {
    relay.stop();
    writeFileSync(join(target.logDir, 'init.log'), run.stderr);
    const rendered = relay.lines.find((l) => l.msg === 'rendered');
    return { run, startedAt, endedAt: Date.now(), rendered, files: renderedFiles(target.out) };
  });
}

/** The files of the current render, relative to the output dir (read through its `..data` link). */
export function renderedFiles(out: string): string[] {
  try {
    return readdirSync(join(out, '..data'), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name).slice(join(out, '..data').length + 1))
      .sort();
  } catch {
    return [];
  }
}

export interface Sidecar {
  readonly credentialsUrl: string;
  readonly tokenFile: string;
  readonly health: string;
  readonly readyAfterMs: number;
  /** Every log line so far. */
  lines(): readonly TimedLine[];
  /** A metric's value from /metrics, summed over the series that carry `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  readonly stop: () => Promise<Run>;
  /** Synchronous, for an exit that cannot wait. */
  readonly kill: () => void;
}

export async function startSidecar(target: AgentTarget, report: Reporter, teardown: Teardown): Promise<Sidecar> {
  const startedAt = Date.now();
  const health = `127.0.0.1:${await freePort()}`;
  const credentials = `127.0.0.1:${await freePort()}`;
  const args = ['sidecar', ...agentArgs(target), '--source', 'api', '--listen', health];
  args.push('--credentials-listen', credentials, '--credentials-refresh', CREDENTIALS_REFRESH);
  const running = startCli(args, {}, BUNDLE);
  const relay = new LogRelay(running, relayTo(report, 'sidecar'));
  let stopped: Promise<Run> | undefined;
  const stop = (): Promise<Run> =>
    (stopped ??= running.stop('SIGTERM').then((run) => {
      relay.stop();
      writeFileSync(join(target.logDir, 'sidecar.log'), run.stderr);
      return run;
    }));
  const kill = (): void => void running.stop('SIGKILL');
  teardown.add('the sidecar', () => stop().then(() => undefined), kill);
  // Ready or not, the teardown stops it.
  await waitUntil(
    async () => (await fetch(`http://${health}/readyz`)).status === 200,
    30_000,
    () => `the sidecar's /readyz never answered 200 (its log: ${join(target.logDir, 'sidecar.log')})`,
    25,
  );
  return {
    credentialsUrl: `http://${credentials}/v1/credentials/${target.bucket}`,
    tokenFile: join(target.out, 'aws/container-token'),
    health,
    readyAfterMs: Date.now() - startedAt,
    lines: () => relay.lines,
    metric: async (name, labels) => metricValue(await (await fetch(`http://${health}/metrics`)).text(), name, labels),
    stop,
    kill,
  };
}
