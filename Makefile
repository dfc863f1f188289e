# chiwawa: build, try and test the translator and the self-hosted runtime.
#
#   make setup    Rust target wasm32-wasip1 (+ rustfmt, clippy) and the pinned wasmtime CLI
#   make dist     dist/chiwawa-translate, dist/chiwawa-translate.wasm, dist/chiwawa-rt.wasm
#   make example  dist/hello.wasm from examples/hello
#   make run      translate hello.wasm and run it under chiwawa-rt.wasm, then directly
#   make spec     the spec-testsuite runner
#   make bench    benchmark suite (BENCH_ARGS="--runs 7 --only fib,sort"); report in target/bench/
#   make bench-compare BASE=rev  this tree's chiwawa-rt.wasm against commit rev's, and what
#                 observing a run costs (benches/compare.sh, benches/observe-cost.sh)
#   make test     fmt, clippy, rustdoc, cargo test, spec, programs matrix
#   make programs        SQLite, Lua, CoreMark and WASI conformance programs, from crates' sources
#   make programs-matrix each program directly and through chiwawa on wasmtime, node, wasmi
#   make checkpoint-smoke programs stopped at checkpoints and resumed across hosts
#   make observe-identity SQLite, Lua, CoreMark traced, profiled, counted: the same on every host
#   make observe-hosts    the same on six more hosts
#   make components       WASI preview 2 test components (tests/components)
#   make components-hosts each component through chiwawa-rt.wasm on the 12 hosts vs wasmtime direct
#   make hosts    install 12 pinned WASI hosts (hosts/) and run the programs matrix on all
#   make hosts-timings   direct vs through chiwawa on each host (docs/hosts.md)
#   make fuzz     bounded fuzz campaigns (FUZZ_SEED=1 FUZZ_IMAGES=100000 FUZZ_IMAGES_WASM=5000
#                 FUZZ_DIFF=20000 FUZZ_TRANSLATE=20000 FUZZ_COMPONENTS=20000); failing inputs in
#                 fuzz/artifacts/
#   make clean    remove build outputs (not .tools/)

# Every built binary is found through CARGO_TARGET_DIR, made absolute so that cargo
# resolves it the same way wherever it runs (CI points it outside the clone).
CARGO_TARGET_DIR ?= target
override CARGO_TARGET_DIR := $(abspath $(CARGO_TARGET_DIR))
export CARGO_TARGET_DIR

CARGO       ?= cargo
WASI_TARGET := wasm32-wasip1
NATIVE_OUT  := $(CARGO_TARGET_DIR)/release
WASI_OUT    := $(CARGO_TARGET_DIR)/$(WASI_TARGET)/release
DIST        := dist
CANON       := $(CARGO_TARGET_DIR)/debug/wasm-canon
HELLO_DIR   := examples/hello
BENCH_WORKLOADS := benches/workloads
BENCH_ARGS  ?=
VENV        := $(CURDIR)/.tools/venv

# wasmtime: the one on PATH if there is one, else the one `make setup` puts in the venv
# (the python version in that path varies, so it is globbed). Deferred (`?=`), so it is
# looked up when a recipe runs, after `setup` has installed it.
VENV_WASMTIME = $(firstword $(shell ls -d $(VENV)/lib/python3*/site-packages/wasmtime_cli/wasmtime 2>/dev/null))
WASMTIME ?= $(or $(shell command -v wasmtime 2>/dev/null),$(VENV_WASMTIME),$(VENV)/lib/python3.11/site-packages/wasmtime_cli/wasmtime)

# What integration tests need to find the wasm artifacts and the wasmtime CLI. With
# CHIWAWA_REQUIRE_ARTIFACTS a test whose artifact is missing fails instead of skipping.
TEST_ENV = WASMTIME="$(WASMTIME)" WASMI="$(WASMI)" CHIWAWA_DIST="$(CURDIR)/$(DIST)" CHIWAWA_REQUIRE_ARTIFACTS=1 \
	CHIWAWA_COMPONENTS="$(COMPONENTS_DIR)"

.PHONY: all help setup toolchain dist example run spec test fmt-check clean bench bench-compare bench-workloads fuzz

all: dist example

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

