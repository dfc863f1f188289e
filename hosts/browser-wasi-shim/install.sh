#!/usr/bin/env bash
# Installs @bjorn3/browser_wasi_shim 0.4.2 into DEST/browser-wasi-shim/, with
# hosts/lib/npm-install.sh.
#   hosts/browser-wasi-shim/install.sh DEST
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DEST" >&2; exit 2; }
exec "$(dirname "${BASH_SOURCE[0]}")/../lib/npm-install.sh" browser-wasi-shim "$1" --ignore-scripts
