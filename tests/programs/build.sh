#!/usr/bin/env bash
# Builds the programs of the matrix (tests/programs/matrix.sh) into OUT (default
# $CARGO_TARGET_DIR/programs), from sources fetched from crates.io on any fresh machine:
#   sqlite3.wasm   SQLite 3.49.1 shell, C sources of the crate sqlite3-src 0.7.1
#   lua.wasm       Lua 5.4.9, C sources of the crate lua-src 551.1.0, with lua/main.c
#   coremark.wasm  the crate coremark 1.0.0 (a Rust port of CoreMark), cargo install
#   wasi-c.wasm    wasi-c/conformance.c
#   wasi-rust.wasm wasi-rust/ (its own cargo project)
#   wasi-c-abort.wasm     wasi-c/abort.c, which calls abort() (a trap)
#   wasi-rust-panic.wasm  wasi-rust/src/panic.rs, a second binary of wasi-rust/, which panics
# C needs Debian's clang, lld, wasi-libc and libclang-rt-dev-wasm32 (`make setup-programs`).
# A program is rebuilt only when its inputs (sources, flags, compiler) changed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-${CARGO_TARGET_DIR:-$HERE/../../target}/programs}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
CC="${CC_WASI:-clang}"
CARGO="${CARGO:-cargo}"

# Where cargo unpacked a crate of tests/programs/fetch (downloading it if needed).
crate_dir() {
    "$CARGO" metadata --manifest-path "$HERE/fetch/Cargo.toml" --format-version 1 --locked |
        python3 -c 'import json, os, sys
name = sys.argv[1]
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == name:
        print(os.path.dirname(p["manifest_path"]))
        break
else:
    sys.exit(f"crate {name} not found in tests/programs/fetch")' "$1"
}

# build NAME CMD...: runs CMD (which writes $OUT/NAME) unless the stamp of its inputs (the
# command line, the compiler version and the contents of every input file named in it) is unchanged.
build() {
    local name="$1"
    shift
    local stamp="$OUT/.$name.stamp" sum
    sum="$({
        printf '%s\n' "$@"
        "$CC" --version 2>/dev/null | head -1
        local arg skip=0
        for arg in "$@"; do
            if [ "$skip" = 1 ]; then skip=0; elif [ "$arg" = -o ]; then skip=1; elif [ -f "$arg" ]; then cat "$arg"; fi
        done
    } | sha256sum | cut -d' ' -f1)"
    if [ -f "$OUT/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ]; then
        echo "programs: $name is up to date"
        return
    fi
    echo "programs: building $name"
    local start=$SECONDS
    "$@"
    echo "$sum" >"$stamp"
    echo "programs: built $name in $((SECONDS - start))s"
}

WASI_EMULATED=(-D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_PROCESS_CLOCKS -D_WASI_EMULATED_MMAN
    -D_WASI_EMULATED_GETPID)
WASI_EMULATED_LIBS=(-lwasi-emulated-signal -lwasi-emulated-process-clocks -lwasi-emulated-mman
    -lwasi-emulated-getpid)

SQLITE="$(crate_dir sqlite3-src)/source"
# Flags from /work/shared/NOTES.md: no threads, extensions, WAL (needs shared memory), popen,
# system() or mmap; temp files in memory.
build sqlite3.wasm "$CC" --target=wasm32-wasi -O2 -w \
    -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_OMIT_WAL -DSQLITE_OMIT_POPEN \
    -DSQLITE_NOHAVE_SYSTEM -DSQLITE_TEMP_STORE=3 -DSQLITE_MAX_MMAP_SIZE=0 \
    -DLONGDOUBLE_TYPE=double "${WASI_EMULATED[@]}" \
    -include "$HERE/sqlite/chmod_stub.h" -I "$SQLITE" \
    "$SQLITE/sqlite3.c" "$SQLITE/shell.c" "$HERE/sqlite/chmod_stub.c" \
    "${WASI_EMULATED_LIBS[@]}" -o "$OUT/sqlite3.wasm"

LUA="$(crate_dir lua-src)/lua-5.4.9"
LUA_SOURCES=()
for f in "$LUA"/*.c; do
    case "$(basename "$f")" in lua.c | luac.c) ;; *) LUA_SOURCES+=("$f") ;; esac
done
build lua.wasm "$CC" --target=wasm32-wasi -O2 -w \
    -D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_PROCESS_CLOCKS \
    -I "$HERE/lua/shim" -include "$HERE/lua/lua_wasi.h" -I "$LUA" \
    "${LUA_SOURCES[@]}" "$HERE/lua/main.c" \
    -lwasi-emulated-signal -lwasi-emulated-process-clocks -o "$OUT/lua.wasm"

build wasi-c.wasm "$CC" --target=wasm32-wasi -O2 -Wall -Wextra \
    "$HERE/wasi-c/conformance.c" -o "$OUT/wasi-c.wasm"

build wasi-c-abort.wasm "$CC" --target=wasm32-wasi -O2 -Wall -Wextra \
    "$HERE/wasi-c/abort.c" -o "$OUT/wasi-c-abort.wasm"

# Imports chiwawa.checkpoint (checkpoint.sh), so it runs only through chiwawa.
build ckpt.wasm "$CC" --target=wasm32-wasi -O2 -Wall -Wextra \
    "$HERE/checkpoint/ckpt.c" -o "$OUT/ckpt.wasm"

# Rust programs: cargo knows when to rebuild.
echo "programs: wasi-rust.wasm wasi-rust-panic.wasm"
"$CARGO" build --quiet --release --locked --target wasm32-wasip1 \
    --manifest-path "$HERE/wasi-rust/Cargo.toml"
for bin in wasi-rust wasi-rust-panic; do
    cp "${CARGO_TARGET_DIR:-$HERE/wasi-rust/target}/wasm32-wasip1/release/$bin.wasm" "$OUT/"
done

echo "programs: coremark.wasm"
"$CARGO" install --quiet --locked coremark@1.0.0 --target wasm32-wasip1 --root "$OUT/coremark"
cp "$OUT/coremark/bin/coremark.wasm" "$OUT/"

# QuickJS and CPython (their own script: registries' sources and a pinned binary).
"$HERE/build-extra.sh" "$OUT"

ls -l "$OUT"/*.wasm
