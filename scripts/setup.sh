#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine. Safe to run again: each step
# checks first and does nothing when its tool is already there.
set -euo pipefail
source "$(dirname "$0")/env.sh"
mkdir -p "$DDRM_TOOLS_DIR/bin"

say() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }

# Debian packages: FFmpeg libraries and CLI (packager), clang (bindgen for ffmpeg-next),
# PostgreSQL (the indexer's production database; tests start throwaway servers from its
# /usr/lib/postgresql/<version>/bin, so no cluster needs to run), wrk (the market API's load
# generator), python3-venv (for schemathesis, below), libtss2-dev (tpm2-tss, which tss-esapi
# links for TPM-held runtime keys), swtpm (the software TPM the player's tests and
# `ddrm up --swtpm` start), chromium (the web app's journeys drive it headless through
# playwright-core, which cannot download a browser here) and libasound2-dev (ALSA, which cpal
# links for `ddrm play` to the default audio output).
APT_PACKAGES=(ffmpeg libavcodec-dev libavformat-dev libavutil-dev libswscale-dev
  libswresample-dev libavfilter-dev libavdevice-dev pkg-config clang libclang-dev postgresql
  wrk python3-venv libtss2-dev swtpm chromium libasound2-dev)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Rust: the wasm target (the player capsule and the WASM benchmark).
command -v cargo >/dev/null || { echo "setup: cargo not found; install Rust with rustup first" >&2; exit 1; }
rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1 || {
  say "adding the wasm32-wasip1 Rust target"; rustup target add wasm32-wasip1; }

# kubo (IPFS), built from its Go module at a pinned version.
if ! { [ -x "$DDRM_IPFS_BIN" ] && "$DDRM_IPFS_BIN" version 2>/dev/null | grep -q "${KUBO_VERSION#v}"; }; then
  command -v go >/dev/null || { echo "setup: go not found; install Go to build kubo" >&2; exit 1; }
  say "building kubo $KUBO_VERSION with Go (first time: several minutes)"
  build="$(mktemp -d)"
  (
    cd "$build"
    printf 'module ddrm.invalid/kubo-build\n\ngo 1.25\n' > go.mod
    go get "github.com/ipfs/kubo@$KUBO_VERSION" >/dev/null 2>&1
    # The swiss-table version kubo pins links to Go runtime internals that Go 1.26 removed;
    # this later version of the same module builds with it.
    go get "github.com/cockroachdb/swiss@$KUBO_SWISS_VERSION" >/dev/null 2>&1
    GOFLAGS=-mod=mod go build -o "$DDRM_IPFS_BIN.partial" github.com/ipfs/kubo/cmd/ipfs
  )
  mv "$DDRM_IPFS_BIN.partial" "$DDRM_IPFS_BIN"
  rm -rf "$build"
fi

# The contracts' toolchain (anvil, forge, solc-js, OpenZeppelin) from npm.
if [ -x "$ROOT/contracts-bindings/scripts/setup.sh" ]; then
  "$ROOT/contracts-bindings/scripts/setup.sh"
fi
# The web app's toolchain (Vite, Svelte, TypeScript, viem, playwright-core) from npm, exactly as
# web/package-lock.json pins it; skipped when node_modules was installed from this lock.
web_stamp="$ROOT/web/node_modules/.ddrm-lock.sha256"
web_lock="$(sha256sum "$ROOT/web/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$web_stamp" 2>/dev/null)" != "$web_lock" ]; then
  command -v npm >/dev/null || { echo "setup: npm is required for the web app (install Node.js 20.19+)" >&2; exit 1; }
  say "installing the web app's npm packages (npm ci in web/)"
  (cd "$ROOT/web" && npm ci --no-audit --no-fund)
  echo "$web_lock" >"$web_stamp"
fi
# The market API's fuzzer: schemathesis from PyPI, pinned, in a venv of its own.
SCHEMATHESIS_VERSION=4.32.5
ST_VENV="$DDRM_TOOLS_DIR/schemathesis-venv"
if ! "$ST_VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  say "installing schemathesis $SCHEMATHESIS_VERSION from PyPI into $ST_VENV"
  python3 -m venv "$ST_VENV"
  "$ST_VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

say "ready (tools in $DDRM_TOOLS_DIR, cargo target in $CARGO_TARGET_DIR)"
