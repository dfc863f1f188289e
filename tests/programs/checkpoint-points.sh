#!/usr/bin/env bash
# Checkpoints by instruction count in real programs (issue 16), for `make test`: each program
# is stopped at POINTS counts spread over its run (--checkpoint-after) on the wasmtime CLI, and
# every snapshot is resumed on each of TO_HOSTS. For each program:
#   1. the reference: chiwawa-rt.wasm on wasmtime, straight through, its instruction count T
#      (--stats-out);
#   2. the wasmtime chain: stopped at T*i/(POINTS+1) for i = 1..POINTS, each leg restoring the
#      last leg's snapshot (programs that ask for checkpoints themselves stop there too); over
#      all legs stdout, stderr, the exit status and the files must be the reference's;
#   3. for each snapshot k of that chain and each host of TO_HOSTS: a fresh copy of the
#      directory as it was at k, restored on the host and run to the end: stdout and stderr
#      must be the chain's from k on, the exit status and the files the reference's. Then
#      again to the chain's next stop only: whether it stops at the same count with the same
#      snapshot bytes as wasmtime is counted and reported (they differ where the host answers
#      the guest differently: clocks, random, file identities and times; docs/design.md), and
#      required for the programs of SAME_SNAPSHOTS;
#   4. one chain migrating four times: wasmtime -> node -> wasmi -> native -> wasmtime.
#
#   tests/programs/checkpoint-points.sh [PROGRAMS_DIR]
#
# Environment: as tests/programs/checkpoint.sh's (WASMTIME, WASMI, CHIWAWA_DIST, CHIWAWA_HOSTS,
# NATIVE_RT), and POINTS (default 20), CHECKPOINT_PROGRAMS (default "sqlite lua coremark wasi-c
# wasi-rust ckpt"), TO_HOSTS (default "node wasmi native"; any of hosts/bin, and `native`).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PROGRAMS="${1:-${CARGO_TARGET_DIR:-$ROOT/target}/programs}"
DIST="${CHIWAWA_DIST:-$ROOT/dist}"
NATIVE_RT="${NATIVE_RT:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/chiwawa-rt}"
BIN="$ROOT/hosts/bin"
WORK="$PROGRAMS/checkpoint-points"
POINTS="${POINTS:-20}"
read -r -a PROGRAM_LIST <<<"${CHECKPOINT_PROGRAMS:-sqlite lua coremark wasi-c wasi-rust ckpt}"
read -r -a TO_HOSTS <<<"${TO_HOSTS:-node wasmi native}"
# The programs whose snapshots must be byte-identical on every host: those that read no clock,
# no random bytes and no file identities or times between two points.
SAME_SNAPSHOTS="${SAME_SNAPSHOTS:-coremark}"
CHECKPOINTED=75

die() {
    echo "checkpoint-points: $*" >&2
    exit 2
}
[ -x "$NATIVE_RT" ] || die "no native runtime $NATIVE_RT: cargo build --workspace --bins"
[ -f "$DIST/chiwawa-rt.wasm" ] || die "no $DIST/chiwawa-rt.wasm: run \`make dist\`"

# program NAME: sets WASM, ARGS (the guest's arguments), INPUTS (files of tests/programs copied
# into the directory) and COMPARE: `all`; `coremark`, only its deterministic lines; `host`, for
# the WASI conformance programs, whose output differs from host to host by design (they print
# each host's errno and flags): what a host prints after a restore must end its own
# uninterrupted run's output, and its status and files be that run's.
program() {
    INPUTS=()
    COMPARE=all
    case "$1" in
    sqlite) WASM=sqlite3.wasm ARGS=(test.db ".read script.sql") INPUTS=(sqlite/script.sql) ;;
    lua) WASM=lua.wasm ARGS=(script.lua one two) INPUTS=(lua/script.lua) ;;
    coremark) WASM=coremark.wasm ARGS=(0 0 0 60) COMPARE=coremark ;;
    wasi-c) WASM=wasi-c.wasm ARGS=(one two) COMPARE=host ;;
    wasi-rust) WASM=wasi-rust.wasm ARGS=(one two) COMPARE=host ;;
    ckpt) WASM=ckpt.wasm ARGS=(one two) ;;
    *) die "unknown program $1" ;;
    esac
}

