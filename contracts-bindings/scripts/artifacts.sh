#!/bin/sh
# Builds the contracts with forge and refreshes the committed artifacts/ (ABI + bytecode) that the
# Rust bindings are generated from. `artifacts.sh --check` only verifies they are up to date.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
[ -x node_modules/.bin/forge ] || { echo "forge missing: run contracts-bindings/scripts/setup.sh" >&2; exit 1; }
node_modules/.bin/forge build --quiet
node scripts/export-artifacts.mjs "$@"
