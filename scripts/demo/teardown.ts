/**
 * Stopping everything the demo started, in reverse order, once: at the end, on an error, and on
 * Ctrl-C (SIGINT) or SIGTERM. test/env/process.ts's reaper SIGKILLs kube-apiserver, kine and
 * weed on the same signal, and re-raises it; the steps here then still stop the agents and the
 * clients and remove the environment's state, so nothing is left behind either way.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { descendants, type ProcessInfo } from '../../test/env/process-tree.js';

interface Step {
  readonly name: string;
  readonly run: () => void | Promise<void>;
  /** For process.on('exit'): synchronous, last resort (SIGKILL). */
  readonly kill?: () => void;
}

export class Teardown {
  private readonly steps: Step[] = [];
  private running: Promise<string[]> | undefined;
  private readonly late: Promise<boolean>[] = [];

  /**
   * `run` is awaited at teardown; `kill`, if given, is called synchronously should the process exit
   * first. A step added once the teardown has begun (a start that finished after a Ctrl-C) runs at once.
   */
  add(name: string, run: () => void | Promise<void>, kill?: () => void): void {
    const step = { name, run, kill };
    this.steps.push(step);
    if (this.running !== undefined) this.late.push(runStep(step));
  }

  /** Runs every step, last added first; resolves with the names of those that failed. Idempotent. */
  run(): Promise<string[]> {
    this.running ??= (async () => {
      const failed: string[] = [];
      for (const step of [...this.steps].reverse()) if (!(await runStep(step))) failed.push(step.name);
      // Steps added meanwhile: the for loop's copy did not hold them.
      for (const ok of await Promise.all(this.late)) if (!ok) failed.push('a step added during the teardown');
      return failed;
    })();
    return this.running;
  }

  /** Synchronous SIGKILLs, for an exit that did not wait for run(). */
  killAll(): void {
    for (const step of this.steps) step.kill?.();
  }
}

async function runStep(step: Step): Promise<boolean> {
  try {
    await step.run();
    return true;
  } catch {
    return false;
  }
}

/** A second signal this long after the first quits at once; sooner, it is the reaper re-raising the first. */
const SECOND_SIGNAL_AFTER_MS = 1_000;

/**
 * Calls `onSignal` once on the first SIGINT or SIGTERM; a second one (from the user, not the
 * re-raise of test/env's reaper) exits at once with 130, SIGKILLing what is left.
 */
export function onInterrupt(teardown: Teardown, onSignal: (signal: NodeJS.Signals) => void): void {
  let first = 0;
  const handler = (signal: NodeJS.Signals): void => {
    if (first === 0) {
      first = Date.now();
      onSignal(signal);
    } else if (Date.now() - first > SECOND_SIGNAL_AFTER_MS) {
      teardown.killAll();
      process.exit(130);
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  process.on('exit', () => teardown.killAll());
}

/** Processes this one started that are still running (zombies excluded: exited, only not yet reaped). */
function leftovers(): ProcessInfo[] {
  return descendants(process.pid).filter((p) => p.state !== 'Z');
}

/**
 * After the teardown: anything of ours still running gets `graceMs` to end, then SIGKILL, so the
 * demo never leaves an orphan; resolves with what had to be killed (a teardown bug to report).
 */
export async function killLeftovers(graceMs = 3_000): Promise<ProcessInfo[]> {
  const deadline = Date.now() + graceMs;
  while (leftovers().length > 0 && Date.now() < deadline) await sleep(50);
  const left = leftovers();
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
  return left;
}
