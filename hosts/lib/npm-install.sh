#!/usr/bin/env bash
# Installs the pinned npm packages of one host: hosts/NAME/package.json and its
# package-lock.json, with `npm ci`, into DEST/NAME.
#
#   hosts/lib/npm-install.sh NAME DEST [NPM_CI_FLAGS...]
#
# The install happens in a temporary directory beside DEST/NAME, which is renamed into place only
# once complete, so an interrupted run leaves nothing half-done. DEST/NAME/.installed holds the
# checksum of the lock file it was installed from: when it matches, this is a no-op.
set -euo pipefail

[ $# -ge 2 ] || {
    echo "usage: npm-install.sh NAME DEST [NPM_CI_FLAGS...]" >&2
    exit 2
}
name="$1" dest="$2"
shift 2
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../$name" && pwd)"
out="$dest/$name"
want="$(sha256sum <"$src/package-lock.json" | cut -d' ' -f1)"
if [ -f "$out/.installed" ] && [ "$(cat "$out/.installed")" = "$want" ]; then
    exit 0
fi

mkdir -p "$dest"
tmp="$(mktemp -d "$dest/.$name.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
cp "$src/package.json" "$src/package-lock.json" "$tmp/"
(cd "$tmp" && npm ci --no-audit --no-fund --loglevel=error "$@")
echo "$want" >"$tmp/.installed"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "$name: installed into $out"
