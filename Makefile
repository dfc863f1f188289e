# chiwawa: build, try and test the translator and the self-hosted runtime.
#
#   make setup    Rust target wasm32-wasip1 (+ rustfmt, clippy) and the pinned wasmtime CLI
#   make dist     dist/chiwawa-translate, dist/chiwawa-translate.wasm, dist/chiwawa-rt.wasm
#   make example  dist/hello.wasm from examples/hello
#   make run      translate hello.wasm and run it under chiwawa-rt.wasm, then directly
#   make spec     the spec-testsuite runner
#   make test     fmt, clippy, cargo test, spec
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
HELLO_DIR   := examples/hello
VENV        := $(CURDIR)/.tools/venv

# wasmtime: the one on PATH if there is one, else the one `make setup` puts in the venv
# (the python version in that path varies, so it is globbed). Deferred (`?=`), so it is
# looked up when a recipe runs, after `setup` has installed it.
VENV_WASMTIME = $(firstword $(shell ls -d $(VENV)/lib/python3*/site-packages/wasmtime_cli/wasmtime 2>/dev/null))
WASMTIME ?= $(or $(shell command -v wasmtime 2>/dev/null),$(VENV_WASMTIME),$(VENV)/lib/python3.11/site-packages/wasmtime_cli/wasmtime)

# What integration tests need to find the wasm artifacts and the wasmtime CLI.
TEST_ENV = WASMTIME="$(WASMTIME)" CHIWAWA_DIST="$(CURDIR)/$(DIST)"

.PHONY: all help setup toolchain dist example run spec test fmt-check clean

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
	rustup target add $(WASI_TARGET)
	rustup component add rustfmt clippy

dist: toolchain
	$(CARGO) build --release -p chiwawa-translator --bin chiwawa-translate
	$(CARGO) build --release --target $(WASI_TARGET) -p chiwawa-translator --bin chiwawa-translate
	$(CARGO) build --release --target $(WASI_TARGET) -p chiwawa-runtime --bin chiwawa-rt
	mkdir -p $(DIST)
	cp $(NATIVE_OUT)/chiwawa-translate $(DIST)/chiwawa-translate
	cp $(WASI_OUT)/chiwawa-translate.wasm $(DIST)/chiwawa-translate.wasm
	cp $(WASI_OUT)/chiwawa-rt.wasm $(DIST)/chiwawa-rt.wasm

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

spec:
	$(CARGO) run -p chiwawa-tests --bin spec

# fmt-check comes first so that a formatting slip fails in seconds, not after the builds.
test: fmt-check setup dist
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(TEST_ENV) $(CARGO) test --workspace
	$(MAKE) spec

fmt-check: toolchain
	$(CARGO) fmt --all -- --check
	$(CARGO) fmt --manifest-path $(HELLO_DIR)/Cargo.toml -- --check

clean:
	$(CARGO) clean
	rm -rf $(DIST)