setup: toolchain
	@if command -v wasmtime >/dev/null 2>&1; then \
		echo "using wasmtime on PATH: $$(command -v wasmtime)"; wasmtime --version; \
	else \
		tools/install-wasmtime.sh "$(VENV)"; \
	fi

# Idempotent and quick (no download once installed), so builds can depend on it.
toolchain:
	rustup target add $(WASI_TARGET) wasm32-wasip2
	rustup component add rustfmt clippy

dist: toolchain
	$(CARGO) build --release -p chiwawa-translator --bin chiwawa-translate
	$(CARGO) build --release --target $(WASI_TARGET) -p chiwawa-translator --bin chiwawa-translate
	$(CARGO) build --release --target $(WASI_TARGET) -p chiwawa-runtime --bin chiwawa-rt
	mkdir -p $(DIST)
	cp $(NATIVE_OUT)/chiwawa-translate $(DIST)/chiwawa-translate
	# The .wasm files re-encoded for engines of the Wasm 1.0 era too (tools/wasm-canon): the
	# shortest LEB128s (LLVM pads some) and memory.copy/fill as calls of Wasm functions. Built
	# like the tests, so nothing rebuilds.
	$(CARGO) build --workspace --bin wasm-canon
	$(CANON) --lower-bulk-memory $(WASI_OUT)/chiwawa-translate.wasm $(DIST)/chiwawa-translate.wasm
	$(CANON) --lower-bulk-memory $(WASI_OUT)/chiwawa-rt.wasm $(DIST)/chiwawa-rt.wasm

# examples/hello is its own cargo project (empty [workspace] table), not a workspace member.
example: toolchain
	$(CARGO) build --release --target $(WASI_TARGET) --manifest-path $(HELLO_DIR)/Cargo.toml
	mkdir -p $(DIST)
	cp $(WASI_OUT)/hello.wasm $(DIST)/hello.wasm

run: setup dist example
	$(DIST)/chiwawa-translate $(DIST)/hello.wasm -o $(DIST)/hello.cwi
	@echo "== hello.wasm translated, run by chiwawa-rt.wasm in wasmtime"
	$(WASMTIME) run --dir . $(DIST)/chiwawa-rt.wasm $(DIST)/hello.cwi world 42
	@echo "== hello.wasm run directly by wasmtime"
	$(WASMTIME) run --dir . $(DIST)/hello.wasm world 42

# Built with the workspace's test feature set, so that after `cargo test --workspace` (as in
# `make test`) nothing is rebuilt: `cargo run -p chiwawa-tests` alone resolves other features
# for shared dependencies and rebuilds wasmtime (8 minutes on 2 cores).
spec:
	$(CARGO) build --workspace --bins --tests
	$(CARGO_TARGET_DIR)/debug/spec

# The benchmark kernels: their own cargo project (wasm32-wasip1 cdylib), like examples/hello.
bench-workloads: toolchain
	$(CARGO) build --release --target $(WASI_TARGET) --manifest-path $(BENCH_WORKLOADS)/Cargo.toml

# bench-run: the release profile without fat LTO (wasmtime and wasmi are only the harness);
# chiwawa-rt.wasm itself is the `make dist` release build. The kernels of bench-workloads and the
# real programs of `programs` (CoreMark, SQLite, Lua). Writes target/bench/report.{json,svg}.
# Then what observing a run costs (--fuel, --stats-out, --profile, --trace-out) on the wasmtime
# CLI, with the cost per call (benches/observe-cost.sh).
bench: dist bench-workloads programs setup
	$(CARGO) run --profile bench-run -p chiwawa-benches --bin bench -- $(BENCH_ARGS)
	WASMTIME="$(WASMTIME)" CHIWAWA_DIST="$(CURDIR)/$(DIST)" benches/observe-cost.sh

# The same suite for this tree's chiwawa-rt.wasm and BASE's (a commit, built in a worktree),
# each over wasmtime direct in its own run; then counting instructions on and off.
bench-compare: dist bench-workloads programs setup
	@[ -n "$(BASE)" ] || { echo "usage: make bench-compare BASE=<commit>" >&2; exit 2; }
	$(CARGO) build --workspace --bin wasm-canon
	WASMTIME="$(WASMTIME)" CHIWAWA_DIST="$(CURDIR)/$(DIST)" benches/compare.sh $(BASE) $(or $(RUNS),5)

