# Shared settings for the project's scripts. Source it; do not run it.
# Tools we build or download through package registries live outside the clone so that a
# second run (and CI on the same machine) reuses them.
export DDRM_TOOLS_DIR="${DDRM_TOOLS_DIR:-/var/tmp/ddrm-tools}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/ddrm-target}"
export KUBO_VERSION="v0.38.1"
export KUBO_SWISS_VERSION="v0.0.0-20260820225851-333444432258"
export DDRM_IPFS_BIN="${DDRM_IPFS_BIN:-$DDRM_TOOLS_DIR/bin/ipfs}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
export PATH="$HOME/.cargo/bin:/usr/local/go/bin:$DDRM_TOOLS_DIR/bin:$ROOT/contracts-bindings/node_modules/.bin:$PATH"
