# Shared start of the wrappers in hosts/bin/ (sourced; NAME must be set). It handles the
# interface's `version` and usage errors, and finds the host's installation:
#   HOST_DIR  ${CHIWAWA_HOSTS:-${CARGO_TARGET_DIR:-REPO/target}/hosts}/NAME
#   LIB       this directory (hosts/lib)
# A missing installation is exit status 3. After sourcing, "$@" is still the full command line
# (starting with `run`), for the host's own argument parsing.
# shellcheck shell=bash

LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HOST_DIR="${CHIWAWA_HOSTS:-${CARGO_TARGET_DIR:-$(cd "$LIB/../.." && pwd)/target}/hosts}/$NAME"

case "${1:-}" in
version)
    # The pinned versions are the exact ones of hosts/NAME/package.json.
    pins="$(sed -n '/"dependencies"/,/}/s/^ *"\([^"]*\)": *"\([^"]*\)".*/\1@\2/p' \
        "$LIB/../$NAME/package.json")"
    echo "$NAME ${pins//$'\n'/ }"
    exit 0
    ;;
run) ;;
*)
    echo "usage: $NAME run --dir DIR [--env NAME=VALUE]... MODULE.wasm [ARGS...]" >&2
    echo "       $NAME version" >&2
    exit 2
    ;;
esac

if [ ! -f "$HOST_DIR/.installed" ]; then
    echo "$NAME: not installed (run make hosts)" >&2
    exit 3
fi
