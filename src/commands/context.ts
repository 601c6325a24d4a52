import { join } from 'node:path';
import type { WriteResult } from '../files/atomic-writer.js';
import type { LogOptions, Logger } from '../log.js';

/** What a command needs from the process, passed in so commands are testable in-process. */
export interface CommandContext {
  /** Read only by commands that take `-`: the stream is created on first access. */
  readonly stdin: NodeJS.ReadableStream;
  readonly stderrIsTTY: boolean;
  /** Writes one line to stdout. */
  print(line: string): void;
  /** The root logger, created once the command knows its log options. */
  logger(options: LogOptions): Promise<Logger>;
}

/** Prints the paths a render wrote, under --out as the user gave it: never contents, and nothing when nothing was rewritten. */
export function printWritten(ctx: CommandContext, out: string, result: WriteResult): void {
  if (!result.changed) return;
  for (const path of result.paths) ctx.print(join(out, path));
}
