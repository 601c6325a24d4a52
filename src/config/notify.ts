/**
 * `--notify ACTION` values (repeatable), parsed once at start so a typo fails the start, not the
 * first rotation. The grammar (signal:, http:, exec:) is src/flags/notify.ts, shared with the
 * `notify` annotation of inject/; this module names the flag in the errors and holds the timeouts.
 *
 *   parseNotifyActions(values, flag?): NotifyAction[]   -> UsageError naming the flag and the fault
 *   describeAction(action): string                       -> safe for logs (no userinfo, no query,
 *                                                           only an exec's program)
 */
import { UsageError } from '../errors.js';
import { parseNotifyValue, type NotifyAction } from '../flags/notify.js';

export {
  describeAction,
  HTTP_METHODS,
  safeUrl,
  type ExecAction,
  type HttpAction,
  type NotifyAction,
  type NotifyKind,
  type SignalAction,
  type SignalTarget,
} from '../flags/notify.js';

export const NOTIFY_FLAG = 'notify';

export interface NotifyTimeouts {
  readonly httpTimeoutMs: number;
  readonly httpAttempts: number;
  /** Wait before the 2nd attempt, doubled for each one after. */
  readonly httpBackoffMs: number;
  /** Then the command and everything it started are killed. */
  readonly execTimeoutMs: number;
}

export const DEFAULT_NOTIFY_TIMEOUTS: NotifyTimeouts = Object.freeze({
  httpTimeoutMs: 5_000,
  httpAttempts: 3,
  httpBackoffMs: 250,
  execTimeoutMs: 30_000,
});

export function parseNotifyActions(values: readonly string[] | undefined, flag: string = NOTIFY_FLAG): NotifyAction[] {
  return (values ?? []).map((value) => Object.freeze(parseNotifyAction(value, flag)));
}

export function parseNotifyAction(value: string, flag: string = NOTIFY_FLAG): NotifyAction {
  return parseNotifyValue(value, (problem) => {
    throw new UsageError(`--${flag} ${JSON.stringify(value)}: ${problem}`);
  });
}
