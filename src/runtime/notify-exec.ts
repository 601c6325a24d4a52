/**
 * `--notify exec:<command>`: `/bin/sh -c <command>` in its own process group, so that a timeout
 * kills what the shell started too (a pipeline, a `sleep`), not only the shell. stdin is closed;
 * stdout and stderr are drained and dropped: a user's command may print anything, and the sidecar's
 * log must stay free of credentials. The outcome says how it ended.
 *
 *   runCommand(command, options): Promise<ExecResult>   never rejects
 */
import { spawn } from 'node:child_process';

export interface ExecOptions {
  readonly timeoutMs: number;
  /** The whole environment of the command (the caller adds BUCKET_AGENT_OUT and friends). */
  readonly env: NodeJS.ProcessEnv;
  readonly shell?: string;
}

export interface ExecResult {
  readonly outcome: 'ok' | 'failed' | 'timeout';
  readonly detail: string;
}

export const DEFAULT_SHELL = '/bin/sh';

export function runCommand(command: string, options: ExecOptions): Promise<ExecResult> {
  return new Promise<ExecResult>((resolve) => {
    let timedOut = false;
    const child = spawn(options.shell ?? DEFAULT_SHELL, ['-c', command], {
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    child.stdout.resume();
    child.stderr.resume();
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, options.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({
        outcome: 'failed',
        detail: `could not start ${options.shell ?? DEFAULT_SHELL}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      });
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // A background job of the command may keep the pipes open: they are not ours to wait for.
      child.stdout.destroy();
      child.stderr.destroy();
      if (timedOut) resolve({ outcome: 'timeout', detail: `killed after ${options.timeoutMs} ms` });
      else if (code === 0) resolve({ outcome: 'ok', detail: 'exit 0' });
      else resolve({ outcome: 'failed', detail: signal !== null ? `killed by ${signal}` : `exit ${code ?? '?'}` });
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone: the exit handler reports it.
  }
}
