/**
 * Reading kubeconfig files into their named clusters, users and contexts, and merging several as
 * kubectl merges KUBECONFIG: for each name the first file that defines it wins, and so does the
 * first file that sets current-context. js-yaml is the parser client-node uses (same results),
 * and it loads in about a millisecond.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { load, YAMLException } from 'js-yaml';
import { KubeAccessError } from '../errors.js';
import { readError } from './auth.js';

/** A kubeconfig section's entry kind: `clusters[].cluster`, `users[].user`, `contexts[].context`. */
export type EntryKind = 'cluster' | 'user' | 'context';

/** One named entry and the file it came from, whose directory relative paths start from. */
export interface KubeconfigEntry {
  readonly kind: EntryKind;
  readonly name: string;
  readonly fields: Readonly<Record<string, unknown>>;
  readonly file: string;
}

export interface Kubeconfig {
  readonly currentContext: string | undefined;
  readonly clusters: ReadonlyMap<string, KubeconfigEntry>;
  readonly users: ReadonlyMap<string, KubeconfigEntry>;
  readonly contexts: ReadonlyMap<string, KubeconfigEntry>;
}

/** One file; a missing one is an error. */
export async function readKubeconfig(file: string): Promise<Kubeconfig> {
  return parseKubeconfig(await readText(file), file);
}

/**
 * KUBECONFIG's files merged, missing ones skipped as kubectl skips them; undefined when none
 * exists. `files` lists the ones read.
 */
export async function readMergedKubeconfig(paths: readonly string[]): Promise<{ config: Kubeconfig; files: string[] } | undefined> {
  const found = (await Promise.all(paths.map(readIfPresent))).filter((read) => read !== undefined);
  const [first, ...rest] = found.map(({ file, text }) => parseKubeconfig(text, file));
  return first === undefined ? undefined : { config: rest.reduce(merge, first), files: found.map(({ file }) => file) };
}

export function parseKubeconfig(text: string, file: string): Kubeconfig {
  const doc = parseYaml(text, file);
  if (!isRecord(doc)) throw new KubeAccessError(`${file}: not a kubeconfig (expected a mapping with clusters, users and contexts)`);
  const currentContext = doc['current-context'];
  return {
    currentContext: typeof currentContext === 'string' && currentContext !== '' ? currentContext : undefined,
    clusters: entries(doc.clusters, 'cluster', file),
    users: entries(doc.users, 'user', file),
    contexts: entries(doc.contexts, 'context', file),
  };
}

/** A string field; absent and empty are the same (as in client-go), any other type is an error. */
export function stringField(entry: KubeconfigEntry, key: string): string | undefined {
  const value = entry.fields[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw fieldError(entry, key, 'a string');
  return value;
}

/** A list of strings (`as-groups`); absent and null are empty. */
export function stringListField(entry: KubeconfigEntry, key: string): string[] {
  const value = entry.fields[key];
  if (value === undefined || value === null) return [];
  if (!isStringList(value)) throw fieldError(entry, key, 'a list of strings');
  return value;
}

/** A mapping of names to lists of strings (`as-user-extra`); absent and null (the map or a list) are empty. */
export function stringListMapField(entry: KubeconfigEntry, key: string): Record<string, string[]> {
  const value = entry.fields[key];
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw fieldError(entry, key, 'a mapping of names to lists of strings');
  const lists: Record<string, string[]> = {};
  for (const [name, list] of Object.entries(value)) {
    if (list !== null && !isStringList(list)) throw fieldError(entry, key, 'a mapping of names to lists of strings');
    lists[name] = list ?? [];
  }
  return lists;
}

export function booleanField(entry: KubeconfigEntry, key: string): boolean {
  const value = entry.fields[key];
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw fieldError(entry, key, 'true or false');
  return value;
}

/** A path field, relative to the directory of the file the entry came from. */
export function pathField(entry: KubeconfigEntry, key: string): string | undefined {
  const value = stringField(entry, key);
  return value === undefined ? undefined : resolve(dirname(entry.file), value);
}

/** `user "ci"` for messages. */
export function describeEntry(entry: KubeconfigEntry): string {
  return `${entry.kind} "${entry.name}"`;
}

function fieldError(entry: KubeconfigEntry, key: string, expected: string): KubeAccessError {
  return new KubeAccessError(`${entry.file}: ${describeEntry(entry)}: ${key} must be ${expected}`);
}

function parseYaml(text: string, file: string): unknown {
  try {
    return load(text);
  } catch (err) {
    if (!(err instanceof YAMLException)) throw err;
    // No cause and no message of js-yaml's: they quote the offending line, which may hold a token.
    throw new KubeAccessError(`${file}: not valid YAML at line ${(err.mark?.line ?? -1) + 1} (${yamlProblem(err.reason)})`);
  }
}

/** js-yaml's reason up to where it would quote the file (`unknown tag !<...>`, `unidentified alias "..."`). */
function yamlProblem(reason: string | undefined): string {
  const words = (reason ?? '').split(/[:"'!<(]/, 1)[0]?.trim() ?? '';
  return words === '' ? 'syntax error' : words;
}

function entries(list: unknown, kind: EntryKind, file: string): Map<string, KubeconfigEntry> {
  const found = new Map<string, KubeconfigEntry>();
  if (!Array.isArray(list)) return found;
  for (const item of list as unknown[]) {
    // A nameless entry cannot be referred to: skip it, as a duplicate name is (the first one wins).
    if (!isRecord(item) || typeof item.name !== 'string' || found.has(item.name)) continue;
    const fields = item[kind];
    found.set(item.name, { kind, name: item.name, fields: isRecord(fields) ? fields : {}, file });
  }
  return found;
}

function merge(first: Kubeconfig, next: Kubeconfig): Kubeconfig {
  // A Map built from pairs keeps the last value per key: `first` goes last so that it wins.
  return {
    currentContext: first.currentContext ?? next.currentContext,
    clusters: new Map([...next.clusters, ...first.clusters]),
    users: new Map([...next.users, ...first.users]),
    contexts: new Map([...next.contexts, ...first.contexts]),
  };
}

function readText(file: string): Promise<string> {
  return readFile(file, 'utf8').catch((err: unknown) => {
    throw readError('kubeconfig', file, err);
  });
}

async function readIfPresent(file: string): Promise<{ file: string; text: string } | undefined> {
  return readText(file).then(
    (text) => ({ file, text }),
    (err: unknown) => {
      if (err instanceof KubeAccessError && (err.cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    },
  );
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
