/**
 * What the demo prints: one line per step, each with the time since the demo started, colours
 * only on a terminal (and never with NO_COLOR). Keys are shown as a short hash, never as
 * themselves: an access key id is not a secret, but nothing in a transcript should invite pasting
 * it anywhere.
 */
import { createHash } from 'node:crypto';

export interface Reporter {
  /** A new phase: bold. */
  step(text: string): void;
  info(text: string): void;
  ok(text: string): void;
  /** Something went wrong that the user must see (a failed write, a client that never switched). */
  fail(text: string): void;
  /** Lines as they are (the summary table), no time prefix. */
  plain(text: string): void;
  /** A status line rewritten in place on a terminal (build progress); nothing elsewhere. */
  status(text: string): void;
  /** Milliseconds since the demo started. */
  elapsedMs(): number;
}

const STYLES = { bold: '1', dim: '2', red: '31', green: '32', yellow: '33', cyan: '36' } as const;
type Style = keyof typeof STYLES;

export function useColor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && env.NO_COLOR === undefined && env.TERM !== 'dumb';
}

export function createReporter(stream: NodeJS.WriteStream, startedAt: number, color = useColor(stream)): Reporter {
  const paint = (style: Style, text: string): string => (color ? `\x1b[${STYLES[style]}m${text}\x1b[0m` : text);
  let statusShown = false;
  const write = (line: string): void => {
    if (statusShown) stream.write('\r\x1b[K');
    statusShown = false;
    stream.write(`${line}\n`);
  };
  const stamp = (): string => paint('dim', `[${((Date.now() - startedAt) / 1000).toFixed(1).padStart(6)}s]`);
  return {
    step: (text) => write(`${stamp()} ${paint('bold', `== ${text}`)}`),
    info: (text) => write(`${stamp()}    ${text}`),
    ok: (text) => write(`${stamp()}    ${paint('green', 'ok')} ${text}`),
    fail: (text) => write(`${stamp()}    ${paint('red', 'FAILED')} ${text}`),
    plain: (text) => write(text),
    status: (text) => {
      if (stream.isTTY !== true) return;
      stream.write(`\r\x1b[K${stamp()}    ${paint('cyan', text)}`);
      statusShown = true;
    },
    elapsedMs: () => Date.now() - startedAt,
  };
}

/** `key 3f2a9c1d`: the same key always gets the same label, and the label cannot be used as a key. */
export function keyLabel(accessKeyId: string): string {
  return `key ${createHash('sha256').update(accessKeyId).digest('hex').slice(0, 8)}`;
}

export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return '-';
  return value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(1)} s`;
}

/** A plain text table: a header row and rows, columns padded to their widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `  ${cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()}`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}
