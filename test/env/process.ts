import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A background process of the test environment, logging to a file kept for failed runs. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
  /** Last `lines` lines of the log, for error messages. */
  tail(lines?: number): string;
  readonly exited: Promise<number | null>;
}

export interface StartOptions {
  name: string;
  command: string;
  args: readonly string[];
  logDir: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Children still running: killed when this process exits any other way than by stopping them. */
const running = new Set<ChildProcess>();
let reaperInstalled = false;

/**
 * On exit (also after an uncaught exception) and on SIGINT/SIGTERM (a test runner's timeout, a
 * Ctrl-C), SIGKILL every child still running: a crashed test must not leave an apiserver, kine or
 * SeaweedFS behind. Nothing can be done for a SIGKILL of this process itself.
 */
function installReaper(): void {
  if (reaperInstalled) return;
  reaperInstalled = true;
  const reap = (): void => {
    for (const child of running) child.kill('SIGKILL');
  };
  process.on('exit', reap);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      reap();
      process.kill(process.pid, signal);
    });
  }
}

/**
 * SIGKILLs `child` with the environment's own processes should this process exit or be
 * interrupted while it runs: for short-lived helpers (a `weed shell`) that a Ctrl-C could
 * otherwise leave behind, talking to a SeaweedFS that is gone.
 */
export function reapOnExit(child: ChildProcess): void {
  installReaper();
  running.add(child);
  child.once('exit', () => running.delete(child));
}

export function startProcess(opts: StartOptions): ManagedProcess {
  installReaper();
  mkdirSync(opts.logDir, { recursive: true });
  const logFile = join(opts.logDir, `${opts.name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child: ChildProcess = spawn(opts.command, [...opts.args], {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  if (child.pid === undefined) throw new Error(`could not start ${opts.command}`);
  const pid = child.pid;
  running.add(child);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
  void exited.then(() => {
    running.delete(child);
    log.end();
  });
  const tail = (lines = 30): string => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };
  const stop = async (graceMs = 5000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const done = await Promise.race([exited.then(() => true), sleep(graceMs, undefined, { ref: false }).then(() => false)]);
    if (!done) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  return { name: opts.name, pid, logFile, stop, tail, exited };
}

/**
 * A TCP port free on 127.0.0.1 right now, for a server started next. Picked at random below the
 * kernel's ephemeral range: a port from `listen(0)` comes from that range, and any outgoing
 * connection (kine to the apiserver, a test's client) could take it again before the server
 * binds it, which made SeaweedFS fail with "address already in use" now and then.
 */
export async function freePort(): Promise<number> {
  const [low] = ephemeralRange();
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = BELOW_EPHEMERAL_FROM + Math.floor(Math.random() * (low - BELOW_EPHEMERAL_FROM));
    // Never the same port twice in one process: a caller often asks for two before binding either.
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port found in ${BELOW_EPHEMERAL_FROM}-${low - 1}`);
}

/** Every port freePort() returned in this process. */
const handedOut = new Set<number>();

/** Above the well-known and most registered service ports. */
const BELOW_EPHEMERAL_FROM = 10_000;

/** Linux's ip_local_port_range; its default where it cannot be read. */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && high !== undefined && low > BELOW_EPHEMERAL_FROM + 1000) return [low, high];
  } catch {
    // Not Linux, or no /proc: the default range below.
  }
  return [32768, 60999];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** Poll `probe` until it returns true or `timeoutMs` passes; `describe` explains a timeout. */
export async function waitUntil(
  probe: () => boolean | Promise<boolean>,
  timeoutMs: number,
  describe: () => string,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await probe()) return;
    } catch {
      // not ready yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await sleep(intervalMs);
  }
}

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs a program to its end with exactly `env`, keeping its whole output; killed after `timeoutMs`. */
export function run(command: string, args: readonly string[], env: Record<string, string>, timeoutMs = 60_000): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(command, [...args], { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}
