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
//   talks to the apiserver or S3, for classes nothing here uses.
// - Chunks sit beside the entry: cli.ts finds package.json at ../../ from its own module.
// - keepNames: error classes name themselves from their constructor (src/errors.ts).
// - punycode: tr46 (client-node -> node-fetch -> whatwg-url) requires Node's deprecated builtin;
//   outside node_modules Node >= 22 prints DEP0040 for it on every start. The userland package
//   is the same code.
import { chmodSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist/bundle');
const BUILTINS = new Set(builtinModules.map((name) => name.replace(/^node:/, '')));

/** `import x from 'node:http'` becomes `require('node:http')` (see above). */
const requireBuiltins = {
  name: 'require-builtins',
  setup(b) {
    b.onResolve({ filter: /^(node:)?[a-z_]+(\/[a-z_]+)?$/ }, (args) => {
      if (args.namespace === 'builtin') return { path: args.path, external: true };
      const name = args.path.replace(/^node:/, '');
      return BUILTINS.has(name) ? { path: `node:${name}`, namespace: 'builtin' } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

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
  keepNames: true,
  legalComments: 'external',
  alias: { punycode: 'punycode/' },
  logLevel: 'warning',
  banner: {
    js: "import { createRequire as __bucketAgentRequire } from 'node:module'; const require = __bucketAgentRequire(import.meta.url);",
  },
  plugins: [requireBuiltins],
});
chmodSync(join(outdir, 'bucket-agent.js'), 0o755);
