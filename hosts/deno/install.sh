#!/usr/bin/env bash
# Installs the npm package deno 2.9.6, which ships the deno binary (its install script links
# it), into DEST/deno/, with hosts/lib/npm-install.sh.
#   hosts/deno/install.sh DEST
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DEST" >&2; exit 2; }
exec "$(dirname "${BASH_SOURCE[0]}")/../lib/npm-install.sh" deno "$1"
