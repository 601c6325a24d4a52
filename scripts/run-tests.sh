#!/usr/bin/env bash
# Runs the compiled test suites with node's built-in runner, one `node --test` per suite, in order;
# every suite runs, and the exit code is non-zero when any failed.
# Usage: scripts/run-tests.sh SUITE... (SUITE is a folder under test/: unit, clients, e2e, journeys, image)
# Node 20 does not expand globs for --test, so the file list is built here for every Node version.
# The journeys run two files at a time: they spend most of their time waiting (key refresh, grace
# periods, Velero's validations), and every test allocates its own ports and directories. The other
# suites hold timing-sensitive tests and run one file at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
concurrency() { case "$1" in journeys) echo 2 ;; *) echo 1 ;; esac; }
for suite in "$@"; do
  [ -d "dist/test/$suite" ] || { echo "no compiled suite dist/test/$suite (run npm run build)" >&2; exit 2; }
done
failed=()
for suite in "$@"; do
  files=()
  while IFS= read -r f; do files+=("$f"); done < <(find "dist/test/$suite" -name '*.test.js' | sort)
  [ ${#files[@]} -gt 0 ] || { echo "no test files found in dist/test/$suite" >&2; exit 2; }
  echo "# suite $suite: ${#files[@]} files, $(concurrency "$suite") at a time"
  node --test --test-concurrency="$(concurrency "$suite")" "${files[@]}" || failed+=("$suite")
done
[ ${#failed[@]} -eq 0 ] || { echo "# failed suites: ${failed[*]}" >&2; exit 1; }
