#!/bin/sh
# The contracts' checks: Solidity formatting, forge build with the committed artifacts not stale,
# then every forge test (unit, fuzz, invariant). Extra arguments go to `forge test`
# (e.g. --match-contract Market, --gas-report).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
node_modules/.bin/forge fmt --check
sh scripts/artifacts.sh --check
node_modules/.bin/forge test "$@"
