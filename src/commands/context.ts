import type { LogOptions, Logger } from '../log.js';

/** What a command needs from the process, passed in so commands are testable in-process. */
export interface CommandContext {
  readonly stdin: NodeJS.ReadableStream;
  readonly stderrIsTTY: boolean;
  /** Writes one line to stdout. */
  print(line: string): void;
  /** The root logger, created once the command knows its log options. */
  logger(options: LogOptions): Promise<Logger>;
}
