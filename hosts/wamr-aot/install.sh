#!/bin/sh
# hosts/wamr-aot/install.sh DEST: installs the host `wamr-aot` into a venv, DEST/wamr-aot/venv:
# PyPI `wamrc-bin` (the AOT compiler `wamrc`) and `wamr-bin` (the runtime `wamr`), prebuilt static
# executables of the Zig port of WAMR (cataggar/wamr, not the C iwasm of the Bytecode Alliance)
# that the wheels put in venv/bin. Its `wamr` runs AOT-compiled modules only: hosts/bin/wamr-aot
# compiles each module with wamrc first (cached in DEST/wamr-aot/cache/).
#   install.sh --version   prints the version line of the pinned install (what `version` prints)
# With hosts/lib/pip-install.sh. Idempotent: does nothing when DEST/wamr-aot/installed already names the pinned versions. That
# marker is written last (by a rename), so an install that stopped half-way is redone whole.
set -eu
NAME=wamr-aot
PACKAGES="wamr-bin==3.0.0.dev5 wamrc-bin==3.0.0.dev5"
LINE="wamr-aot wamr 3.0.0-dev.14 (PyPI wamr-bin==3.0.0.dev5, wamrc-bin==3.0.0.dev5)"

case "${1:-}" in
--version) echo "$LINE"; exit 0 ;;
"" | -*) echo "usage: $0 DEST | --version" >&2; exit 2 ;;
esac
# shellcheck disable=SC2086 # PACKAGES are words
exec "$(dirname "$0")/../lib/pip-install.sh" "$NAME" "$1" "$LINE" $PACKAGES -- wamr wamrc
