#!/bin/sh
# hosts/wamr-aot/install.sh DEST: installs the host `wamr-aot` into a venv, DEST/wamr-aot/venv:
# PyPI `wamrc-bin` (the AOT compiler `wamrc`) and `wamr-bin` (the runtime `wamr`), prebuilt static
# executables of the Zig port of WAMR (cataggar/wamr, not the C iwasm of the Bytecode Alliance)
# that the wheels put in venv/bin. Its `wamr` runs AOT-compiled modules only: hosts/bin/wamr-aot
# compiles each module with wamrc first (cached in DEST/wamr-aot/cache/).
#   install.sh --version   prints the version line of the pinned install (what `version` prints)
# Idempotent: does nothing when DEST/wamr-aot/installed already names the pinned versions. That
# marker is written last (by a rename), so an install that stopped half-way is redone whole.
set -eu
NAME=wamr-aot
PACKAGES="wamr-bin==3.0.0.dev5 wamrc-bin==3.0.0.dev5"
LINE="wamr-aot wamr 3.0.0-dev.14 (PyPI wamr-bin==3.0.0.dev5, wamrc-bin==3.0.0.dev5)"

case "${1:-}" in
--version) echo "$LINE"; exit 0 ;;
"" | -*) echo "usage: $0 DEST | --version" >&2; exit 2 ;;
esac
dest="$1/$NAME"
if [ -f "$dest/installed" ] && [ "$(cat "$dest/installed")" = "$LINE" ]; then
    exit 0
fi
rm -rf "$dest"
mkdir -p "$dest"
python3 -m venv "$dest/venv"
# shellcheck disable=SC2086 # PACKAGES are words
"$dest/venv/bin/python" -m pip install --disable-pip-version-check -q $PACKAGES
for tool in wamr wamrc; do
    [ -x "$dest/venv/bin/$tool" ] || { echo "hosts/$NAME: no $tool in $dest/venv/bin" >&2; exit 1; }
done
echo "$LINE" >"$dest/installed.tmp"
mv "$dest/installed.tmp" "$dest/installed"
echo "hosts/$NAME: installed $LINE into $dest"
