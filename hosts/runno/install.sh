#!/usr/bin/env bash
# Installs @runno/wasi 0.10.0 into DEST/runno/, with hosts/lib/npm-install.sh.
#   hosts/runno/install.sh DEST
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DEST" >&2; exit 2; }
exec "$(dirname "${BASH_SOURCE[0]}")/../lib/npm-install.sh" runno "$1" --ignore-scripts
