#!/usr/bin/env bash
# The main job, from a fresh machine: set up, build `ddrm` (release profile: the binary a user
# runs), then `ddrm up --demo --exit`: a whole local stack (anvil with chain id 20, the contracts,
# five licence nodes, the embedded store, the runtime key and the bundled player capsule
# registered), then the journey on a generated audio-and-video sample: package, pin, mint with an
# 80/20 royalty split, buy from a second account, play in the capsule, show the royalties
# accrued; then the stack stops.
#
#   scripts/run.sh [DIR]          the demo, then how to open the web app
#   scripts/run.sh --app [DIR]    the demo on a stack that stays up, with the indexer and the
#                                 market server serving the web app at http://127.0.0.1:8080/
#                                 (DDRM_APP_LISTEN to change it) until Ctrl-C
#
# DDRM_PROFILE=dev uses the (faster to build, slower to run) dev binary that scripts/test.sh builds.
#
# Everything lands in ./ddrm-demo (or DIR); run it again and it starts that folder afresh.
set -euo pipefail
source "$(dirname "$0")/env.sh"
app=0
if [ "${1:-}" = "--app" ]; then app=1; shift; fi
"$ROOT/scripts/setup.sh"
cd "$ROOT"
# The release binary packages and plays at full speed (when issue 13 was filed, the dev binary
# packaged a 512 MiB file in 32x the time sha256sum takes over it, the release one in 0.54x).
# Its first build compiles every dependency with optimisations once; later runs only relink.
profile="${DDRM_PROFILE:-release}"
cargo build --locked --profile "$profile" --bin ddrm
ddrm="$CARGO_TARGET_DIR/$([ "$profile" = dev ] && echo debug || echo "$profile")/ddrm"
out="$(realpath -m "${1:-$ROOT/ddrm-demo}")"
rm -rf "$out"; mkdir -p "$out"

if [ "$app" = 0 ]; then
  "$ddrm" up --data-dir "$out" --demo --exit
  echo
  echo "done: everything is in $out (decoded output in $out/demo)"
  echo "to browse it in the web app on a stack that stays up: ./scripts/run.sh --app"
  exit 0
fi

(cd "$ROOT/web" && npm run --silent build)
listen="${DDRM_APP_LISTEN:-127.0.0.1:8080}"
pids=()
stop() {
  trap - INT TERM EXIT
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -INT "${pids[i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT
"$ddrm" up --data-dir "$out" --demo > >(tee "$out/up.log") 2>&1 &
pids+=($!)
# `ddrm up` says "up: use `--stack …`" once the demo is done and the stack stays up.
until grep -q '^up: use' "$out/up.log" 2>/dev/null; do
  kill -0 "${pids[0]}" 2>/dev/null || { echo "run: ddrm up stopped; see $out/up.log" >&2; exit 1; }
  sleep 1
done
stack="$out/stack.json"
"$ddrm" indexer --stack "$stack" >"$out/indexer.log" 2>&1 &
pids+=($!)
"$ddrm" serve --stack "$stack" --listen "$listen" --web-dir "$ROOT/web/dist" >"$out/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 60); do
  curl -fsS "http://$listen/v1/health" >/dev/null 2>&1 && break
  kill -0 "${pids[2]}" 2>/dev/null || { echo "run: ddrm serve stopped; see $out/serve.log" >&2; exit 1; }
  sleep 1
done
echo
echo "the web app: http://$listen/   (logs in $out; Ctrl-C stops everything)"
echo "wallet: add the chain from the app, and import a dev account key from $stack (dev only)"
wait "${pids[0]}"
