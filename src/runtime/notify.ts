/**
 * Runs the `--notify` actions after a render, all at once, and reports how each one went. A
 * failing, hanging or throwing action never rejects the run and never delays the others beyond
 * its own timeout: the sidecar loop goes on whatever the app does with the news.
 *
 *   runNotifications(actions, context): Promise<NotifyOutcome[]>   same order as `actions`
 *   notifyEnv(context): NodeJS.ProcessEnv                           what an exec action sees
 *
 * Each outcome is logged by the runner (info when ok, warn otherwise) with the action described by
 * describeAction (no URL userinfo or query, only an exec's program); the caller counts them
 * (metrics.notify / metrics.notifyDuration).
 */
import { DEFAULT_NOTIFY_TIMEOUTS, describeAction, type NotifyAction, type NotifyKind, type NotifyTimeouts } from '../config/notify.js';
import type { Logger } from '../log.js';
import { runCommand } from './notify-exec.js';
import { callHttp } from './notify-http.js';
import { deliverSignal } from './notify-signal.js';

export { DEFAULT_NOTIFY_TIMEOUTS, type NotifyTimeouts };

export type NotifyOutcomeKind = 'ok' | 'failed' | 'timeout';

export interface NotifyOutcome {
  /** describeAction(): safe for logs and outcomes. */
  readonly action: string;
  readonly kind: NotifyKind;
  readonly outcome: NotifyOutcomeKind;
  readonly detail: string;
  readonly durationMs: number;
}

export interface NotifyContext {
  /** The output directory, as the user gave it (BUCKET_AGENT_OUT for exec). */
  readonly out: string;
  /** The aliases whose files this render changed (BUCKET_AGENT_ALIASES, the http body). */
  readonly aliases: readonly string[];
  /** The sidecar's own environment, the base of an exec's (read in src/config/, passed down). */
  readonly env: NodeJS.ProcessEnv;
  readonly log: Logger;
  readonly timeouts?: Partial<NotifyTimeouts>;
  /** Never signalled by name; defaults to this process. */
  readonly selfPid?: number;
}

export const ENV_NOTIFY_OUT = 'BUCKET_AGENT_OUT';
export const ENV_NOTIFY_ALIASES = 'BUCKET_AGENT_ALIASES';

export async function runNotifications(actions: readonly NotifyAction[], context: NotifyContext): Promise<NotifyOutcome[]> {
  const log = context.log.child({ component: 'notify' });
  const timeouts = { ...DEFAULT_NOTIFY_TIMEOUTS, ...context.timeouts };
  return Promise.all(
    actions.map(async (action) => {
      const outcome = await runOne(action, context, timeouts);
      const fields = { action: outcome.action, outcome: outcome.outcome, detail: outcome.detail, durationMs: outcome.durationMs };
      if (outcome.outcome === 'ok') log.info(fields, 'notified');
      else log.warn(fields, 'notify action did not succeed');
      return outcome;
    }),
  );
}

async function runOne(action: NotifyAction, context: NotifyContext, timeouts: NotifyTimeouts): Promise<NotifyOutcome> {
  const started = performance.now();
  let result: { outcome: NotifyOutcomeKind; detail: string };
  try {
    result = await execute(action, context, timeouts);
  } catch (err) {
    // Only the error's class and code: a message could quote a path or URL we must not log.
    result = { outcome: 'failed', detail: describeError(err) };
  }
  return {
    action: describeAction(action),
    kind: action.kind,
    ...result,
    durationMs: Math.round((performance.now() - started) * 1000) / 1000,
  };
}

async function execute(
  action: NotifyAction,
  context: NotifyContext,
  timeouts: NotifyTimeouts,
): Promise<{ outcome: NotifyOutcomeKind; detail: string }> {
  switch (action.kind) {
    case 'signal': {
      const result = await deliverSignal(action.signal, action.target, context.selfPid ?? process.pid);
      return { outcome: result.ok ? 'ok' : 'failed', detail: result.detail };
    }
    case 'http':
      return callHttp(action, {
        timeoutMs: timeouts.httpTimeoutMs,
        attempts: timeouts.httpAttempts,
        backoffMs: timeouts.httpBackoffMs,
        aliases: context.aliases,
      });
    case 'exec':
      return runCommand(action.command, { timeoutMs: timeouts.execTimeoutMs, env: notifyEnv(context) });
  }
}

export function notifyEnv(context: Pick<NotifyContext, 'env' | 'out' | 'aliases'>): NodeJS.ProcessEnv {
  return { ...context.env, [ENV_NOTIFY_OUT]: context.out, [ENV_NOTIFY_ALIASES]: context.aliases.join(',') };
}

function describeError(err: unknown): string {
  if (err instanceof Error && err.name === 'SignalTargetError') return err.message;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return err instanceof Error ? `${err.name}${typeof code === 'string' ? ` ${code}` : ''}` : 'error';
}
