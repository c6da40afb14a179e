#!/bin/sh
# Installs the contracts toolchain (forge, anvil, solc-js, OpenZeppelin, forge-std) from npm into
# contracts-bindings/node_modules, exactly as package-lock.json pins it. Idempotent: does nothing
# when node_modules already matches the lock file.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
command -v npm >/dev/null || { echo "setup: npm is required (install Node.js 18+)" >&2; exit 1; }
stamp=node_modules/.ddrm-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x node_modules/.bin/forge ] && [ -x node_modules/.bin/anvil ]; then
    echo "contracts toolchain up to date"
else
    # Not `npm ci`: it refuses this lock file because @foundry-rs/{anvil,forge} 1.7.1 name optional
    # per-platform packages (darwin, arm64, win32) that were never published. `npm install
    # --no-save` installs exactly the versions package-lock.json pins and never rewrites it.
    npm install --no-save --no-audit --no-fund
    echo "$want" >"$stamp"
fi
node_modules/.bin/forge --version | head -1
node_modules/.bin/anvil --version | head -1
