#!/usr/bin/env bash
# Time direct vs through chiwawa-rt.wasm on each host (`make hosts-timings`): each workload run
# RUNS times each way on each host, best wall time kept; prints a Markdown table of the best
# times and their ratio. A host that cannot run a workload directly shows `-`.
#
#   hosts/timings.sh [PROGRAMS_DIR]    (after `make hosts`; default $CARGO_TARGET_DIR/programs)
#
# Environment: TIMING_HOSTS (default: all of hosts/bin), RUNS (default 3), and what the wrappers
# take (WASMTIME, WASMI, CHIWAWA_HOSTS), CHIWAWA_DIST.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PROGRAMS="${1:-${CARGO_TARGET_DIR:-$ROOT/target}/programs}"
DIST="${CHIWAWA_DIST:-$ROOT/dist}"
RUNS="${RUNS:-3}"
read -r -a HOSTS <<<"${TIMING_HOSTS:-$(ls "$HERE/bin" | tr '\n' ' ')}"
WORK="$PROGRAMS/timings"

# name | program | args | fixture (relative to tests/programs/)
WORKLOADS=(
    "coremark|coremark.wasm|0 0 0 300|"
    "python|python.wasm|script.py one two|python/script.py"
    "quickjs|quickjs.wasm|script.js one two|quickjs/script.js"
)

now_ms() { local t="${EPOCHREALTIME/[.,]/}"; echo $((t / 1000)); }

# best_of HOST MODULE ARGS...: the best wall time in ms of RUNS runs, each in a fresh copy of
# $WORK/template (the programs write files), that exit as the first did; `-` if the first run
# fails to start the program (a non-zero exit with nothing on stdout).
best_of() {
    local host="$1" best="" i t0 t1 status first=""
    shift
    for ((i = 0; i < RUNS; i++)); do
        rm -rf "$WORK/dir" && cp -r "$WORK/template" "$WORK/dir"
        t0=$(now_ms)
        (cd "$WORK/dir" && "$HERE/bin/$host" run --dir . "$@" </dev/null >"$WORK/out" 2>/dev/null)
        status=$?
        t1=$(now_ms)
        if [ -z "$first" ]; then
            first=$status
            if [ "$status" -ne 0 ] && ! [ -s "$WORK/out" ]; then
                echo "-"
                return
            fi
        fi
        [ "$status" = "$first" ] || { echo "-"; return; }
        if [ -z "$best" ] || [ $((t1 - t0)) -lt "$best" ]; then best=$((t1 - t0)); fi
    done
    echo "$best"
}

rm -rf "$WORK"
mkdir -p "$WORK"
echo "| host | workload | direct (ms) | through chiwawa (ms) | ratio |"
echo "|---|---|---|---|---|"
for host in "${HOSTS[@]}"; do
    "$HERE/bin/$host" version >/dev/null 2>&1 || continue
    for line in "${WORKLOADS[@]}"; do
        IFS='|' read -r name program args fixture <<<"$line"
        [ -f "$PROGRAMS/$program" ] || { echo "timings: no $PROGRAMS/$program (make programs)" >&2; exit 2; }
        [ -f "$WORK/${program%.wasm}.cwi" ] ||
            "$DIST/chiwawa-translate" "$PROGRAMS/$program" -o "$WORK/${program%.wasm}.cwi" || exit 2
        rm -rf "$WORK/template" && mkdir -p "$WORK/template"
        cp "$PROGRAMS/$program" "$WORK/${program%.wasm}.cwi" "$WORK/template/"
        [ -z "$fixture" ] || cp "$ROOT/tests/programs/$fixture" "$WORK/template/"
        # shellcheck disable=SC2086 # ARGS are words
        direct=$(best_of "$host" "$program" $args)
        # shellcheck disable=SC2086
        chiwawa=$(best_of "$host" "$DIST/chiwawa-rt.wasm" --argv0 "$program" \
            "${program%.wasm}.cwi" $args)
        ratio="-"
        if [ "$direct" != "-" ] && [ "$chiwawa" != "-" ] && [ "$direct" -gt 0 ]; then
            ratio="$(awk -v a="$chiwawa" -v b="$direct" 'BEGIN { printf "%.1fx", a / b }')"
        fi
        echo "| $host | $name | $direct | $chiwawa | $ratio |"
    done
done
