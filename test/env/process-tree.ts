import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';

/**
 * The processes below a pid, read from /proc (Linux): what a run started, to check afterwards that
 * none of them outlived it. A process is identified by pid and start time, so a pid the kernel
 * hands out again later is not taken for a survivor.
 */
export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  /** The kernel's `comm` (at most 15 characters; Node 24 names its main thread `MainThread`). */
  readonly comm: string;
  /** The file name of argv[0] (`node`, `kube-apiserver-v1.37.2`), or `comm` when it cannot be read. */
  readonly name: string;
  /** Clock ticks after boot: with the pid, it names one process. */
  readonly startTime: string;
  /** `R`, `S`, ... `Z` for a zombie: exited, not yet reaped by its parent. */
  readonly state: string;
}

function readStat(pid: number): ProcessInfo | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // `pid (comm) state ppid ...`; comm may itself hold spaces and parentheses.
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  const comm = stat.slice(stat.indexOf('(') + 1, close);
  return {
    pid,
    ppid: Number(fields[1]),
    comm,
    // An exiting process has an empty cmdline; Node 24's comm for node itself is MainThread.
    name: argv0(pid) ?? (comm === 'MainThread' ? 'node' : comm),
    startTime: fields[19] ?? '',
    state: fields[0] ?? '',
  };
}

function argv0(pid: number): string | undefined {
  try {
    const first = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    return first === '' ? undefined : basename(first);
  } catch {
    return undefined;
  }
}

export function processTable(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const info = readStat(Number(name));
    if (info !== undefined) out.push(info);
  }
  return out;
}

/** Every process whose parent chain leads to `root` (not `root` itself). */
export function descendants(root: number, table: readonly ProcessInfo[] = processTable()): ProcessInfo[] {
  const children = new Map<number, ProcessInfo[]>();
  for (const p of table) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const out: ProcessInfo[] = [];
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of children.get(pid) ?? []) {
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/** Those of `seen` still running (same pid, same start time, not a zombie). */
export function stillRunning(seen: Iterable<ProcessInfo>): ProcessInfo[] {
  return [...seen].filter((p) => {
    const now = readStat(p.pid);
    return now !== undefined && now.startTime === p.startTime && now.state !== 'Z';
  });
}
