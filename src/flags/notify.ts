/**
 * The grammar of a notify action (`--notify ACTION`, the `notify` annotation), pure so the CLI and
 * the injector refuse the same values with the same words. Each caller turns a problem into its own
 * error through `fail` (config/notify.ts: a UsageError naming the flag; inject/: an AnnotationError
 * naming the annotation).
 *
 *   signal:<SIG>:<process name>     every process of that name in the pod (shared process namespace)
 *   signal:<SIG>:pidfile:<path>     the pid written in <path>, read again before each signal
 *   http:<METHOD>:<url>             one request, 2xx = delivered (the url keeps its own colons)
 *   exec:<command>                  run by `/bin/sh -c <command>`: a flag value is one string, and
 *                                   users write it as they would in a shell (pipes, quotes, &&)
 *
 *   parseNotifyValue(value, fail): NotifyAction
 *   describeAction(action): string  -> safe for logs (no userinfo, no query, only an exec's program)
 */
import { constants } from 'node:os';

export type NotifyKind = 'signal' | 'http' | 'exec';

export type SignalTarget = { readonly by: 'name'; readonly name: string } | { readonly by: 'pidfile'; readonly path: string };

export interface SignalAction {
  readonly kind: 'signal';
  readonly signal: NodeJS.Signals;
  readonly target: SignalTarget;
}

export interface HttpAction {
  readonly kind: 'http';
  readonly method: string;
  /** As given, userinfo and query included: send it, never log it (describeAction). */
  readonly url: string;
}

export interface ExecAction {
  readonly kind: 'exec';
  readonly command: string;
}

export type NotifyAction = SignalAction | HttpAction | ExecAction;

/** Says what is wrong with a value; never returns. */
export type Fail = (problem: string) => never;

export const HTTP_METHODS: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** Linux keeps 15 bytes of a process name in /proc/<pid>/comm; argv[0] is matched in full. */
const PROCESS_NAME = /^[^/\0\s]{1,255}$/;

export function parseNotifyValue(value: string, fail: Fail): NotifyAction {
  const colon = value.indexOf(':');
  const kind = colon < 0 ? value : value.slice(0, colon);
  const rest = colon < 0 ? '' : value.slice(colon + 1);
  switch (kind) {
    case 'signal':
      return parseSignalAction(rest, fail);
    case 'http':
      return parseHttpAction(rest, fail);
    case 'exec':
      if (rest.trim() === '') fail('exec needs a command: exec:<command>');
      return { kind: 'exec', command: rest };
    default:
      return fail('unknown action: use signal:<SIG>:<process name>, signal:<SIG>:pidfile:<path>, http:<METHOD>:<url> or exec:<command>');
  }
}

function parseSignalAction(rest: string, fail: Fail): SignalAction {
  const colon = rest.indexOf(':');
  if (colon < 0) return fail('signal needs a target: signal:<SIG>:<process name> or signal:<SIG>:pidfile:<path>');
  const signal = parseSignal(rest.slice(0, colon), fail);
  const target = rest.slice(colon + 1);
  if (target.startsWith('pidfile:')) {
    const path = target.slice('pidfile:'.length);
    if (path === '') fail('pidfile needs a path: signal:<SIG>:pidfile:<path>');
    return { kind: 'signal', signal, target: { by: 'pidfile', path } };
  }
  if (!PROCESS_NAME.test(target)) fail(`"${target}" is not a process name (no slash, no space; as in ps -o comm or argv[0])`);
  return { kind: 'signal', signal, target: { by: 'name', name: target } };
}

/** `HUP`, `SIGHUP` or `sighup` -> `SIGHUP`, checked against the signals this OS knows. */
export function parseSignal(text: string, fail: Fail): NodeJS.Signals {
  const upper = text.trim().toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  if (!Object.hasOwn(constants.signals, name)) return fail(`"${text}" is not a signal name (e.g. HUP, SIGUSR1, TERM)`);
  return name as NodeJS.Signals;
}

function parseHttpAction(rest: string, fail: Fail): HttpAction {
  const colon = rest.indexOf(':');
  if (colon < 0) return fail('http needs a method and a URL: http:<METHOD>:<url>');
  const method = rest.slice(0, colon).toUpperCase();
  const url = rest.slice(colon + 1);
  if (!HTTP_METHODS.includes(method)) fail(`"${rest.slice(0, colon)}" is not an HTTP method (${HTTP_METHODS.join(', ')})`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail('not an absolute URL after the method (e.g. http:POST:http://127.0.0.1:8080/-/reload)');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') fail(`the URL must be http:// or https://, not ${parsed.protocol}//`);
  return { kind: 'http', method, url };
}

/** What logs, metrics and outcomes call an action: a URL loses its userinfo, query and fragment. */
export function describeAction(action: NotifyAction): string {
  switch (action.kind) {
    case 'signal':
      return action.target.by === 'name'
        ? `signal:${action.signal}:${action.target.name}`
        : `signal:${action.signal}:pidfile:${action.target.path}`;
    case 'http':
      return `http:${action.method}:${safeUrl(action.url)}`;
    case 'exec':
      return describeCommand(action.command);
  }
}

/** Only the program: the rest of a command line may carry a token (`curl -H "Authorization: ..."`). */
function describeCommand(command: string): string {
  const words = command.trim().split(/\s+/);
  return `exec:${words[0] ?? ''}${words.length > 1 ? ' ...' : ''}`;
}

export function safeUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}
