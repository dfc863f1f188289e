#!/usr/bin/env bash
# What observing a run costs (issue 17), on the wasmtime CLI running chiwawa-rt.wasm: CoreMark
# (300 iterations), SQLite and Lua, best of RUNS each, plain and with each of --fuel (a budget
# beyond the run's end: the counting loop), --stats-out (the opcode-counting loop, the profile
# and WASI counts), --profile, --trace-out --trace calls and --trace-out (calls and WASI
# calls). Prints each time, its ratio to plain, and for the profile and the traces the cost per
# guest call (the extra time over the calls the run makes, from --stats-out).
#
#   benches/observe-cost.sh [RUNS]        (make bench, make bench-compare)
#
# Environment: CARGO_TARGET_DIR (its programs/ from `make programs`), WASMTIME (the CLI),
# CHIWAWA_DIST (`make dist`).
set -euo pipefail

RUNS="${1:-5}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
DIST="${CHIWAWA_DIST:-$ROOT/dist}"
WASMTIME="${WASMTIME:?set WASMTIME to the wasmtime CLI}"
PROGRAMS="$TARGET/programs"
WORK="$TARGET/observe-cost"
mkdir -p "$WORK"
cd "$WORK"
cp "$DIST/chiwawa-rt.wasm" rt.wasm
cp "$ROOT/tests/programs/sqlite/script.sql" "$ROOT/tests/programs/lua/script.lua" .
for p in coremark sqlite3 lua; do
    [ -f "$PROGRAMS/$p.wasm" ] || { echo "observe-cost: no $PROGRAMS/$p.wasm: make programs" >&2; exit 2; }
    "$DIST/chiwawa-translate" "$PROGRAMS/$p.wasm" -o "$p.cwi"
done

# best ARGS...: the best of RUNS wall times of chiwawa-rt.wasm with ARGS, in ms.
best() {
    local best=999999 i t0 t1 ms
    for i in $(seq "$RUNS"); do
        rm -rf test.db* lua-out.txt lua-result.txt out.*
        t0=$(date +%s%N)
        "$WASMTIME" run --dir . rt.wasm "$@" >/dev/null 2>&1 </dev/null || true
        t1=$(date +%s%N)
        ms=$(((t1 - t0) / 1000000))
        [ "$ms" -lt "$best" ] && best=$ms
    done
    echo "$best"
}

modes=(plain fuel stats profile trace-calls trace-all)
mode_args() {
    case "$1" in
    plain) ;;
    fuel) echo "--fuel 1000000000000000" ;;
    stats) echo "--stats-out out.stats" ;;
    profile) echo "--profile out.folded" ;;
    trace-calls) echo "--trace-out out.trace --trace calls" ;;
    trace-all) echo "--trace-out out.trace" ;;
    esac
}

printf '%-9s %9s' program calls
for m in "${modes[@]}"; do printf ' %12s' "$m"; done
printf '   %s\n' "ns/call: profile, trace calls, trace all"
for p in "coremark.cwi 0 0 0 300" "sqlite3.cwi test.db .read\\ script.sql" "lua.cwi script.lua one two"; do
    eval "args=($p)"
    rm -rf test.db*
    "$WASMTIME" run --dir . rt.wasm --stats-out calls.json "${args[@]}" >/dev/null 2>&1 </dev/null || true
    calls=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["calls"])' calls.json)
    declare -A ms=()
    for m in "${modes[@]}"; do
        # shellcheck disable=SC2046
        ms[$m]=$(best $(mode_args "$m") "${args[@]}")
    done
    printf '%-9s %9s' "${args[0]%.cwi}" "$calls"
    for m in "${modes[@]}"; do
        if [ "$m" = plain ]; then
            printf ' %9s ms' "${ms[$m]}"
        else
            printf ' %5s %5.2fx' "${ms[$m]}" "$(echo "${ms[$m]} / ${ms[plain]}" | bc -l)"
        fi
    done
    per() { echo "(${ms[$1]} - ${ms[plain]}) * 1000000 / $calls" | bc; }
    printf '   %s, %s, %s\n' "$(per profile)" "$(per trace-calls)" "$(per trace-all)"
    unset ms
done
