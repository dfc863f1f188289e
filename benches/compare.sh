#!/usr/bin/env bash
# Compares chiwawa-rt.wasm of this tree with the one of BASE (a commit): the benchmark suite's
# (b) column (chiwawa-rt.wasm on an embedded wasmtime) for both builds, each workload's time
# divided by wasmtime's own (a) measured in the same run, so that the machine's drift between
# the two runs cancels; prints each workload's ratio head/base and their geomean. Then what
# observing a run costs (benches/observe-cost.sh), best of RUNS.
#
#   benches/compare.sh BASE [RUNS]        (make bench-compare BASE=rev)
#
# Environment: CARGO_TARGET_DIR, WASMTIME (the CLI), CHIWAWA_DIST (this tree's `make dist`).
set -euo pipefail

BASE="${1:?usage: benches/compare.sh BASE [RUNS]}"
RUNS="${2:-5}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
DIST="${CHIWAWA_DIST:-$ROOT/dist}"
WORK="$TARGET/bench-compare"
WASMTIME="${WASMTIME:?set WASMTIME to the wasmtime CLI}"
mkdir -p "$WORK"

# The base build: a worktree of BASE, built into its own target directory, then re-encoded as
# `make dist` does.
rev="$(git -C "$ROOT" rev-parse --short "$BASE")"
tree="$WORK/tree-$rev"
if [ ! -f "$WORK/base-$rev/chiwawa-rt.wasm" ]; then
    rm -rf "$tree"
    git -C "$ROOT" worktree add --detach "$tree" "$rev" >/dev/null
    (cd "$tree" && CARGO_TARGET_DIR="$WORK/target" cargo build --release --target wasm32-wasip1 \
        -p chiwawa-runtime --bin chiwawa-rt)
    mkdir -p "$WORK/base-$rev"
    "$TARGET/debug/wasm-canon" --lower-bulk-memory \
        "$WORK/target/wasm32-wasip1/release/chiwawa-rt.wasm" "$WORK/base-$rev/chiwawa-rt.wasm"
    git -C "$ROOT" worktree remove --force "$tree"
fi

bench() {
    CHIWAWA_DIST="$1" cargo run -q --profile bench-run -p chiwawa-benches --bin bench -- \
        --runs "$RUNS" --no-startup --out "$2" >"$2.txt"
}
bench "$WORK/base-$rev" "$WORK/report-base"
bench "$DIST" "$WORK/report-head"

python3 - "$WORK/report-base/report.json" "$WORK/report-head/report.json" "$rev" <<'EOF'
import json, math, sys
base, head = (json.load(open(p)) for p in sys.argv[1:3])
def norm(w):
    t = w["times"]
    return t["b"]["median_ms"] / t["a"]["median_ms"]
b = {w["name"]: norm(w) for w in base["workloads"]}
rows = [(w["name"], norm(w) / b[w["name"]]) for w in head["workloads"] if w["name"] in b]
for name, r in rows:
    print(f"{name:<10} {r:6.3f}")
g = math.exp(sum(math.log(r) for _, r in rows) / len(rows))
print(f"geomean    {g:6.3f}   (chiwawa-rt.wasm on wasmtime, this tree / {sys.argv[3]}, each over wasmtime direct)")
EOF

# What counting, profiling and tracing cost, on the wasmtime CLI.
CHIWAWA_DIST="$DIST" "$ROOT/benches/observe-cost.sh" "$RUNS"
