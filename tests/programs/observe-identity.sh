#!/usr/bin/env bash
# The same observations of one run on every host (issue 17), for `make test`: SQLite, Lua and
# CoreMark run with --deterministic and every output switched on (--strace=FILE, --stats-out,
# --profile, --trace-out) natively and through chiwawa-rt.wasm on each of HOSTS; each host's
# stdout, stderr, exit status, written files, strace, statistics, folded profile and trace must
# be byte-identical to the native run's. Then the checks no byte comparison makes: the folded
# counts add up to the statistics' instructions, the opcode counts too, and the trace passes
# tests/programs/check-trace.py (Python's json parser, jsonschema against
# docs/trace-event.schema.json, slices nested), which must also refuse a damaged copy. A table
# of the outputs' sizes is printed.
#
#   tests/programs/observe-identity.sh [PROGRAMS_DIR]
#
# Environment: WASMTIME, WASMI, CHIWAWA_DIST, CHIWAWA_HOSTS (as tests/programs/matrix.sh),
# NATIVE_RT (the native chiwawa-rt), HOSTS (default "wasmtime node wasmi"), OBSERVE_PROGRAMS
# (default "sqlite lua coremark"), PYTHON (one with jsonschema; default python3), EXPECT_DIFFER
# (PROGRAM:HOST pairs known to differ because the host answers the guest differently, reported
# but not failed; docs/hosts.md says why).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PROGRAMS="${1:-${CARGO_TARGET_DIR:-$ROOT/target}/programs}"
DIST="${CHIWAWA_DIST:-$ROOT/dist}"
NATIVE_RT="${NATIVE_RT:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/chiwawa-rt}"
TRANSLATE="$(dirname "$NATIVE_RT")/chiwawa-translate"
WORK="$PROGRAMS/observe-identity"
read -r -a HOST_LIST <<<"${HOSTS:-wasmtime node wasmi}"
read -r -a PROGRAM_LIST <<<"${OBSERVE_PROGRAMS:-sqlite lua coremark}"
EXPECT_DIFFER=" ${EXPECT_DIFFER:-} "
OUTPUTS=(stdout stderr status strace stats.json folded trace.json)
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import jsonschema' 2>/dev/null || {
    echo "observe-identity: $PYTHON has no jsonschema (make observe-identity installs it)" >&2
    exit 2
}

die() {
    echo "observe-identity: $*" >&2
    exit 2
}
[ -x "$NATIVE_RT" ] || die "no native runtime $NATIVE_RT: cargo build --workspace --bins"
[ -x "$TRANSLATE" ] || die "no native translator $TRANSLATE: cargo build --workspace --bins"
[ -f "$DIST/chiwawa-rt.wasm" ] || die "no $DIST/chiwawa-rt.wasm: run \`make dist\`"

# program NAME: sets WASM, ARGS and INPUTS (files of tests/programs copied into the directory).
program() {
    INPUTS=()
    case "$1" in
    sqlite) WASM=sqlite3.wasm ARGS=(test.db ".read script.sql") INPUTS=(sqlite/script.sql) ;;
    lua) WASM=lua.wasm ARGS=(script.lua one two) INPUTS=(lua/script.lua) ;;
    coremark) WASM=coremark.wasm ARGS=(0 0 0 60) ;;
    *) die "unknown program $1" ;;
    esac
}

# observe HOST DIR: runs the program in DIR (a fresh copy of its inputs) on HOST with every
# output on; the outputs land in DIR/out/.
observe() {
    local host="$1" dir="$2"
    rm -rf "$dir" && mkdir -p "$dir/out" || die "cannot make $dir"
    cp "$WORK/app.cwi" "$dir/" && for f in "${INPUTS[@]}"; do cp "$HERE/$f" "$dir/"; done
    cp "$DIST/chiwawa-rt.wasm" "$dir/"
    local opts=(--deterministic --strace=out/strace --stats-out out/stats.json
        --profile out/folded --trace-out out/trace.json app.cwi "${ARGS[@]}")
    (
        cd "$dir" || exit 2
        if [ "$host" = native ]; then
            # The environment a Wasm host gives: none.
            env -i "$NATIVE_RT" --dir . "${opts[@]}"
        elif [ "$host" = wasmtime ]; then
            "$WASMTIME" run --dir . chiwawa-rt.wasm "${opts[@]}"
        else
            "$ROOT/hosts/bin/$host" run --dir . chiwawa-rt.wasm "${opts[@]}"
        fi
    ) </dev/null >"$dir/out/stdout" 2>"$dir/out/stderr"
    echo $? >"$dir/out/status"
}

