#!/usr/bin/env bash
# Renders every images/<name>.dot into images/<name>.svg with Graphviz (Debian: apt-get install -y
# graphviz) and writes the sha256 of the source into the SVG, so test/unit/docs-pictures.test.ts
# can tell a picture rendered from the current source from a stale one without Graphviz, and
# without trusting file times (a fresh clone gives every file the same mtime).
# Usage: bash scripts/docs/pictures.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v dot >/dev/null || { echo "dot is not installed. Install it with: apt-get install -y graphviz" >&2; exit 1; }
for src in images/*.dot; do
  svg="${src%.dot}.svg"
  sum="$(sha256sum "$src" | cut -d' ' -f1)"
  tmp="$(mktemp)"
  dot -Tsvg "$src" >"$tmp"
  # The marker goes right after the XML declaration: `<!-- source: flow.dot sha256:<hex> -->`.
  awk -v mark="<!-- source: $(basename "$src") sha256:$sum (scripts/docs/pictures.sh) -->" \
    'NR == 1 { print; print mark; next } { print }' "$tmp" >"$svg"
  rm -f "$tmp"
  echo "$svg <- $src"
done
