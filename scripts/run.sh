#!/usr/bin/env bash
# The main job, from a fresh machine: set up, build `ddrm`, then `ddrm up --demo --exit`: a whole
# local stack (anvil with chain id 20, the contracts, five licence nodes, the embedded store, the
# runtime key and the bundled player capsule registered), then the journey on a generated
# audio-and-video sample: package, pin, mint with an 80/20 royalty split, buy from a second
# account, play in the capsule, show the royalties accrued; then the stack stops.
# Everything lands in ./ddrm-demo (or $1); run it again and it starts that folder afresh.
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$ROOT/scripts/setup.sh"
cd "$ROOT"
cargo build --locked --bin ddrm   # dev profile: dependencies are optimised (see Cargo.toml)
ddrm="$CARGO_TARGET_DIR/debug/ddrm"
out="$(realpath -m "${1:-$ROOT/ddrm-demo}")"
rm -rf "$out"; mkdir -p "$out"
# `ddrm up` without --exit stays up until Ctrl-C; other commands then take `--stack $out/stack.json`.
"$ddrm" up --data-dir "$out" --demo --exit
echo
echo "done: everything is in $out (decoded output in $out/demo)"
