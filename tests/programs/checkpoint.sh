#!/usr/bin/env bash
# Checkpoint and migration across hosts (issue 16), for `make test`: checkpoint/ckpt.c asks for
# a checkpoint at four points of its run (chiwawa.checkpoint). Run straight through by
# chiwawa-rt.wasm on wasmtime, it is the reference. Then:
#   - one chain migrates at every checkpoint: wasmtime -> node -> wasmi -> native -> wasmtime;
#   - for each host pair (FROM, TO) of wasmtime, node, wasmi and native, FROM runs to the second
#     checkpoint (20 calls deep) and TO restores and finishes.
# Each must give, over all its legs, exactly the reference's stdout and stderr, its exit status,
# and the same files (the snapshots aside). Every leg but the last must stop with status 75.
#
#   tests/programs/checkpoint.sh [PROGRAMS_DIR]
#
# Environment: as tests/programs/matrix.sh's (WASMTIME, WASMI, CHIWAWA_DIST, CHIWAWA_HOSTS),
# NATIVE_RT, the native chiwawa-rt (default $CARGO_TARGET_DIR/debug/chiwawa-rt), and
# CHECKPOINT_HOSTS, the hosts of the pairs (default "wasmtime node wasmi native"; any of
# hosts/bin, and `native`), and CHECKPOINT_TO_ONLY, hosts that only resume (not checkpoint).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PROGRAMS="${1:-${CARGO_TARGET_DIR:-$ROOT/target}/programs}"
DIST="${CHIWAWA_DIST:-$ROOT/dist}"
NATIVE_RT="${NATIVE_RT:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/chiwawa-rt}"
BIN="$ROOT/hosts/bin"
WORK="$PROGRAMS/checkpoint"
CHECKPOINTED=75

die() {
    echo "checkpoint: $*" >&2
    exit 2
}
[ -f "$PROGRAMS/ckpt.wasm" ] || die "no $PROGRAMS/ckpt.wasm: run \`make programs\`"
[ -x "$NATIVE_RT" ] || die "no native runtime $NATIVE_RT: cargo build --workspace --bins"
[ -f "$DIST/chiwawa-rt.wasm" ] || die "no $DIST/chiwawa-rt.wasm: run \`make dist\`"

rm -rf "$WORK"
mkdir -p "$WORK"
"$DIST/chiwawa-translate" "$PROGRAMS/ckpt.wasm" -o "$WORK/ckpt.cwi" || die "translation failed"

# leg HOST OUT ARGS...: chiwawa-rt with ARGS on HOST in the current directory, preopened as ".";
# stdout and stderr appended to OUT.{stdout,stderr}; prints the exit status.
leg() {
    local host="$1" out="$2"
    shift 2
    if [ "$host" = native ]; then
        env -i A=1 "$NATIVE_RT" --dir . "$@" >>"$out.stdout" 2>>"$out.stderr"
    else
        "$BIN/$host" run --dir . --env A=1 chiwawa-rt.wasm "$@" >>"$out.stdout" 2>>"$out.stderr"
    fi
    echo $?
}

# A fresh directory for one run: the runtime and the image.
fresh() {
    rm -rf "$1"
    mkdir -p "$1"
    cp "$DIST/chiwawa-rt.wasm" "$WORK/ckpt.cwi" "$1/"
}

# The files a run leaves, snapshots aside.
files() {
    (cd "$1" && find . -type f ! -name '*.cws' ! -name '*.partial' | LC_ALL=C sort | xargs sha256sum)
}

fresh "$WORK/reference/dir"
status=$(cd "$WORK/reference/dir" && leg wasmtime "$WORK/reference/out" ckpt.cwi one two)
echo "$status" >"$WORK/reference/status"
[ "$status" = 5 ] || die "the reference run exited $status, not 5 (see $WORK/reference)"
files "$WORK/reference/dir" >"$WORK/reference/files"

failures=0
# run NAME HOST...: the program started on the first HOST, restored on each next one.
run() {
    local name="$1" first=1 host status statuses=""
    shift
    local d="$WORK/$name"
    fresh "$d/dir"
    for host in "$@"; do
        if [ $first = 1 ]; then
            status=$(cd "$d/dir" && leg "$host" "$d/out" --checkpoint snap.cws ckpt.cwi one two)
            first=0
        else
            status=$(cd "$d/dir" && leg "$host" "$d/out" --checkpoint snap.cws --restore snap.cws ckpt.cwi)
        fi
        statuses="$statuses $status"
    done
    local diffs=""
    cmp -s "$d/out.stdout" "$WORK/reference/out.stdout" || diffs="$diffs stdout"
    cmp -s "$d/out.stderr" "$WORK/reference/out.stderr" || diffs="$diffs stderr"
    files "$d/dir" | cmp -s - "$WORK/reference/files" || diffs="$diffs files"
    local want
    want="$(printf " $CHECKPOINTED%.0s" $(seq 2 $#)) 5"
    [ "$statuses" = "$want" ] || diffs="$diffs statuses($statuses, want$want)"
    if [ -z "$diffs" ]; then
        printf '%-44s identical (exit statuses%s)\n' "$name: $*" "$statuses"
    else
        printf '%-44s DIFFERS in%s (see %s)\n' "$name: $*" "$diffs" "$d"
        diff "$WORK/reference/out.stdout" "$d/out.stdout" | head -10
        diff "$WORK/reference/out.stderr" "$d/out.stderr" | head -5
        failures=$((failures + 1))
    fi
}

# The chain: four checkpoints, four migrations.
run chain wasmtime node wasmi native wasmtime
# Each pair: to the first checkpoint on FROM, on to the second there too (a restore on the same
# host), then the rest on TO.
read -r -a hosts <<<"${CHECKPOINT_HOSTS:-wasmtime node wasmi native}"
read -r -a to_only <<<"${CHECKPOINT_TO_ONLY:-}"
for from in "${hosts[@]}" "${to_only[@]}"; do
    for to in "${hosts[@]}" "${to_only[@]}"; do
        [ "$from" = "$to" ] && continue
        [[ " ${to_only[*]} " == *" $from "* ]] && continue
        run "$from-to-$to" "$from" "$from" "$to" "$to" "$to"
    done
done

echo "$failures failed"
[ "$failures" -eq 0 ]
