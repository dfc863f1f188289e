#!/usr/bin/env bash
# Builds the C programs of tests/components/c as WASI preview 2 components into OUT: compiled
# for wasm32-wasi (preview 1) by Debian's clang and wasi-libc (make setup-programs), linked by
# the Rust toolchain's wasm-component-ld, which turns the module into a component with its
# built-in preview-1 adapter (a second core module that implements preview 1 over preview 2).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:?usage: build-c.sh OUT}"
CC="${CC_WASI:-clang}"
bin="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin"
linker="$bin/wasm-component-ld"
[ -x "$linker" ] || { echo "build-c.sh: $linker missing (rustup target add wasm32-wasip2)" >&2; exit 1; }
builtins="$("$CC" --target=wasm32-wasi -print-libgcc-file-name)"
mkdir -p "$OUT"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for src in "$HERE"/c/*.c; do
    name="$(basename "$src" .c)"
    "$CC" --target=wasm32-wasi -O2 -Wall -Wextra -c "$src" -o "$tmp/$name.o"
    "$linker" --wasm-ld-path "$bin/gcc-ld/wasm-ld" --wasi-adapter command -o "$tmp/$name.wasm" \
        /usr/lib/wasm32-wasi/crt1-command.o "$tmp/$name.o" -L/usr/lib/wasm32-wasi -lc "$builtins"
    mv "$tmp/$name.wasm" "$OUT/$name.wasm"
done
