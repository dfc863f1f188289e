#!/usr/bin/env bash
# Installs @tybys/wasm-util 0.10.5 into DEST/tybys/, with hosts/lib/npm-install.sh.
#   hosts/tybys/install.sh DEST
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DEST" >&2; exit 2; }
exec "$(dirname "${BASH_SOURCE[0]}")/../lib/npm-install.sh" tybys "$1" --ignore-scripts
