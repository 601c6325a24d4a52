#!/usr/bin/env bash
# Runs the compiled test suites with node's built-in runner.
# Usage: scripts/run-tests.sh SUITE... (SUITE is a folder under test/: unit, clients, e2e, image)
# Node 20 does not expand globs for --test, so the file list is built here for every Node version.
set -euo pipefail
cd "$(dirname "$0")/.."
files=()
for suite in "$@"; do
  [ -d "dist/test/$suite" ] || { echo "no compiled suite dist/test/$suite (run npm run build)" >&2; exit 2; }
  while IFS= read -r f; do files+=("$f"); done < <(find "dist/test/$suite" -name '*.test.js' | sort)
done
[ ${#files[@]} -gt 0 ] || { echo "no test files found in: $*" >&2; exit 2; }
exec node --test --test-concurrency=1 "${files[@]}"
