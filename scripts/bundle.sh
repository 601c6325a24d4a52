#!/usr/bin/env bash
# Bundles the compiled CLI (dist/src/bin.js) into dist/bundle/, the `bin` the package ships.
#
# Why: importing @kubernetes/client-node's KubeConfig, unbundled, pulls hundreds of files
# (~1.3 s and ~110 MB RSS through the package index); one ESM bundle, split at the dynamic
# imports so each command parses only what it runs, starts several times faster (README
# "Start-up"). dist/src/ stays as tsc wrote it, for the tests.
#
# - The entry enables Node's on-disk compile cache (Node >= 22.1; a no-op before) and then
#   loads the CLI, so the chunks after it compile from cache on the next start.
# - Chunks sit beside the entry: cli.ts finds package.json at ../../ from its own module.
# - --keep-names: error classes name themselves from their constructor (src/errors.ts).
# - punycode: tr46 (client-node -> node-fetch -> whatwg-url) requires Node's deprecated builtin;
#   outside node_modules Node >= 22 prints DEP0040 for it on every start. The userland package
#   is the same code.
# - The banner gives every chunk a require() for the CommonJS dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist/bundle
printf '%s\n' '#!/usr/bin/env node' \
  'import * as nodeModule from "node:module";' \
  'try { nodeModule.enableCompileCache?.(); } catch { /* no writable cache dir: run without */ }' \
  'await import("./dist/src/bin.js");' |
  npx --no-install esbuild --bundle --splitting --format=esm --platform=node --target=node20 \
    --sourcefile=bucket-agent.js --outdir=dist/bundle --entry-names=bucket-agent --chunk-names='[name]-[hash]' \
    --minify --keep-names --legal-comments=external --alias:punycode=punycode/ --log-level=warning \
    "--banner:js=import { createRequire as __bucketAgentRequire } from 'node:module'; const require = __bucketAgentRequire(import.meta.url);"
chmod +x dist/bundle/bucket-agent.js