# The files the guest wrote, as name and checksum lines (the outputs, image and inputs left
# out).
written() {
    (cd "$1" && find . -path ./out -prune -o -type f -print | sort | while read -r f; do
        case "$f" in ./app.cwi | ./chiwawa-rt.wasm) continue ;; esac
        echo "$f $(cksum <"$f")"
    done)
}

mkdir -p "$WORK" || die "cannot make $WORK"
failed=0
expected=0
printf '%-9s %13s %8s %9s %9s %10s %10s  %s\n' program instructions slices strace stats folded trace hosts
for name in "${PROGRAM_LIST[@]}"; do
    program "$name"
    [ -f "$PROGRAMS/$WASM" ] || die "no $PROGRAMS/$WASM: run \`make programs\`"
    "$TRANSLATE" "$PROGRAMS/$WASM" -o "$WORK/app.cwi" >/dev/null || die "cannot translate $WASM"
    ref="$WORK/$name-native"
    observe native "$ref"
    [ -s "$ref/out/stats.json" ] || { echo "FAIL $name native: no statistics ($(cat "$ref/out/stderr"))"; failed=1; continue; }
    # Exactness, checked on the reference (the others are byte-identical to it).
    if ! python3 - "$ref/out" <<'PY'; then
import json, sys
out = sys.argv[1]
stats = json.load(open(f"{out}/stats.json"))
total = stats["instructions"]
folded = sum(int(line.rsplit(" ", 1)[1]) for line in open(f"{out}/folded"))
assert folded == total, f"folded {folded} != instructions {total}"
ops = sum(o["count"] for o in stats["opcodes"])
assert ops == total, f"opcodes {ops} != instructions {total}"
trace = json.load(open(f"{out}/trace.json"))
assert trace["otherData"]["instructions"] == total
PY
        echo "FAIL $name: the native run's outputs do not add up"
        failed=1
    fi
    if ! "$PYTHON" "$HERE/check-trace.py" "$ROOT/docs/trace-event.schema.json" "$ref/out/trace.json"; then
        echo "FAIL $name: the trace does not pass check-trace.py"
        failed=1
    fi
    # The checker is no rubber stamp: a slice moved out of its caller, or an unknown field,
    # must fail it (tried on the first program's trace only: validating takes a while).
    [ "$name" = "${PROGRAM_LIST[0]}" ] && for damage in 's/"dur":\([0-9]*\),"args":{"depth":2}/"dur":9\1,"args":{"depth":2}/' \
        '0,/"pid":1,/s//"pid":1,"extra":0,/'; do
        sed "$damage" "$ref/out/trace.json" >"$WORK/damaged.json"
        if cmp -s "$ref/out/trace.json" "$WORK/damaged.json" ||
            "$PYTHON" "$HERE/check-trace.py" "$ROOT/docs/trace-event.schema.json" \
                "$WORK/damaged.json" >/dev/null 2>&1; then
            echo "FAIL $name: check-trace.py accepted a damaged trace ($damage)"
            failed=1
        fi
    done
    ok_hosts=()
    differ_hosts=()
    for host in "${HOST_LIST[@]}"; do
        dir="$WORK/$name-$host"
        observe "$host" "$dir"
        same=1
        for f in "${OUTPUTS[@]}"; do
            if ! cmp -s "$ref/out/$f" "$dir/out/$f"; then
                echo "  $name $host: $f differs from the native run's"
                diff "$ref/out/$f" "$dir/out/$f" 2>/dev/null | head -5
                same=0
            fi
        done
        if [ "$(written "$ref")" != "$(written "$dir")" ]; then
            echo "  $name $host: the files written differ"
            same=0
        fi
        if [ $same = 1 ]; then
            ok_hosts+=("$host")
        elif [[ "$EXPECT_DIFFER" == *" $name:$host "* ]]; then
            echo "  ($name on $host differs as expected)"
            differ_hosts+=("$host")
            expected=1
        else
            echo "FAIL $name $host: the outputs differ from the native run's"
            failed=1
        fi
    done
    size() { wc -c <"$ref/out/$1" | tr -d ' '; }
    printf '%-9s %13s %8s %9s %9s %10s %10s  %s\n' "$name" \
        "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["instructions"])' "$ref/out/stats.json")" \
        "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["otherData"]["slices"])' "$ref/out/trace.json")" \
        "$(size strace)" "$(size stats.json)" "$(size folded)" "$(size trace.json)" \
        "identical: native ${ok_hosts[*]}${differ_hosts[*]:+; differ as expected: ${differ_hosts[*]}}"
done
if [ $failed != 0 ]; then
    echo "observe-identity: some outputs differ between hosts" >&2
    exit 1
fi
if [ $expected = 1 ]; then
    echo "observe-identity: every output identical on native ${HOST_LIST[*]}, but for the pairs expected to differ"
else
    echo "observe-identity: every output identical on native ${HOST_LIST[*]}"
fi