# What of an output is compared.
compared() {
    if [ "$COMPARE" = coremark ]; then
        grep -aE '^(CoreMark Size|Iterations  |seedcrc|\[[0-9]+\]crc)' "$1" || true
    else
        cat "$1"
    fi
}

# leg HOST OUT ARGS...: chiwawa-rt with ARGS on HOST in the current directory (preopened as
# "."), stdin empty, its statistics in .stats.json; stdout and stderr to OUT.{stdout,stderr};
# prints the exit status and the instruction count.
leg() {
    local host="$1" out="$2"
    shift 2
    if [ "$host" = native ]; then
        env -i A=1 "$NATIVE_RT" --dir . --stats-out .stats.json "$@" >"$out.stdout" 2>"$out.stderr" </dev/null
    else
        "$BIN/$host" run --dir . --env A=1 chiwawa-rt.wasm --stats-out .stats.json "$@" \
            >"$out.stdout" 2>"$out.stderr" </dev/null
    fi
    local status=$?
    local count
    count=$(sed -n 's/^  "instructions": \([0-9]*\),$/\1/p' .stats.json 2>/dev/null)
    echo "$status ${count:-none}"
}

# The files a run leaves, snapshots and statistics aside.
files() {
    (cd "$1" && find . -type f ! -name '*.cws' ! -name '*.partial' ! -name '.stats.json' |
        LC_ALL=C sort | xargs -r sha256sum)
}

# chain HOST W [keep]: the program (in a fresh directory W) stopped at each of the POINTS counts
# T*i/(POINTS+1) on HOST, each leg restoring the last one's snapshot; a leg stops at the first
# point above the count so far (a program that asks for checkpoints itself stops there too).
# Leg K's stdout and stderr are W.K.{stdout,stderr}, "status count target" W.K.result, all of
# them W.{stdout,stderr}; with `keep`, W's directory after leg K is kept as pt.K. Sets `legs`,
# `status` and `count` (the last leg's).
chain() {
    local host="$1" w="$2" keep="${3:-}" k=0 target i n args
    fresh "$w"
    count=0
    status=$CHECKPOINTED
    while [ "$status" = "$CHECKPOINTED" ]; do
        target=""
        for i in $(seq 1 "$POINTS"); do
            n=$((total * i / (POINTS + 1)))
            if [ "$n" -gt "$count" ]; then
                target=$n
                break
            fi
        done
        args=()
        [ "$k" -gt 0 ] && args+=(--restore snap.cws)
        args+=(--checkpoint snap.cws)
        [ -n "$target" ] && args+=(--checkpoint-after "$target")
        if [ "$k" -eq 0 ]; then
            args+=(app.cwi "${ARGS[@]}")
        else
            args+=(app.cwi)
        fi
        read -r status count < <(cd "$w" && leg "$host" "$w.$k" "${args[@]}")
        echo "$status $count ${target:-end}" >"$w.$k.result"
        if [ "$status" = "$CHECKPOINTED" ] && [ -n "$keep" ]; then
            rm -rf "$P/pt.$k"
            cp -a "$w" "$P/pt.$k"
        fi
        k=$((k + 1))
        [ "$k" -le $((POINTS + 40)) ] || die "$name: the chain on $host does not end"
    done
    legs=$k
    for i in $(seq 0 $((legs - 1))); do cat "$w.$i.stdout"; done >"$w.stdout"
    for i in $(seq 0 $((legs - 1))); do cat "$w.$i.stderr"; done >"$w.stderr"
}

failures=0
fail() {
    echo "  FAIL: $*"
    failures=$((failures + 1))
}

