// Bundles the compiled CLI (dist/src/bin.js) into dist/bundle/, the `bin` the package ships.
//
// Why: importing @kubernetes/client-node's KubeConfig, unbundled, pulls hundreds of files
// (~1.3 s and ~110 MB RSS through the package index); one ESM bundle, split at the dynamic
// imports so each command parses only what it runs, starts several times faster
// (docs/startup.md). dist/src/ stays as tsc wrote it, for the tests.
//
// - The entry enables Node's on-disk compile cache (Node >= 22.1; a no-op before) and then
//   loads the CLI, so the chunks after it compile from cache on the next start.
// - Node builtins are loaded with require(), through the banner's createRequire: an ESM import
//   of a builtin builds a facade that reads every export once, and node:http's exports include
//   lazy getters (WebSocket, MessageEvent, ...) that load undici, ~15 ms of every start that
//   talks to the apiserver or S3, for classes nothing here uses. The banner's own import of
//   node:module is the one left (single quotes), and it has no such getters.
// - Chunks sit beside the entry: cli.ts finds package.json at ../../ from its own module.
// - No keepNames: it wraps every function and class in a naming call, ~1 ms of each start;
//   error classes state their names (src/errors.ts). Dependencies' own names may be minified.
// - BUCKET_AGENT_VERSION: the package version as a constant (src/version.ts, the User-Agent), so
//   a start reads no package.json for it.
// - punycode: tr46 (client-node -> node-fetch -> whatwg-url) requires Node's deprecated builtin;
//   outside node_modules Node >= 22 prints DEP0040 for it on every start. The userland package
//   is the same code.
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'acorn';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist/bundle');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/**
 * `import x from"node:http"` -> `const x=require("node:http")` in every chunk (see above). esbuild
 * keeps builtins as ESM imports in an ESM bundle, and a plugin turning each into a CommonJS module
 * costs a tiny chunk per builtin to load; rewriting esbuild's own import statements costs nothing.
 * The statements are found by parsing each chunk with acorn, not by a pattern over minified
 * text, so a change in how esbuild spells them cannot slip by or rewrite the wrong thing.
 */
const BUILTINS = new Set(builtinModules.map((id) => id.replace(/^node:/, '')));
const isBuiltin = (id) => typeof id === 'string' && BUILTINS.has(id.replace(/^node:/, ''));

/** The `require` form of one builtin import declaration. */
function asRequire(node) {
  const id = JSON.stringify(node.source.value);
  if (node.specifiers.length === 0) return `require(${id});`;
  const whole = node.specifiers.find((s) => s.type !== 'ImportSpecifier');
  const named = node.specifiers.filter((s) => s.type === 'ImportSpecifier');
  const parts = [];
  // A default import of a builtin is the module object itself, as is a namespace import.
  if (whole !== undefined) parts.push(`const ${whole.local.name}=require(${id});`);
  if (named.length > 0) {
    const bindings = named.map((s) => (s.imported.name === s.local.name ? s.local.name : `${s.imported.name}:${s.local.name}`));
    parts.push(`const{${bindings.join(',')}}=require(${id});`);
  }
  return parts.join('');
}

const isBuiltinImport = (node) =>
  ['ImportDeclaration', 'ExportAllDeclaration', 'ExportNamedDeclaration'].includes(node.type) && isBuiltin(node.source?.value);
/** The banner's own node:module import must stay: it defines `require`. */
const isBanner = (node) => node.specifiers?.some((s) => s.local?.name === '__bucketAgentRequire') === true;

const children = (node) =>
  Object.values(node)
    .flatMap((value) => (Array.isArray(value) ? value : [value]))
    .filter((v) => v !== null && typeof v?.type === 'string');

/** Every `import("node:x")` (a lazily loaded builtin) in the tree, in source order. */
function dynamicBuiltinImports(node, found = []) {
  if (node.type === 'ImportExpression' && node.source.type === 'Literal' && isBuiltin(node.source.value)) found.push(node);
  for (const child of children(node)) dynamicBuiltinImports(child, found);
  return found;
}

function requireBuiltins(file) {
  const text = readFileSync(file, 'utf8');
  const program = parse(text, { ecmaVersion: 'latest', sourceType: 'module', allowHashBang: true });
  const edits = [
    ...program.body.filter((node) => isBuiltinImport(node) && !isBanner(node)).map((node) => ({ node, text: asRequire(node) })),
    // The namespace object an import() resolves to, without the facade (see above).
    ...dynamicBuiltinImports(program).map((node) => ({
      node,
      text: `Promise.resolve().then(()=>require(${JSON.stringify(node.source.value)}))`,
    })),
  ].sort((a, b) => b.node.start - a.node.start);
  let out = text;
  // From the end, so the earlier offsets stay valid.
  for (const { node, text: replacement } of edits) out = out.slice(0, node.start) + replacement + out.slice(node.end);
  const left = parse(out, { ecmaVersion: 'latest', sourceType: 'module', allowHashBang: true }).body.filter(
    (node) => isBuiltinImport(node) && !isBanner(node),
  );
  if (left.length > 0) throw new Error(`${file}: builtin imports left: ${left.map((node) => node.source.value).join(', ')}`);
  writeFileSync(file, out);
}

const ENTRY = `#!/usr/bin/env node
import * as nodeModule from 'node:module';
try { nodeModule.enableCompileCache?.(); } catch { /* no writable cache dir: run without */ }
await import('./dist/src/bin.js');
`;

rmSync(outdir, { recursive: true, force: true });
await build({
  stdin: { contents: ENTRY, sourcefile: 'bucket-agent.js', resolveDir: root },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir,
  entryNames: 'bucket-agent',
  chunkNames: '[name]-[hash]',
  minify: true,
  legalComments: 'external',
  alias: { punycode: 'punycode/' },
  define: { BUCKET_AGENT_VERSION: JSON.stringify(version) },
  logLevel: 'warning',
  banner: {
    js: "import { createRequire as __bucketAgentRequire } from 'node:module'; const require = __bucketAgentRequire(import.meta.url);",
  },
});
for (const name of readdirSync(outdir).filter((entry) => entry.endsWith('.js'))) requireBuiltins(join(outdir, name));
chmodSync(join(outdir, 'bucket-agent.js'), 0o755);
