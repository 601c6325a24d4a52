/**
 * Signals for `--notify signal:...`: by process name across the pod's shared process namespace
 * (/proc/<pid>/comm, and the basename of argv[0] from /proc/<pid>/cmdline, since comm is cut at
 * 15 bytes and a process may rename itself), or by a pid file read again before every signal (a
 * restarted app writes a new pid). Never signals the sidecar itself.
 *
 *   deliverSignal(signal, target, selfPid): Promise<SignalResult>
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { SignalTarget } from '../config/notify.js';

export interface SignalResult {
  readonly ok: boolean;
  /** Pids and counts only: safe for logs. */
  readonly detail: string;
}

const PROC = '/proc';

export async function deliverSignal(signal: NodeJS.Signals, target: SignalTarget, selfPid: number): Promise<SignalResult> {
  const pids = target.by === 'name' ? await pidsNamed(target.name, selfPid) : [await pidFromFile(target.path)];
  if (pids.length === 0)
    return { ok: false, detail: `no process named ${target.by === 'name' ? target.name : ''} (is the pod's process namespace shared?)` };
  if (pids.includes(selfPid)) return { ok: false, detail: `the pid file names the sidecar itself (${selfPid}): not signalled` };
  const failures: string[] = [];
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (err) {
      failures.push(`${pid}: ${errorCode(err)}`);
    }
  }
  const sent = pids.length - failures.length;
  const detail = `${signal} to ${sent} of ${pids.length} process(es) (pid ${pids.join(', ')})${failures.length > 0 ? `; failed: ${failures.join(', ')}` : ''}`;
  return { ok: failures.length === 0, detail };
}

/** Every pid whose comm or argv[0] basename is `name`, but ours; processes gone meanwhile are skipped. */
export async function pidsNamed(name: string, selfPid: number): Promise<number[]> {
  const entries = await readdir(PROC);
  const pids = entries
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => pid !== selfPid);
  const matches = await Promise.all(pids.map(async (pid) => ((await processNames(pid)).includes(name) ? pid : undefined)));
  return matches.filter((pid): pid is number => pid !== undefined).sort((a, b) => a - b);
}

async function processNames(pid: number): Promise<string[]> {
  const [comm, cmdline] = await Promise.all([readOr(`${PROC}/${pid}/comm`), readOr(`${PROC}/${pid}/cmdline`)]);
  const argv0 = cmdline.split('\0')[0] ?? '';
  return [comm.replace(/\n$/, ''), argv0 === '' ? '' : basename(argv0)].filter((n) => n !== '');
}

async function readOr(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    // The process exited between readdir and read, or belongs to someone we may not inspect.
    return '';
  }
}

async function pidFromFile(path: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new SignalTargetError(`pid file ${path}: ${errorCode(err)}`);
  }
  const pid = Number(text.trim());
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new SignalTargetError(`pid file ${path} does not hold a pid`);
  return pid;
}

/** A target that cannot be resolved; the runner turns it into a failed outcome. */
export class SignalTargetError extends Error {
  override readonly name: string = 'SignalTargetError';
}

function errorCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'error';
}
