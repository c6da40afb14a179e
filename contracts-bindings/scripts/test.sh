#!/bin/sh
# The contracts' checks: forge build, committed artifacts not stale, then every forge test
# (unit, fuzz, invariant). Extra arguments go to `forge test` (e.g. --match-contract Market).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
sh scripts/artifacts.sh --check
node_modules/.bin/forge test "$@"
