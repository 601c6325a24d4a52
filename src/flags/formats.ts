/**
 * The grammar of a format list (`--formats`, the `formats` annotation): names from the render
 * registry, each once, in the order given. Pure; `fail` turns a problem into the caller's error.
 */
import { FORMATS, type Format } from '../render/types.js';

/** Empty means every format. */
export function parseFormatNames(names: readonly string[], fail: (problem: string) => never): Format[] {
  if (names.length === 0) return [...FORMATS];
  const unknown = names.filter((name) => !(FORMATS as readonly string[]).includes(name));
  if (unknown.length > 0) fail(`unknown format ${unknown.join(', ')} (known: ${FORMATS.join(', ')})`);
  return [...new Set(names as Format[])];
}
