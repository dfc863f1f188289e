#!/usr/bin/env bash
# The programs matrix: every program of tests/programs/ on every WASI host that can run it,
# once directly and once translated by chiwawa-translate and run by chiwawa-rt.wasm on the same
# host. Each run gets a fresh copy of the same directory (preopened as "."), the same argv, env
# and stdin; stdout, stderr, exit status and the directory tree afterwards (names, types,
# contents, link targets) must be byte-identical (for a program that traps, stderr only up to the
# host's report of the trap: see TRAP_STATUS below). Prints a program x host table; fails on a
# difference not listed in expected-differences.txt.
#
#   tests/programs/matrix.sh [PROGRAMS_DIR]     (default $CARGO_TARGET_DIR/programs)
#
# Hosts: MATRIX_HOSTS (default "wasmtime node wasmi"), each run by its wrapper hosts/bin/HOST
# with one interface (`HOST run --dir . --env NAME=VALUE... MODULE.wasm ARGS`, see
# hosts/README.md); a host whose wrapper says it is not installed (exit 3) is reported so.
# Environment: WASMTIME, NODE, WASMI (as the wrappers take them), CHIWAWA_DIST (dist/),
# MATRIX_ONLY (a regexp: run only the programs whose name matches).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PROGRAMS="${1:-${CARGO_TARGET_DIR:-$ROOT/target}/programs}"
DIST="${CHIWAWA_DIST:-$ROOT/dist}"
RT="$DIST/chiwawa-rt.wasm"
TRANSLATE="$DIST/chiwawa-translate"
BIN="$ROOT/hosts/bin"
EXPECTED="$HERE/expected-differences.txt"
WORK="$PROGRAMS/matrix"
TIMEOUT="${MATRIX_TIMEOUT:-600}" # seconds for one run

read -r -a HOSTS <<<"${MATRIX_HOSTS:-wasmtime node wasmi}"

# One case a line: name | program | args | stdin file | fixture files | compare
# (paths relative to tests/programs/; compare: `all`, or `coremark`: of stdout only the
# deterministic lines, the CRCs and sizes; the rest is timing; or `trap:N`: a program that traps
# after writing N lines to stderr, see `Trapping programs` below).
# Every case runs with env A=1 and "B=two words".
CASES=(
    "sqlite|sqlite3.wasm|test.db|sqlite/script.sql||all"
    "lua|lua.wasm|script.lua one two|/dev/null|lua/script.lua|all"
    "lua-error|lua.wasm|error.lua|/dev/null|lua/error.lua|all"
    "coremark|coremark.wasm|0 0 0 60|/dev/null||coremark"
    "wasi-c|wasi-c.wasm|one two|wasi-c/stdin.txt||all"
    "wasi-rust|wasi-rust.wasm|one two|wasi-c/stdin.txt||all"
    "quickjs|quickjs.wasm|script.js one two|/dev/null|quickjs/script.js|all"
    "python|python.wasm|script.py one two|/dev/null|python/script.py|all"
    "wasi-c-abort|wasi-c-abort.wasm|one two|/dev/null||trap:1"
    "wasi-rust-panic|wasi-rust-panic.wasm|one two|/dev/null||trap:4"
)
ENV=("A=1" "B=two words")

# The argv[0] a host gives its guest when it is not the module's path as given: wamr always
# says "wasm". chiwawa passes the same on with --argv0, so that both runs see the same argv.
declare -A HOST_ARGV0=([wamr-aot]=wasm)

# Trapping programs (`trap:N`). A guest trap ends the process as the host ends a trap (DESIGN.md
# principle 10): run directly, the host reports the trap on stderr and exits with its trap status
# (TRAP_STATUS); through chiwawa-rt.wasm, chiwawa writes `error: trap: KIND in FUNCTION` to
# stderr and then traps the host, which reports its own trap and exits the same way. So stdout,
# the exit status and the tree are compared in full, but of stderr only the N lines the program
# wrote itself before trapping; the rest is the host's report (a backtrace of the program, or of
# chiwawa-rt.wasm), which differs by nature. In addition, the direct run must exit with the host's
# trap status (it did trap), and chiwawa's stderr must go on, right after the N lines, with
# `error: trap: unreachable in ` (both programs end in an `unreachable`: abort()).
# The status a host exits with when its guest traps: a CLI's own; the wrappers around a library
# (node:wasi and the npm and PyPI hosts) exit 134, as the wasmtime CLI does.
declare -A TRAP_STATUS=([wasmi]=1 [wamr-aot]=1)
trap_status() { echo "${TRAP_STATUS[$1]:-134}"; }
TRAP_MESSAGE='error: trap: unreachable in '

die() {
    echo "matrix: $*" >&2
    exit 2
}

[ -x "$TRANSLATE" ] && [ -f "$RT" ] || die "no $TRANSLATE or $RT: run \`make dist\`"
[ -d "$PROGRAMS" ] || die "no $PROGRAMS: run \`make programs\`"