for name in "${PROGRAM_LIST[@]}"; do
    program "$name"
    [ -f "$PROGRAMS/$WASM" ] || die "no $PROGRAMS/$WASM: run \`make programs\`"
    P="$WORK/$name"
    rm -rf "$P"
    mkdir -p "$P"
    "$DIST/chiwawa-translate" "$PROGRAMS/$WASM" -o "$P/app.cwi" || die "$name: translation failed"
    fresh() {
        rm -rf "$1"
        mkdir -p "$1"
        cp "$DIST/chiwawa-rt.wasm" "$P/app.cwi" "$1/"
        local f
        for f in "${INPUTS[@]}"; do cp "$HERE/$f" "$1/"; done
        # The files the runs write beside the guest's, there from the start: the conformance
        # programs list the directory.
        touch "$1/snap.cws" "$1/.stats.json"
    }
    started=$SECONDS

    # 1. The reference.
    fresh "$P/ref"
    read -r ref_status total < <(cd "$P/ref" && leg wasmtime "$P/ref" app.cwi "${ARGS[@]}")
    [ "$total" != none ] && [ "$total" -gt "$POINTS" ] || die "$name: no instruction count ($ref_status $total)"
    files "$P/ref" >"$P/ref.files"
    compared "$P/ref.stdout" >"$P/ref.compared"

    # 2. The wasmtime chain (`chain`): pt.K is the directory as leg K left it, snapshot
    # included.
    chain wasmtime "$P/w" keep
    snapshots=$((legs - 1))
    echo "$name: $total instructions; the wasmtime chain stopped $snapshots times"
    [ "$snapshots" -ge "$POINTS" ] || fail "$name: only $snapshots checkpoints"
    compared "$P/w.stdout" | cmp -s - "$P/ref.compared" || fail "$name: wasmtime chain stdout"
    if [ "$COMPARE" = all ]; then
        cmp -s "$P/w.stderr" "$P/ref.stderr" || fail "$name: wasmtime chain stderr"
    fi
    [ "$status" = "$ref_status" ] || fail "$name: wasmtime chain exit $status, not $ref_status"
    files "$P/w" | cmp -s - "$P/ref.files" || fail "$name: wasmtime chain files"

    # 3. Every snapshot resumed on every host: run to the end, the output after the snapshot
    # must be the chain's from there on; and again to the chain's next stop only, to compare the
    # next snapshot with wasmtime's.
    for k in $(seq 0 $((snapshots - 1))); do
        for i in $(seq $((k + 1)) $((legs - 1))); do cat "$P/w.$i.stdout"; done >"$P/tail.$k.stdout"
        for i in $(seq $((k + 1)) $((legs - 1))); do cat "$P/w.$i.stderr"; done >"$P/tail.$k.stderr"
    done
    for host in "${TO_HOSTS[@]}"; do
        if [ "$COMPARE" = host ]; then
            # A conformance program prints what each host answers, so a run moved from
            # wasmtime to another host cannot match any one run. On each host: stopped at the
            # same points there, resumed there, against its own uninterrupted run.
            ref="$P/ref.$host"
            fresh "$ref"
            read -r ref_status _ < <(cd "$ref" && leg "$host" "$ref" app.cwi "${ARGS[@]}")
            chain "$host" "$P/c.$host"
            diffs=""
            cmp -s "$P/c.$host.stdout" "$ref.stdout" || diffs="$diffs stdout"
            cmp -s "$P/c.$host.stderr" "$ref.stderr" || diffs="$diffs stderr"
            [ "$status" = "$ref_status" ] || diffs="$diffs status($status, not $ref_status)"
            files "$P/c.$host" | cmp -s - <(files "$ref") || diffs="$diffs files"
            if [ -n "$diffs" ]; then
                fail "$name: stopped $((legs - 1)) times on $host, differs from its run in$diffs"
            else
                echo "  on $host: stopped $((legs - 1)) times and resumed there, identical to its uninterrupted run"
            fi
            continue
        fi
        ref="$P/ref"
        same_legs=0
        same_counts=0
        same_snaps=0
        for k in $(seq 0 $((snapshots - 1))); do
            d="$P/$host.$k"
            rm -rf "$d"
            cp -a "$P/pt.$k" "$d"
            # To the end (a program that asks for checkpoints itself stops there too: go on).
            : >"$d.all.stdout"
            : >"$d.all.stderr"
            h_status=$CHECKPOINTED
            while [ "$h_status" = "$CHECKPOINTED" ]; do
                read -r h_status h_count < <(cd "$d" && leg "$host" "$d" --restore snap.cws --checkpoint snap.cws app.cwi)
                cat "$d.stdout" >>"$d.all.stdout"
                cat "$d.stderr" >>"$d.all.stderr"
            done
            diffs=""
            cmp -s <(compared "$d.all.stdout") <(compared "$P/tail.$k.stdout") || diffs="$diffs stdout"
            if [ "$COMPARE" = all ]; then
                cmp -s "$d.all.stderr" "$P/tail.$k.stderr" || diffs="$diffs stderr"
            fi
            [ "$h_status" = "$ref_status" ] || diffs="$diffs status($h_status)"
            files "$d" | cmp -s - "$ref.files" || diffs="$diffs files"
            if [ -n "$diffs" ]; then
                fail "$name: snapshot $k resumed on $host differs in$diffs (see $d)"
                continue
            fi
            same_legs=$((same_legs + 1))
            # To the chain's next stop: the same count, the same snapshot bytes?
            read -r w_status w_count w_target <"$P/w.$((k + 1)).result"
            if [ "$w_status" = "$CHECKPOINTED" ]; then
                rm -rf "$d"
                cp -a "$P/pt.$k" "$d"
                args=(--restore snap.cws --checkpoint next.cws)
                [ "$w_target" != end ] && args+=(--checkpoint-after "$w_target")
                read -r h_status h_count < <(cd "$d" && leg "$host" "$d" "${args[@]}" app.cwi)
                [ "$h_count" = "$w_count" ] && same_counts=$((same_counts + 1))
                cmp -s "$d/next.cws" "$P/pt.$((k + 1))/snap.cws" && same_snaps=$((same_snaps + 1))
            fi
            rm -rf "$d" "$d".*
        done
        line="on $host: $same_legs of $snapshots snapshots resumed to an identical end; of the"
        line="$line next $((snapshots - 1)), $same_counts stopped at wasmtime's count and"
        echo "  $line $same_snaps were byte-identical snapshots"
        if [[ " $SAME_SNAPSHOTS " == *" $name "* ]] && [ "$same_snaps" != $((snapshots - 1)) ]; then
            fail "$name: snapshots on $host differ from wasmtime's"
        fi
    done

    # 4. One chain, four migrations (not for the conformance programs: see 3).
    if [ "$COMPARE" = host ]; then
        echo "  ($((SECONDS - started)) s)"
        continue
    fi
    fresh "$P/chain"
    : >"$P/chain.all.stdout"
    : >"$P/chain.all.stderr"
    statuses=""
    hosts=(wasmtime node wasmi native wasmtime)
    for j in 0 1 2 3 4; do
        args=()
        [ "$j" -gt 0 ] && args+=(--restore snap.cws)
        args+=(--checkpoint snap.cws)
        [ "$j" -lt 4 ] && args+=(--checkpoint-after $((total * (4 * j + 4) / (POINTS + 1))))
        if [ "$j" -eq 0 ]; then args+=(app.cwi "${ARGS[@]}"); else args+=(app.cwi); fi
        read -r status count < <(cd "$P/chain" && leg "${hosts[$j]}" "$P/chain.$j" "${args[@]}")
        cat "$P/chain.$j.stdout" >>"$P/chain.all.stdout"
        cat "$P/chain.$j.stderr" >>"$P/chain.all.stderr"
        statuses="$statuses $status"
        # A program that asks for checkpoints itself may stop early: resume on the same host.
        while [ "$status" = "$CHECKPOINTED" ] && [ "$j" -eq 4 ]; do
            read -r status count < <(cd "$P/chain" && leg wasmtime "$P/chain.x" --restore snap.cws --checkpoint snap.cws app.cwi)
            cat "$P/chain.x.stdout" >>"$P/chain.all.stdout"
            cat "$P/chain.x.stderr" >>"$P/chain.all.stderr"
            statuses="$statuses $status"
        done
    done
    chain_ok=1
    compared "$P/chain.all.stdout" | cmp -s - "$P/ref.compared" || { chain_ok=0; fail "$name: chain stdout"; }
    if [ "$COMPARE" = all ]; then
        cmp -s "$P/chain.all.stderr" "$P/ref.stderr" || { chain_ok=0; fail "$name: chain stderr"; }
    fi
    [ "$status" = "$ref_status" ] || { chain_ok=0; fail "$name: chain exit $status, not $ref_status"; }
    files "$P/chain" | cmp -s - "$P/ref.files" || { chain_ok=0; fail "$name: chain files"; }
    [ "$chain_ok" = 1 ] && echo "  chain wasmtime -> node -> wasmi -> native -> wasmtime: identical (exit statuses$statuses)"
    echo "  ($((SECONDS - started)) s)"
done

echo "$failures failed"
[ "$failures" -eq 0 ]