# Bounded campaigns of fuzz/ (its README): stable Rust, no cargo-fuzz needed. The dev profile
# (dependencies optimised, panic=unwind so that a panic is reported, not an abort) is the one
# `make spec` builds, so nothing is rebuilt after `make test`. `make test` runs the regression
# corpus and a smoke campaign of each oracle (cargo test -p chiwawa-fuzz).
FUZZ_SEED        ?= 1
FUZZ_IMAGES      ?= 100000
FUZZ_IMAGES_WASM ?= 5000
FUZZ_DIFF        ?= 20000
FUZZ_TRANSLATE   ?= 20000
FUZZ_COMPONENTS  ?= 20000
FUZZ             := $(CARGO_TARGET_DIR)/debug/chiwawa-fuzz

fuzz: dist components
	$(CARGO) build -p chiwawa-fuzz --bin chiwawa-fuzz
	$(FUZZ) translate   --count $(FUZZ_TRANSLATE)   --seed $(FUZZ_SEED)
	$(FUZZ) images      --count $(FUZZ_IMAGES)      --seed $(FUZZ_SEED)
	CHIWAWA_DIST="$(CURDIR)/$(DIST)" $(FUZZ) images-wasm --count $(FUZZ_IMAGES_WASM) --seed $(FUZZ_SEED)
	$(FUZZ) diff        --count $(FUZZ_DIFF)        --seed $(FUZZ_SEED)
	CHIWAWA_COMPONENTS="$(COMPONENTS_DIR)" $(FUZZ) components --count $(FUZZ_COMPONENTS) --seed $(FUZZ_SEED)

# fmt-check comes first so that a formatting slip fails in seconds, not after the builds.
# programs before cargo test: tests/tests/programs_embedded.rs runs them in embedded wasmtime.
test: fmt-check setup dist bench-workloads programs components hosts-smoke
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p chiwawa-runtime --all-targets --features op-stats,step-hooks -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps
	$(MAKE) $(WASMI)
	$(TEST_ENV) $(CARGO) test --workspace
	$(CARGO) test -p chiwawa-runtime --features step-hooks --test hooks
	$(MAKE) spec
	$(MAKE) programs-matrix
	$(MAKE) checkpoint-smoke
	$(MAKE) observe-identity

fmt-check: toolchain
	$(CARGO) fmt --all -- --check
	$(CARGO) fmt --manifest-path $(HELLO_DIR)/Cargo.toml -- --check
	$(CARGO) fmt --manifest-path $(PROGRAMS_SRC)/wasi-rust/Cargo.toml -- --check
	$(CARGO) fmt --manifest-path $(COMPONENTS_SRC)/Cargo.toml -- --check
	$(CARGO) fmt --manifest-path $(BENCH_WORKLOADS)/Cargo.toml -- --check

clean:
	$(CARGO) clean
	rm -rf $(DIST)

# WASI preview 2 components (issue 18): Rust programs of tests/components built for
# wasm32-wasip2 (the toolchain's wasm-component-ld makes them components) into COMPONENTS_DIR.
COMPONENTS_SRC := tests/components
COMPONENTS_DIR := $(CARGO_TARGET_DIR)/components
.PHONY: components
components: toolchain setup-programs
	$(CARGO) build --release --target wasm32-wasip2 --manifest-path $(COMPONENTS_SRC)/Cargo.toml \
		--target-dir $(CARGO_TARGET_DIR)/components-build
	mkdir -p $(COMPONENTS_DIR)
	cp $(CARGO_TARGET_DIR)/components-build/wasm32-wasip2/release/p2-*.wasm $(COMPONENTS_DIR)/
	$(COMPONENTS_SRC)/build-c.sh $(COMPONENTS_DIR)

# Real programs (issue 3), built from crates' sources into $(PROGRAMS_DIR) (never committed) and
# run by tests/programs/matrix.sh directly and through chiwawa-rt.wasm on each host.
PROGRAMS_SRC := tests/programs
PROGRAMS_DIR := $(CARGO_TARGET_DIR)/programs
PROGRAMS_APT := clang lld wasi-libc libclang-rt-dev-wasm32
WASMI        := $(CARGO_TARGET_DIR)/tools/bin/wasmi

.PHONY: setup-programs programs programs-matrix

