#!/usr/bin/env bash
# Installs wasi-js 1.7.3 into DEST/wasi-js/, with hosts/lib/npm-install.sh. --ignore-scripts:
# its only install script is a preinstall `npx only-allow pnpm`, which fails under npm.
#   hosts/wasi-js/install.sh DEST
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DEST" >&2; exit 2; }
exec "$(dirname "${BASH_SOURCE[0]}")/../lib/npm-install.sh" wasi-js "$1" --ignore-scripts
