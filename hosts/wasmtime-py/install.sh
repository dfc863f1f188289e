#!/bin/sh
# hosts/wasmtime-py/install.sh DEST: installs the host `wasmtime-py` (wasmtime's Python embedding,
# PyPI `wasmtime`, which ships the wasmtime C API library in its wheel) into a venv,
# DEST/wasmtime-py/venv. hosts/bin/wasmtime-py runs hosts/wasmtime-py/run.py with that venv.
#   install.sh --version   prints the version line of the pinned install (what `version` prints)
# With hosts/lib/pip-install.sh. Idempotent: does nothing when DEST/wasmtime-py/installed already names the pinned version. That
# marker is written last (by a rename), so an install that stopped half-way is redone whole.
set -eu
NAME=wasmtime-py
PACKAGES="wasmtime==50.0.1"
LINE="wasmtime-py 50.0.1 (PyPI wasmtime==50.0.1)"

case "${1:-}" in
--version) echo "$LINE"; exit 0 ;;
"" | -*) echo "usage: $0 DEST | --version" >&2; exit 2 ;;
esac
# shellcheck disable=SC2086 # PACKAGES are words
exec "$(dirname "$0")/../lib/pip-install.sh" "$NAME" "$1" "$LINE" $PACKAGES
