#!/usr/bin/env bash
# Sets up a fresh machine and runs every test: the Rust workspace (unit and integration tests
# against real kubo, anvil and FFmpeg) and the Solidity tests (forge).
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$ROOT/scripts/setup.sh"
cd "$ROOT"
echo "== cargo test (workspace)" >&2
cargo test --workspace --locked
echo "== WASM build of the shared crates" >&2
cargo build --locked --target wasm32-wasip1 -p packager-format -p licence-net-protocol
if [ -x "$ROOT/contracts-bindings/scripts/test.sh" ]; then
  echo "== contracts (forge)" >&2
  "$ROOT/contracts-bindings/scripts/test.sh"
fi