# Debian's clang 14 and wasi-libc for the C programs (installed only when missing).
setup-programs:
	@if dpkg -s $(PROGRAMS_APT) >/dev/null 2>&1; then \
		echo "programs: $(PROGRAMS_APT) installed"; \
	else \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y $(PROGRAMS_APT); \
	fi

programs: setup-programs toolchain
	$(PROGRAMS_SRC)/build.sh $(PROGRAMS_DIR)

# The wasmi CLI host (~2.5 min cold; kept in CARGO_TARGET_DIR, which CI keeps between runs).
$(WASMI):
	$(CARGO) install wasmi_cli@2.0.0 --locked --root $(CARGO_TARGET_DIR)/tools

programs-matrix: programs setup dist $(WASMI)
	$(HOSTS_ENV) MATRIX_HOSTS="$(HOSTS_MAIN)" $(PROGRAMS_SRC)/matrix.sh $(PROGRAMS_DIR)

# Checkpoint and migration (issue 16): tests/programs/checkpoint/ckpt.c stops at four
# checkpoints and is resumed on wasmtime, node, wasmi and natively, in a chain and in every
# pair; each must match the run straight through. Then SQLite, Lua, CoreMark, the WASI
# conformance programs and ckpt.c are stopped at 20 instruction counts each on wasmtime and
# every snapshot is resumed on node, wasmi and natively (checkpoint-points.sh). The native
# runtime is the debug build that `make spec` builds.
.PHONY: checkpoint-smoke
checkpoint-smoke: programs setup dist $(WASMI)
	$(CARGO) build --workspace --bins --tests
	$(HOSTS_ENV) NATIVE_RT="$(CARGO_TARGET_DIR)/debug/chiwawa-rt" \
		$(PROGRAMS_SRC)/checkpoint.sh $(PROGRAMS_DIR)
	$(HOSTS_ENV) NATIVE_RT="$(CARGO_TARGET_DIR)/debug/chiwawa-rt" \
		$(PROGRAMS_SRC)/checkpoint-points.sh $(PROGRAMS_DIR)

# Observation (issue 17): SQLite, Lua and CoreMark with --deterministic and --strace,
# --stats-out, --profile and --trace-out, natively and through chiwawa-rt.wasm on wasmtime, node
# and wasmi: every output byte-identical (tests/programs/observe-identity.sh).
.PHONY: observe-identity
observe-identity: programs setup dist $(WASMI) trace-checker
	$(CARGO) build --workspace --bins
	$(HOSTS_ENV) NATIVE_RT="$(CARGO_TARGET_DIR)/debug/chiwawa-rt" PYTHON="$(VENV)/bin/python" \
		$(PROGRAMS_SRC)/observe-identity.sh $(PROGRAMS_DIR)

# The trace checker's jsonschema, in the tools venv.
.PHONY: trace-checker
trace-checker:
	@[ -x $(VENV)/bin/python ] || python3 -m venv $(VENV)
	@$(VENV)/bin/python -c 'import jsonschema' 2>/dev/null || \
		$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check 'jsonschema==4.26.0'

# The same on more hosts (a longer campaign, not in make test): every host of the matrix whose
# run of the three programs with every output on finishes in minutes. Where a host answers
# the guest differently, the outputs differ (docs/hosts.md): those pairs are expected.
HOSTS_OBSERVE = $(HOSTS_MAIN) wasmtime-py deno bun tybys browser-wasi-shim wasi-js
OBSERVE_DIFFER := sqlite:bun sqlite:wasi-js sqlite:browser-wasi-shim lua:tybys
.PHONY: observe-hosts
observe-hosts: hosts-install programs dist trace-checker
	$(CARGO) build --workspace --bins
	$(HOSTS_ENV) NATIVE_RT="$(CARGO_TARGET_DIR)/debug/chiwawa-rt" PYTHON="$(VENV)/bin/python" \
		HOSTS="$(HOSTS_OBSERVE)" EXPECT_DIFFER="$(OBSERVE_DIFFER)" \
		$(PROGRAMS_SRC)/observe-identity.sh $(PROGRAMS_DIR)

# The component x host matrix (docs/components.md): every component of `make components`
# through chiwawa-rt.wasm on every host, against the wasmtime CLI running it directly.
.PHONY: components-hosts
components-hosts: hosts-install components dist
	$(HOSTS_ENV) HOSTS="$(HOSTS_MAIN) $(HOSTS_EXTRA)" $(COMPONENTS_SRC)/hosts.sh $(COMPONENTS_DIR)