host_available() {
    [ -x "$BIN/$1" ] || die "no host wrapper $BIN/$1"
    "$BIN/$1" version >/dev/null 2>&1
}

# run_on HOST WASM ARGS...: runs WASM (a path relative to the current directory) with ARGS,
# the current directory preopened as "." and the env of ENV, on HOST.
run_on() {
    local host="$1" wasm="$2"
    shift 2
    local envs=() e
    for e in "${ENV[@]}"; do envs+=(--env "$e"); done
    timeout "$TIMEOUT" "$BIN/$host" run --dir . "${envs[@]}" "$wasm" "$@"
}

# A listing of directory $1: one line per entry with its type, and a file's checksum or a
# link's target. Modes and times are left out: chiwawa passes them through, but hosts set times.
tree_of() {
    (cd "$1" && find . -mindepth 1 -printf '%y %p %l\n' | LC_ALL=C sort | while read -r type path rest; do
        if [ "$type" = f ]; then
            echo "$type $path $(sha256sum <"$path" | cut -d' ' -f1)"
        else
            echo "$type $path $rest"
        fi
    done)
}

# run_case NAME HOST MODE PROGRAM ARGS STDIN FIXTURES COMPARE: one run into $WORK/NAME/HOST/MODE.
run_case() {
    local name="$1" host="$2" mode="$3" program="$4" args="$5" stdin="$6" fixtures="$7" compare="$8"
    local out="$WORK/$name/$host/$mode"
    rm -rf "$out"
    mkdir -p "$out/dir"
    # Both runs see the same directory: the program, its image and the fixtures.
    cp "$PROGRAMS/$program" "$out/dir/"
    cp "$WORK/images/${program%.wasm}.cwi" "$out/dir/"
    local f
    for f in $fixtures; do cp "$HERE/$f" "$out/dir/"; done
    local in="$stdin"
    [ "$in" = /dev/null ] || in="$HERE/$in"
    # shellcheck disable=SC2086 # ARGS are words
    if [ "$mode" = direct ]; then
        (cd "$out/dir" && run_on "$host" "$program" $args <"$in" >"$out/stdout" 2>"$out/stderr")
    else
        (cd "$out/dir" && run_on "$host" "$RT" --argv0 "${HOST_ARGV0[$host]:-$program}" "${program%.wasm}.cwi" $args \
            <"$in" >"$out/stdout" 2>"$out/stderr")
    fi
    echo "$?" >"$out/status"
    tree_of "$out/dir" >"$out/tree"
    if [ "$compare" = coremark ]; then
        grep -E '^(CoreMark Size|Iterations  |seedcrc|\[[0-9]+\]crc)' "$out/stdout" >"$out/compared"
    else
        cp "$out/stdout" "$out/compared"
    fi
    case "$compare" in
    trap:*) head -n "${compare#trap:}" "$out/stderr" >"$out/stderr.compared" ;;
    *) cp "$out/stderr" "$out/stderr.compared" ;;
    esac
    cp "$out/status" "$out/status.compared"
}

# Why HOST cannot run case NAME (from expected-differences.txt), or nothing.
expectation() {
    local kind="$1" name="$2" host="$3"
    [ -f "$EXPECTED" ] || return 0
    awk -v k="$kind" -v n="$name" -v h="$host" \
        '$1 == k && $2 == n && $3 == h { $1 = $2 = $3 = ""; sub(/^ +/, ""); print; exit }' "$EXPECTED"
}

# Wall-clock milliseconds (bash 5's EPOCHREALTIME), and N ms as seconds with one decimal.
now_ms() { local t="${EPOCHREALTIME/[.,]/}"; echo $((t / 1000)); }
seconds() { printf '%d.%ds' $(($1 / 1000)) $(($1 % 1000 / 100)); }

