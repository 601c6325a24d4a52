// Bundles the compiled CLI (dist/src/bin.js) into dist/bundle/, the `bin` the package ships.
//
// Why: importing @kubernetes/client-node's KubeConfig, unbundled, pulls hundreds of files
// (~1.3 s and ~110 MB RSS through the package index); one ESM bundle, split at the dynamic
// imports so each command parses only what it runs, starts several times faster (README
// "Start-up"). dist/src/ stays as tsc wrote it, for the tests.
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
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist/bundle');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/**
 * `import x from"node:http"` -> `const x=require("node:http")` in every chunk (see above). esbuild
 * keeps builtins as ESM imports in an ESM bundle, and a plugin turning each into a CommonJS module
 * costs a tiny chunk per builtin to load; rewriting esbuild's own import statements costs nothing.
 * A builtin import left in any form fails the build, so a change in esbuild's output cannot slip by.
 */
const BUILTIN_IMPORT = /import\s*(?:\*\s*as\s+(?<namespace>[\w$]+)|(?<name>[\w$]+)|\{(?<named>[^}]*)\})\s*from\s*"(?<id>(?:node:)?[a-z_]+(?:\/[a-z_]+)?)";?/g;
const BUILTINS = new Set(builtinModules.map((id) => id.replace(/^node:/, '')));
const isBuiltin = (id) => BUILTINS.has(id.replace(/^node:/, ''));

/** One rewritten statement, from the named groups of BUILTIN_IMPORT; anything else as it was. */
function asRequire(statement, { namespace, name, named, id }) {
  if (!isBuiltin(id)) return statement;
  if (named === undefined) return `const ${namespace ?? name}=require("${id}");`;
  const bindings = named.split(',').map((binding) => binding.trim()).filter((binding) => binding !== '');
  return `const{${bindings.map((binding) => binding.replace(/\s+as\s+/, ':')).join(',')}}=require("${id}");`;
}

function requireBuiltins(file) {
  const text = readFileSync(file, 'utf8').replace(BUILTIN_IMPORT, (...args) => asRequire(args[0], args.at(-1)));
  const left = [...text.matchAll(/(?:from\s*|import\s*)"((?:node:)?[a-z_]+(?:\/[a-z_]+)?)"/g)].map((match) => match[1]).filter(isBuiltin);
  if (left.length > 0) throw new Error(`${file}: builtin imports esbuild wrote were not rewritten: ${left.join(', ')}`);
  writeFileSync(file, text);
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
