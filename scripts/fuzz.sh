#!/usr/bin/env bash
# The fuzz targets (fuzz/, cargo-fuzz with libFuzzer on nightly Rust): builds them and runs each
# for a while from its committed seeds and regression inputs. Installs what it needs (the
# nightly toolchain, cargo-fuzz) and can be run again safely.
#
#   scripts/fuzz.sh [--time SECONDS] [TARGET ...]   run each target SECONDS (default 60); all
#                                                    targets when none is named
#   scripts/fuzz.sh --corpus                         rewrite the seed corpus (fuzz/corpus/)
#
# Inputs the fuzzer finds new go to a scratch corpus outside the clone
# ($DDRM_FUZZ_DIR, default /var/tmp/ddrm-fuzz); the committed corpus changes only through
# --corpus. A crash stops the run with its input saved as fuzz/artifacts/TARGET/crash-…;
# once fixed, copy it to fuzz/regressions/TARGET/ so that every later run replays it.
# Ends with one line per target: "fuzz: TARGET N runs in S s (R/s), corpus C" and fails when a
# target crashed or did not run.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
time=60
corpus_only=0
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --time) time="$2"; shift 2 ;;
    --corpus) corpus_only=1; shift ;;
    -*) echo "fuzz: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done

rustup toolchain list | grep -q '^nightly' || {
  echo "fuzz: installing the nightly Rust toolchain (cargo-fuzz needs it)" >&2
  rustup toolchain install nightly --profile minimal; }
command -v cargo-fuzz >/dev/null || {
  echo "fuzz: installing cargo-fuzz into $DDRM_TOOLS_DIR" >&2
  cargo install cargo-fuzz --locked --root "$DDRM_TOOLS_DIR"; }

export CARGO_TARGET_DIR="${DDRM_FUZZ_TARGET_DIR:-/var/tmp/ddrm-fuzz-target}"
scratch="${DDRM_FUZZ_DIR:-/var/tmp/ddrm-fuzz}"

triple="$(rustc -vV | sed -n 's/^host: //p')"
if [ "$corpus_only" = 1 ]; then
  # Built as the targets are (same flags, same artifacts), so no second build of the tree.
  cargo +nightly fuzz build -O --fuzz-dir fuzz make-corpus 2>&1 | tail -n 3 >&2
  "$CARGO_TARGET_DIR/$triple/release/make-corpus"
  exit 0
fi

all=$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v -e '^ddrm-fuzz$' -e '^make-corpus$')
[ ${#targets[@]} -gt 0 ] || mapfile -t targets <<<"$all"
for t in "${targets[@]}"; do
  grep -qx "$t" <<<"$all" || { echo "fuzz: no target $t (targets: $(echo $all))" >&2; exit 2; }
done

echo "== fuzz: building ${#targets[@]} targets (nightly, libFuzzer, address sanitizer)" >&2
for t in "${targets[@]}"; do
  cargo +nightly fuzz build -O --fuzz-dir fuzz "$t" 2>&1 | tail -n 1 >&2
done
summary=()
failed=0
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t" "fuzz/artifacts/$t"
  dirs=("$scratch/$t" "fuzz/corpus/$t")
  [ -d "fuzz/regressions/$t" ] && dirs+=("fuzz/regressions/$t")
  dict=()
  case "$t" in
    licence_ask|licence_response|attestation|group_key|capsule_wire) dict=(-dict=fuzz/dicts/json.dict) ;;
    siwe) dict=(-dict=fuzz/dicts/siwe.dict) ;;
    api_query) dict=(-dict=fuzz/dicts/api_query.dict) ;;
  esac
  log="$scratch/$t.log"
  echo "== fuzz: $t for ${time} s" >&2
  # Address sanitizer and libFuzzer's own checks; -rss_limit_mb bounds a target's memory.
  if "$CARGO_TARGET_DIR/$triple/release/$t" "${dirs[@]}" "${dict[@]}" \
      -max_total_time="$time" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="fuzz/artifacts/$t/" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    units=$(find "${dirs[@]}" -type f | wc -l)
    if [ -z "$runs" ] || [ "$runs" -eq 0 ]; then
      summary+=("fuzz: $t did not run (see $log)"); failed=1
    else
      secs="${secs:-$time}"
      summary+=("fuzz: $t $runs runs in $secs s ($((runs / (secs > 0 ? secs : 1))) /s), corpus $units")
    fi
  else
    summary+=("fuzz: $t FAILED (see $log; inputs in fuzz/artifacts/$t/)"); failed=1
    grep -m 5 -e 'ERROR' -e 'panicked' -e 'SUMMARY' "$log" >&2 || true
  fi
done
printf '%s\n' "${summary[@]}"
exit "$failed"