# The host matrix (hosts/README.md, docs/hosts.md): every host behind one wrapper interface in
# hosts/bin/, pinned and installed from the registries into $(HOSTS_OUT) by hosts/HOST/install.sh.
# `make hosts` installs them all and runs the programs matrix on every one; `make test` runs it
# on the three main hosts (programs-matrix) and a smoke subset on HOSTS_SMOKE (hosts-smoke):
# chiwawa-rt.wasm starts on each, and two programs run identically directly and through it.
HOSTS_OUT   := $(CARGO_TARGET_DIR)/hosts
HOSTS_MAIN  := wasmtime node wasmi
HOSTS_EXTRA := wasm3 wasmtime-py wamr-aot deno bun browser-wasi-shim runno wasi-js tybys
HOSTS_SMOKE := wasm3 browser-wasi-shim wasi-js
HOSTS_ENV    = WASMTIME="$(WASMTIME)" WASMI="$(WASMI)" CHIWAWA_DIST="$(CURDIR)/$(DIST)" CHIWAWA_HOSTS="$(HOSTS_OUT)"

.PHONY: hosts hosts-install hosts-smoke hosts-timings

hosts-install: setup $(WASMI)
	@for h in $(HOSTS_EXTRA); do \
		if [ -x hosts/$$h/install.sh ]; then hosts/$$h/install.sh $(HOSTS_OUT) || exit 1; fi; \
	done
	@for h in $(HOSTS_MAIN) $(HOSTS_EXTRA); do $(HOSTS_ENV) hosts/bin/$$h version || exit 1; done

# Checkpoints move between every pair of these (tests/programs/checkpoint.sh); bun and wasi-js
# only resume: they report the offset of a file being written as 0, so a checkpoint taken there
# with such a file open would resume it at 0. Not wasm3 (no environment, and its guest sees
# the process's inherited descriptors) and not runno (its one directory is named "/", so a
# snapshot of a run with "." is refused there, by name).
HOSTS_CHECKPOINT := native $(HOSTS_MAIN) wasmtime-py wamr-aot deno browser-wasi-shim tybys
HOSTS_CHECKPOINT_TO := bun wasi-js

hosts: hosts-install programs dist
	$(HOSTS_ENV) MATRIX_HOSTS="$(HOSTS_MAIN) $(HOSTS_EXTRA)" $(PROGRAMS_SRC)/matrix.sh $(PROGRAMS_DIR)
	$(CARGO) build --workspace --bins --tests
	$(HOSTS_ENV) NATIVE_RT="$(CARGO_TARGET_DIR)/debug/chiwawa-rt" CHECKPOINT_HOSTS="$(HOSTS_CHECKPOINT)" \
		CHECKPOINT_TO_ONLY="$(HOSTS_CHECKPOINT_TO)" $(PROGRAMS_SRC)/checkpoint.sh $(PROGRAMS_DIR)

# Direct vs through chiwawa-rt.wasm, best of RUNS (default 3), on every installed host:
# CoreMark, CPython and QuickJS; a Markdown table for docs/hosts.md.
hosts-timings: hosts-install programs dist
	$(HOSTS_ENV) hosts/timings.sh $(PROGRAMS_DIR)

hosts-smoke: dist programs
	@for h in $(HOSTS_SMOKE); do hosts/$$h/install.sh $(HOSTS_OUT) || exit 1; done
	@for h in $(HOSTS_SMOKE); do \
		$(HOSTS_ENV) hosts/bin/$$h run --dir . $(DIST)/chiwawa-rt.wasm --help | grep -q '^usage: chiwawa-rt ' \
			|| { echo "hosts-smoke: chiwawa-rt.wasm does not start on $$h" >&2; exit 1; }; \
		echo "hosts-smoke: chiwawa-rt.wasm starts on $$($(HOSTS_ENV) hosts/bin/$$h version)"; \
	done
	$(HOSTS_ENV) MATRIX_HOSTS="wasmtime $(HOSTS_SMOKE)" MATRIX_ONLY='^(lua|sqlite|python)$$' \
		$(PROGRAMS_SRC)/matrix.sh $(PROGRAMS_DIR)
