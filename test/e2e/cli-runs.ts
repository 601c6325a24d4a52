/**
 * Running the real `bucket-agent` binary in end-to-end tests: a child process whose whole output
 * is kept, so that a test file can scan every run (and the Events) for key material at the end.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request, type RequestOptions } from 'node:https';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { REPO_ROOT } from '../env/tools.js';

export const BIN = join(REPO_ROOT, 'dist/src/bin.js');
/** The shipped single-file build (package.json `bin`), what a user runs. */
export const BUNDLE = join(REPO_ROOT, 'dist/bundle/bucket-agent.js');

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export interface Running {
  readonly done: Promise<Run>;
  /** Resolves when a stderr log line matches; rejects if the process exits first. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends `signal` (SIGTERM unless told) and resolves with the run once the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<Run>;
  /** stderr so far, for failure messages. */
  stderrSoFar(): string;
}

/** Every run's output, so one scan covers all of them. */
export const transcripts: Run[] = [];
/** Every key value the tests handed out: none may appear in any output or Event. */
export const knownSecrets = new Set<string>();

export function rememberKeys(keys: { accessKeyId: string; secretAccessKey: string }): void {
  for (const value of [keys.accessKeyId, keys.secretAccessKey]) if (value.length >= 8) knownSecrets.add(value);
}

export function startCli(args: readonly string[], env: Record<string, string> = {}, bin = BIN): Running {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    for (const listener of listeners) listener();
  });
  const done = new Promise<Run>((resolve) =>
    child.on('close', (code) => {
      const run = { code, stdout, stderr };
      transcripts.push(run);
      resolve(run);
      for (const listener of listeners) listener();
    }),
  );
  let exited = false;
  void done.then(() => (exited = true));
  const waitForLog = (pattern: RegExp, timeoutMs = 20_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`no log line matching ${pattern} within ${timeoutMs} ms:\n${stderr}`)), timeoutMs);
      const check = (): void => {
        const line = stderr.split('\n').find((l) => pattern.test(l));
        if (line !== undefined) finish(undefined, line);
        else if (exited) finish(new Error(`process exited before logging ${pattern}:\n${stderr}`));
      };
      const finish = (err: Error | undefined, line?: string): void => {
        clearTimeout(timer);
        listeners.delete(check);
        if (err === undefined) resolve(line ?? '');
        else reject(err);
      };
      listeners.add(check);
      check();
    });
  const stop = (signal: NodeJS.Signals = 'SIGTERM'): Promise<Run> => {
    if (!exited) child.kill(signal);
    return done;
  };
  return { done, waitForLog, stop, stderrSoFar: () => stderr };
}

export function runCli(args: readonly string[], env: Record<string, string> = {}, bin = BIN): Promise<Run> {
  return startCli(args, env, bin).done;
}

export function logLines(run: Run): LogLine[] {
  return run.stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

export function messages(run: Run): string[] {
  return logLines(run).map((line) => line.msg);
}

/** The final error line (the reason of a non-zero exit). */
export function errorMessage(run: Run): string {
  return logLines(run)
    .filter((line) => line.level >= 50)
    .map((line) => line.msg)
    .join('\n');
}

export function assertNoSecrets(text: string, where: string): void {
  for (const secret of knownSecrets) assert.ok(!text.includes(secret), `${where} contains key material`);
}

/** No key material anywhere, and nothing on stderr but JSON log lines (no runtime warnings). */
export function assertRunClean(run: Run): void {
  assertNoSecrets(run.stdout, 'stdout');
  assertNoSecrets(run.stderr, 'stderr');
  for (const line of run.stderr.split('\n').filter((l) => l !== ''))
    assert.ok(line.startsWith('{"level":'), `stderr line is not a log line: ${line}`);
}

/** Sum of the series of metric `name` in a Prometheus text body whose labels include every `labels` pair. */
export function metricValue(body: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of body.split('\n')) {
    const m = /^([a-z_]+)(?:\{([^}]*)\})? ([0-9.e+-]+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) total += Number(m[3]);
  }
  return total;
}

/** The access key id in `<out>/json/<alias>.json`, or undefined while there is none. */
export function renderedKeyId(out: string, alias: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(out, 'json', `${alias}.json`), 'utf8')) as { accessKeyId?: string }).accessKeyId;
  } catch {
    return undefined;
  }
}

export function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

export interface EventSummary {
  readonly reason: string;
  readonly type: string;
  readonly message: string;
  readonly involved: string;
}

export async function podEvents(kc: KubeConfig, namespace: string, pod: string): Promise<EventSummary[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const list = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${pod}` });
  return list.items.map((e) => ({
    reason: e.reason ?? '',
    type: e.type ?? '',
    message: e.message ?? '',
    involved: `${e.involvedObject.kind ?? ''}/${e.involvedObject.name ?? ''}/${e.involvedObject.uid ?? ''}`,
  }));
}

/** A Pod object for Events to point at; the test control plane stores it and never runs it. */
export async function createPod(kc: KubeConfig, namespace: string, name: string): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  const pod = await core.createNamespacedPod({
    namespace,
    body: { metadata: { name }, spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }] } },
  });
  return pod.metadata?.uid ?? '';
}

/**
 * `<status> <first line>` of a watch of the Secrets in `ns` from `resourceVersion`: an expired
 * version answers with an ERROR event carrying `"code":410`.
 */
export async function firstWatchLine(kc: KubeConfig, apiserverUrl: string, ns: string, resourceVersion: string): Promise<string> {
  const options: RequestOptions = { agent: false };
  await kc.applyToHTTPSOptions(options);
  const url = new URL(`/api/v1/namespaces/${ns}/secrets?watch=1&timeoutSeconds=5&resourceVersion=${resourceVersion}`, apiserverUrl);
  return new Promise((resolve, reject) => {
    const req = request(url, options, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8');
        if (body.includes('\n')) req.destroy();
      });
      res.on('close', () => resolve(`${res.statusCode ?? 0} ${body}`));
    });
    req.on('error', reject);
    req.end();
  });
}
