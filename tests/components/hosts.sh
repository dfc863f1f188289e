#!/usr/bin/env bash
# The component x host matrix (make components-hosts): each component of `make components`
# through chiwawa-rt.wasm on each host of HOSTS, against the wasmtime CLI running the component
# directly: stdout, stderr (up to the trap report for p2-panic), exit status and the files
# written. Prints one line per component and host ("same", or what differs).
#   HOSTS="wasmtime node ..." WASMTIME=... CHIWAWA_DIST=... tests/components/hosts.sh COMPONENTS_DIR
# (ONLY="c-hello p2-time": only those components.)
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DIR="$(cd "${1:?usage: hosts.sh COMPONENTS_DIR}" && pwd)"
: "${WASMTIME:?}" "${CHIWAWA_DIST:?}" "${HOSTS:?}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
failed=0
# name|args|stdin|env|inputs
CASES=(
    "p2-hello|0 a|one two|GREETING=hi|"
    "p2-hello|3||"
    "p2-time|||"
    "p2-files|||"
    "c-hello|x y||GREETING=c|"
    "p2-wat|p2-panic.wasm|||p2-panic.wasm"
    "p2-deflate|p2-hello.wasm|||p2-hello.wasm"
    "p2-panic|||"
    "p2-tty|||"
)
run_case() { # dir program... ; stdin from $stdin
    local d="$1"; shift
    (cd "$d" && printf '%s' "$stdin" | timeout "${RUN_TIMEOUT:-120}" "$@" >stdout 2>stderr; echo $? >status)
}
for spec in "${CASES[@]}"; do
    IFS='|' read -r name args stdin env inputs <<<"$spec"
    case " ${ONLY:-$name} " in *" $name "*) ;; *) continue ;; esac
    [ -f "$DIR/$name.wasm" ] || { echo "$name: missing (make components)"; failed=1; continue; }
    "$CHIWAWA_DIST/chiwawa-translate" "$DIR/$name.wasm" -o "$WORK/$name.cwi" || { failed=1; continue; }
    envflags=(); for kv in $env; do envflags+=(--env "$kv"); done
    setup() { rm -rf "$1"; mkdir -p "$1"; for f in $inputs; do cp "$DIR/$f" "$1/"; done; }
    ref="$WORK/ref"; setup "$ref"; cp "$DIR/$name.wasm" "$ref/"
    run_case "$ref" "$WASMTIME" run --dir . "${envflags[@]}" "$name.wasm" $args
    for host in $HOSTS; do
        d="$WORK/$host"; setup "$d"; cp "$WORK/$name.cwi" "$CHIWAWA_DIST/chiwawa-rt.wasm" "$d/"
        if [ "$host" = wasmtime ]; then prog=("$WASMTIME"); else prog=("$ROOT/hosts/bin/$host"); fi
        run_case "$d" "${prog[@]}" run --dir . "${envflags[@]}" chiwawa-rt.wasm "$name.cwi" $args
        diffs=()
        cmp -s "$ref/stdout" "$d/stdout" || diffs+=(stdout)
        if [ "$name" = p2-panic ]; then
            cut() { sed '/^note: run with/,$d' "$1"; }
            [ "$(cut "$ref/stderr")" = "$(cut "$d/stderr")" ] || diffs+=(stderr)
            [ "$(cat "$d/status")" != 0 ] || diffs+=(status)
        else
            cmp -s "$ref/stderr" "$d/stderr" || diffs+=(stderr)
            cmp -s "$ref/status" "$d/status" || diffs+=("status $(cat "$d/status") vs $(cat "$ref/status")")
        fi
        files() { (cd "$1" && find . -type f ! -name stdout ! -name stderr ! -name status ! -name '*.cwi' ! -name '*.wasm' -exec sha256sum {} + | sort); }
        [ "$(files "$ref")" = "$(files "$d")" ] || diffs+=(files)
        if [ ${#diffs[@]} -eq 0 ]; then
            printf '%-11s %-18s same\n' "$name" "$host"
        else
            printf '%-11s %-18s differs: %s\n' "$name" "$host" "${diffs[*]}"
            failed=1
        fi
    done
done
exit $failed
