/**
 * Manifests in, manifests out, for `bucket-agent inject`: multi-document YAML or one JSON value
 * (an object or a `List`), in the format it came in. Only the documents that change are
 * re-serialized; every other byte, comments and `---` separators included, is passed through as
 * it was, so a diff of input and output shows the injection and nothing else. Pure: text in, text
 * out (js-yaml is a parser, not IO).
 */
import { CORE_SCHEMA, dump, loadAll, YAMLException } from 'js-yaml';
import { AnnotationError, UsageError } from '../errors.js';
import type { InjectFacts } from './mutate.js';
import { injectListOrObject, type ObjectResult } from './workloads.js';

export type ManifestFormat = 'yaml' | 'json';

export interface InjectedManifests {
  readonly text: string;
  readonly format: ManifestFormat;
  /** Documents (or List items, counted per document) that were mutated. */
  readonly injected: number;
  readonly warnings: readonly string[];
}

/** `label` names the input (a file, stdin) in errors. */
export function injectManifests(text: string, facts: InjectFacts, label: string): InjectedManifests {
  return /^\s*[{[]/.test(text) ? injectJson(text, facts, label) : injectYaml(text, facts, label);
}

/** Runs the injection on one document; errors and warnings get `document N` in front. */
function injectDocument(doc: unknown, facts: InjectFacts, index: number): ObjectResult {
  const where = `document ${index}`;
  try {
    const result = injectListOrObject(doc, facts);
    return { ...result, warnings: result.warnings.map((w) => `${where}: ${w}`) };
  } catch (err) {
    throw err instanceof AnnotationError ? err.at(where) : err;
  }
}

function injectJson(text: string, facts: InjectFacts, label: string): InjectedManifests {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // V8's message quotes the text around the fault, which may be a Secret's data.
    throw new UsageError(`${label}: is not valid JSON (nor YAML: it starts with "${text.trimStart()[0] ?? ''}")`);
  }
  const result = injectDocument(value, facts, 1);
  const out = result.injected ? `${JSON.stringify(result.object, null, jsonIndent(text))}${text.endsWith('\n') ? '\n' : ''}` : text;
  return { text: out, format: 'json', injected: result.injected ? 1 : 0, warnings: result.warnings };
}

/** The input's own indentation (kubectl prints 4 spaces, most tools 2). */
function jsonIndent(text: string): string {
  return /\n([ \t]+)"/.exec(text)?.[1] ?? '  ';
}

/** One `---`-led piece of a YAML stream, as it was: `header` is the marker line ('' before the first). */
interface Chunk {
  readonly header: string;
  readonly body: string;
  /** 0-based line of the chunk's first line in the input. */
  readonly line: number;
}

/** A document marker at the start of a line ends any document (YAML 1.2 §9.1.4), so splitting at them is exact. */
const DOCUMENT_START = /^---(?=[ \t\r\n]|$)/;
/** A bare marker (an optional comment after it) is kept on output; one with content after it is replaced by `---`. */
const BARE_MARKER = /^---[ \t]*(?:#.*)?\r?\n?$/;

export function splitYamlDocuments(text: string): Chunk[] {
  const chunks: Chunk[] = [];
  let current = { header: '', body: '', line: 0 };
  text.split(/(?<=\n)/).forEach((line, i) => {
    if (!DOCUMENT_START.test(line)) {
      current.body += line;
      return;
    }
    chunks.push(current);
    current = { header: line, body: '', line: i };
  });
  chunks.push(current);
  return chunks;
}

function injectYaml(text: string, facts: InjectFacts, label: string): InjectedManifests {
  let index = 0;
  let injected = 0;
  const warnings: string[] = [];
  const out = splitYamlDocuments(text).map((chunk) => {
    const docs = parseChunk(chunk, label, index + 1);
    if (docs.length === 0) return chunk.header + chunk.body;
    const results = docs.map((doc) => injectDocument(doc, facts, ++index));
    warnings.push(...results.flatMap((r) => r.warnings));
    if (!results.some((r) => r.injected)) return chunk.header + chunk.body;
    injected += results.filter((r) => r.injected).length;
    const header = chunk.header === '' || BARE_MARKER.test(chunk.header) ? chunk.header : '---\n';
    return header + results.map((r) => dump(r.object, { lineWidth: -1, noRefs: true })).join('---\n');
  });
  return { text: out.join(''), format: 'yaml', injected, warnings };
}

/** The documents of one chunk (usually one; none for comments only; more after a `...` end marker). */
function parseChunk(chunk: Chunk, label: string, index: number): unknown[] {
  try {
    // The core schema, as for Secrets (credentials/manifest.ts): plain strings stay strings.
    return loadAll(chunk.header + chunk.body, undefined, { schema: CORE_SCHEMA }).filter((doc) => doc !== null && doc !== undefined);
  } catch (err) {
    if (!(err instanceof YAMLException)) throw err;
    // js-yaml's message quotes the offending line, which may hold a key: report the position only.
    throw new UsageError(`${label}: document ${index} is not valid YAML (line ${chunk.line + err.mark.line + 1})`);
  }
}
