import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';

/** A file's text, or stdin's for `-`; an unreadable one is a usage error naming it (inject reads its input so too). */
export async function readInput(path: string, stdin: NodeJS.ReadableStream): Promise<string> {
  try {
    return path === '-' ? await readStream(stdin) : await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'read error';
    throw new UsageError(`cannot read ${path === '-' ? 'stdin' : path}: ${code}`, { cause: err });
  }
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}
