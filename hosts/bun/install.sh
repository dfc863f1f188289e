#!/usr/bin/env bash
# Installs the npm package bun 1.4.5, which ships the bun binary (its install script links
# it), into DEST/bun/, with hosts/lib/npm-install.sh.
#   hosts/bun/install.sh DEST
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DEST" >&2; exit 2; }
exec "$(dirname "${BASH_SOURCE[0]}")/../lib/npm-install.sh" bun "$1"
