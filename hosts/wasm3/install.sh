#!/bin/sh
# hosts/wasm3/install.sh DEST: builds wasm3 0.4.7 (the C sources of the wasm3-sys crate, from
# crates.io) with main.c into DEST/wasm3/wasm3-run, run by hosts/bin/wasm3.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$1/wasm3
mkdir -p "$out"
# Built already from this main.c (the sources are pinned by fetch/Cargo.lock).
if [ "$out/wasm3-run" -nt "$here/main.c" ] && [ "$out/wasm3-run" -nt "$0" ]; then exit 0; fi
cargo fetch --quiet --manifest-path "$here/fetch/Cargo.toml"
src=$(cargo metadata --quiet --format-version 1 --manifest-path "$here/fetch/Cargo.toml" |
    python3 -c 'import json, os, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "wasm3-sys":
        print(os.path.join(os.path.dirname(p["manifest_path"]), "wasm3", "source"))')
[ -d "$src" ] || { echo "hosts/wasm3/install.sh: no wasm3 sources in the wasm3-sys crate" >&2; exit 1; }
cc -O2 -std=gnu11 -w -Dd_m3HasWASI -Dd_m3LogOutput=0 -I"$src" "$here/main.c" "$src"/*.c -lm -o "$out/wasm3-run.tmp"
mv "$out/wasm3-run.tmp" "$out/wasm3-run"
echo "hosts/wasm3: built $out/wasm3-run"
