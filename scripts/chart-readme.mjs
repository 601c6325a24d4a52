#!/usr/bin/env node
/**
 * The values table of charts/bucket-agent/README.md, generated from the `# --` comments of
 * values.yaml (the helm-docs convention: a `# -- text` block, continued by `#` lines at the same
 * indentation, documents the key right below it). Written between the README's
 * `<!-- values:start -->` and `<!-- values:end -->` markers.
 *
 *   node scripts/chart-readme.mjs           rewrite the table
 *   node scripts/chart-readme.mjs --check   exit 1 when the table is stale, a value has no
 *                                           description, or the schema and values.yaml disagree
 */
import console from 'node:console';
import { readFileSync, writeFileSync } from 'node:fs';
import process from 'node:process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';

const CHART = join(dirname(fileURLToPath(import.meta.url)), '..', 'charts', 'bucket-agent');
const START = '<!-- values:start -->';
const END = '<!-- values:end -->';

/** Doc comments by dotted key path, in file order. */
export function docComments(text) {
  const docs = new Map();
  const stack = [];
  let pending;
  for (const line of text.split('\n')) {
    const doc = /^(\s*)# -- (.*)$/.exec(line);
    const more = /^(\s*)# (.*)$/.exec(line);
    const key = /^(\s*)([A-Za-z0-9_]+):/.exec(line);
    if (doc) pending = { indent: doc[1].length, text: doc[2].trim() };
    else if (more && pending?.indent === more[1].length) pending.text += ` ${more[2].trim()}`;
    else {
      if (key) keyLine(key[1].length, key[2], { stack, docs, pending });
      pending = undefined;
    }
  }
  return docs;
}

/** A key at `indent`: its path from the enclosing keys; the pending comment documents it when aligned. */
function keyLine(indent, key, { stack, docs, pending }) {
  while (stack.length > 0 && stack[stack.length - 1].indent >= indent) stack.pop();
  const path = [...stack.map((s) => s.key), key].join('.');
  if (pending?.indent === indent) docs.set(path, pending.text);
  stack.push({ indent, key });
}

const isMap = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function valueAt(values, path) {
  return path.split('.').reduce((v, k) => (isMap(v) ? v[k] : undefined), values);
}

/** Every value without a description of its own or of an enclosing map. */
export function undocumented(values, docs, prefix = '') {
  const missing = [];
  for (const [key, value] of Object.entries(values)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (docs.has(path)) continue;
    if (isMap(value) && Object.keys(value).length > 0) missing.push(...undocumented(value, docs, path));
    else missing.push(path);
  }
  return missing;
}

/** Allowed in the schema without a default in values.yaml: Helm's `global`, optional sub-keys. */
const SCHEMA_ONLY = ['global', 'resources.claims', 'certManager.issuerRef'];

/** Schema properties that values.yaml does not have (a schema that drifted). */
export function schemaOnly(schema, values, prefix = '') {
  const out = [];
  for (const [key, sub] of Object.entries(schema.properties ?? {})) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (SCHEMA_ONLY.some((p) => path === p || path.startsWith(`${p}.`))) continue;
    if (!(isMap(values) && key in values)) out.push(path);
    else if (sub.properties) out.push(...schemaOnly(sub, values[key], path));
  }
  return out;
}

function cell(text) {
  return text.replace(/\|/g, '\\|');
}

export function valuesTable(values, docs) {
  const rows = ['| key | default | description |', '| --- | --- | --- |'];
  for (const [path, text] of docs) {
    const value = valueAt(values, path);
    rows.push(`| \`${path}\` | \`${cell(JSON.stringify(value))}\` | ${cell(text)} |`);
  }
  return rows.join('\n');
}

function main() {
  const check = process.argv.includes('--check');
  const valuesText = readFileSync(join(CHART, 'values.yaml'), 'utf8');
  const values = yaml.load(valuesText);
  const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'));
  const docs = docComments(valuesText);
  const problems = [
    ...undocumented(values, docs).map((p) => `values.yaml: ${p} has no "# --" description`),
    ...schemaOnly(schema, values).map((p) => `values.schema.json: ${p} is not in values.yaml`),
  ];
  const readmePath = join(CHART, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const [before, rest] = readme.split(START);
  const after = rest?.split(END)[1];
  if (after === undefined) problems.push(`README.md: no ${START} ... ${END} markers`);
  if (problems.length > 0) {
    for (const p of problems) console.error(p);
    process.exit(1);
  }
  const next = `${before}${START}\n${valuesTable(values, docs)}\n${END}${after}`;
  if (next === readme) return console.log(`chart README values table is current (${docs.size} values)`);
  if (check) {
    console.error('charts/bucket-agent/README.md: the values table is stale; run: node scripts/chart-readme.mjs');
    process.exit(1);
  }
  writeFileSync(readmePath, next);
  console.log(`chart README values table written (${docs.size} values)`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