mkdir -p "$WORK/images"
rm -f "$WORK/times"
declare -A translated=()
declare -A RESULT=()
failures=0
for line in "${CASES[@]}"; do
    IFS='|' read -r name program args stdin fixtures compare <<<"$line"
    if [ -n "${MATRIX_ONLY:-}" ] && ! [[ "$name" =~ $MATRIX_ONLY ]]; then continue; fi
    [ -f "$PROGRAMS/$program" ] || die "no $PROGRAMS/$program: run \`make programs\`"
    if [ -z "${translated[$program]:-}" ]; then
        "$TRANSLATE" "$PROGRAMS/$program" -o "$WORK/images/${program%.wasm}.cwi" ||
            die "chiwawa-translate failed on $program"
        translated[$program]=1
    fi
    for host in "${HOSTS[@]}"; do
        why="$(expectation skip "$name" "$host")"
        if [ -n "$why" ]; then
            RESULT[$name/$host]="not supported: $why"
            continue
        fi
        if ! host_available "$host"; then
            RESULT[$name/$host]="not installed"
            continue
        fi
        start=$(now_ms)
        run_case "$name" "$host" direct "$program" "$args" "$stdin" "$fixtures" "$compare"
        mid=$(now_ms)
        run_case "$name" "$host" chiwawa "$program" "$args" "$stdin" "$fixtures" "$compare"
        end=$(now_ms)
        timing="$(seconds $((mid - start))) / $(seconds $((end - mid)))"
        echo "$name $host $((mid - start)) $((end - mid))" >>"$WORK/times"
        d="$WORK/$name/$host"
        diffs=""
        for part in compared stderr.compared status.compared tree; do
            cmp -s "$d/direct/$part" "$d/chiwawa/$part" || diffs="$diffs ${part%.compared}"
        done
        status="$(cat "$d/direct/status")"
        if [[ "$compare" == trap:* ]]; then
            [ "$status" = "$(trap_status "$host")" ] || diffs="$diffs trap-status"
            sed -n "$((${compare#trap:} + 1))p" "$d/chiwawa/stderr" | grep -q "^$TRAP_MESSAGE" ||
                diffs="$diffs trap-message"
        fi
        if [ -z "$diffs" ]; then
            RESULT[$name/$host]="identical (exit $status; $timing)"
            continue
        fi
        broken="$(expectation direct-fails "$name" "$host")"
        if [ -n "$broken" ]; then
            RESULT[$name/$host]="host fails it directly ($broken); through chiwawa exit $(cat "$d/chiwawa/status")"
            continue
        fi
        broken="$(expectation rescued "$name" "$host")"
        if [ -n "$broken" ]; then
            # Through chiwawa the program must run as on the first host (the reference).
            ref="$WORK/$name/${HOSTS[0]}/chiwawa"
            [ "$host" != "${HOSTS[0]}" ] && [ -f "$ref/status" ] ||
                die "$name on $host: a \`rescued\` case needs ${HOSTS[0]} run first"
            rdiffs=""
            for part in compared stderr.compared status.compared tree; do
                cmp -s "$ref/$part" "$d/chiwawa/$part" || rdiffs="$rdiffs ${part%.compared}"
            done
            if [ -z "$rdiffs" ]; then
                RESULT[$name/$host]="host fails it directly ($broken); through chiwawa identical to ${HOSTS[0]}"
            else
                RESULT[$name/$host]="RESCUE FAILED: through chiwawa differs from ${HOSTS[0]} in$rdiffs"
                failures=$((failures + 1))
            fi
            continue
        fi
        why="$(expectation differs "$name" "$host")"
        echo "---- $name on $host: chiwawa differs in${diffs} (direct: $d/direct, chiwawa: $d/chiwawa)"
        case "$diffs" in *trap-*)
            echo "trap case: direct status $status (want $(trap_status "$host"));" \
                "chiwawa's stderr after the program's lines: $(sed -n "$((${compare#trap:} + 1))p" "$d/chiwawa/stderr")" ;;
        esac
        for part in compared stderr.compared status.compared tree; do
            diff -u --label "direct/$part" --label "chiwawa/$part" \
                "$d/direct/$part" "$d/chiwawa/$part" | head -30
        done
        if [ -n "$why" ]; then
            RESULT[$name/$host]="differs (expected: $why)"
        else
            RESULT[$name/$host]="DIFFERS in${diffs}"
            failures=$((failures + 1))
        fi
    done
done

echo
echo "== programs matrix: run directly vs. through chiwawa-rt.wasm on the same host"
echo "   (times: direct / through chiwawa)"
for line in "${CASES[@]}"; do
    IFS='|' read -r name _ <<<"$line"
    if [ -n "${MATRIX_ONLY:-}" ] && ! [[ "$name" =~ $MATRIX_ONLY ]]; then continue; fi
    for host in "${HOSTS[@]}"; do
        printf '%-16s %-18s %s\n' "$name" "$host" "${RESULT[$name/$host]}"
    done
done

# The same image on every host: chiwawa's run on each host against its run on the first host
# (for information: hosts differ where preview1 leaves them free, e.g. errno choices, and some
# give less, e.g. wasm3 no environment; the direct runs above are the test).
ref="${HOSTS[0]}"
echo
echo "== through chiwawa-rt.wasm: each host against $ref"
for line in "${CASES[@]}"; do
    IFS='|' read -r name _ <<<"$line"
    if [ -n "${MATRIX_ONLY:-}" ] && ! [[ "$name" =~ $MATRIX_ONLY ]]; then continue; fi
    [ -f "$WORK/$name/$ref/chiwawa/status" ] || continue
    for host in "${HOSTS[@]:1}"; do
        d="$WORK/$name/$host/chiwawa"
        [ -f "$d/status" ] || continue
        diffs=""
        for part in compared stderr.compared status.compared tree; do
            cmp -s "$WORK/$name/$ref/chiwawa/$part" "$d/$part" || diffs="$diffs ${part%.compared}"
        done
        printf '%-16s %-18s %s\n' "$name" "$host" "$([ -n "$diffs" ] && echo "differs in$diffs" || echo same)"
    done
done

cases=0
for r in "${RESULT[@]}"; do
    case "$r" in identical* | differs* | DIFFERS* | "host fails"* | RESCUE*) cases=$((cases + 1)) ;; esac
done
echo "$((cases - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
