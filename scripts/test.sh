#!/usr/bin/env bash
# Sets up a fresh machine and runs every test: the web app's type-check and build, the Rust
# workspace (unit and integration tests against real kubo, anvil and FFmpeg, and the web app in
# headless Chromium), the Solidity tests (forge) and every fuzz target for a few seconds. Ends
# with one line "tests: N passed, M failed" counting the Rust and Solidity tests.
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$ROOT/scripts/setup.sh"
cd "$ROOT"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# The web app first: the browser journey (tests/journeys/web.rs) serves web/dist.
echo "== web app: type-check (svelte-check) and build (vite)" >&2
(cd "$ROOT/web" && npm run --silent check && npm run --silent build)
echo "== cargo test (workspace)" >&2
cargo test --workspace --locked 2>&1 | tee "$log"
echo "== WASM build of the shared crates and the player capsule" >&2
cargo build --locked --target wasm32-wasip1 -p packager-format -p licence-net-protocol -p ddrm-capsule
echo "== contracts (forge)" >&2
"$ROOT/contracts-bindings/scripts/test.sh" 2>&1 | tee -a "$log"
# Every fuzz target briefly over its committed seeds and regression inputs (scripts/fuzz.sh);
# a crash fails the run. Longer runs: scripts/fuzz.sh --time SECONDS (RELIABILITY.md).
echo "== fuzz targets, ${DDRM_FUZZ_SECONDS:-10} s each" >&2
"$ROOT/scripts/fuzz.sh" --time "${DDRM_FUZZ_SECONDS:-10}"
# cargo: "test result: ok. N passed; M failed; ..."; forge: "Ran N test suites ...: P tests passed, F failed"
awk '
  /^test result:/ { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed;?$/) p += $(i-1); if ($(i) ~ /^failed;?$/) f += $(i-1) } }
  /^Ran [0-9]+ test suites/ { for (i = 1; i <= NF; i++) { if ($(i) == "passed,") p += $(i-2); if ($(i) ~ /^failed/) f += $(i-1) } }
  END { printf "tests: %d passed, %d failed\n", p, f; if (p == 0 || f > 0) exit 1 }
' "$log" | tee "${DDRM_TEST_SUMMARY:-/dev/null}"
