# Runs a WASI preview1 program with wasmtime's Python embedding (PyPI `wasmtime`), as
# `wasmtime run --dir DIR --env ... MODULE ARGS` would. Called by hosts/bin/wasmtime-py, which
# has checked the command line already:
#   python run.py [--cache CACHEDIR] [--dir DIR]... [--env NAME=VALUE]... -- MODULE.wasm [ARGS...]
# The guest gets argv = [MODULE.wasm as given, ARGS...], only the --env variables, each DIR
# preopened under its own name, and this process's stdin/stdout/stderr (inherited: the guest
# writes to fds 0-2 itself, nothing goes through Python's buffers).
# Exit status: the guest's proc_exit status (0 if _start returns); 134 if the guest traps (the
# wasmtime CLI's status for a trap), after "wasmtime-py: MODULE trapped: MESSAGE" on stderr; 1 if
# the module cannot be loaded or instantiated, has no _start, or a host function fails (as
# proc_exit does for a status of 126 or more: wasmtime allows [0, 126) only); 2 for a bad
# command line.
import hashlib
import os
import sys

import wasmtime

NAME = "wasmtime-py"


def fail(status, message):
    sys.stderr.write(f"{NAME}: {message}\n")
    sys.exit(status)


def parse(args):
    cache, dirs, env = None, [], []
    while args and args[0] != "--":
        opt, value = args[0], args[1] if len(args) > 1 else None
        if value is None:
            fail(2, f"{opt} wants a value")
        if opt == "--cache":
            cache = value
        elif opt == "--dir":
            dirs.append(value)
        elif opt == "--env":
            name, eq, val = value.partition("=")
            if not name or not eq:
                fail(2, f'--env wants NAME=VALUE, got "{value}"')
            env.append((name, val))
        else:
            fail(2, f"unknown option {opt}")
        args = args[2:]
    if len(args) < 2:
        fail(2, "usage: run.py [--cache DIR] [--dir DIR]... [--env NAME=VALUE]... -- MODULE.wasm [ARGS...]")
    return cache, dirs, env, args[1:]


def load(engine, path, cache):
    """Compiles MODULE, or, with a cache directory, reuses the code compiled by an earlier run of
    the same module (keyed by the module's sha256; only this engine's own serialized output is
    ever read back, and wasmtime refuses one from another wasmtime version or configuration)."""
    with open(path, "rb") as f:
        wasm = f.read()
    if cache is None:
        return wasmtime.Module(engine, wasm)
    entry = os.path.join(cache, hashlib.sha256(wasm).hexdigest() + ".cwasm")
    if os.path.exists(entry):
        try:
            return wasmtime.Module.deserialize_file(engine, entry)
        except wasmtime.WasmtimeError:
            pass  # stale or damaged: compile again below and replace it
    module = wasmtime.Module(engine, wasm)
    os.makedirs(cache, exist_ok=True)
    tmp = f"{entry}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(module.serialize())
    os.replace(tmp, entry)  # atomic: a concurrent run sees the whole entry or none
    return module


def main():
    cache, dirs, env, argv = parse(sys.argv[1:])
    path = argv[0]

    engine = wasmtime.Engine()
    try:
        module = load(engine, path, cache)
    except (OSError, wasmtime.WasmtimeError) as e:
        fail(1, f"cannot load {path}: {e}")

    config = wasmtime.WasiConfig()
    try:
        config.argv = argv
        config.env = env
    except UnicodeEncodeError:
        fail(2, "an argument or --env value is not valid UTF-8")
    for d in dirs:
        config.preopen_dir(d, d)
    config.inherit_stdin()
    config.inherit_stdout()
    config.inherit_stderr()

    store = wasmtime.Store(engine)
    store.set_wasi(config)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    try:
        instance = linker.instantiate(store, module)
        start = instance.exports(store).get("_start")
    except wasmtime.Trap as e:  # the module's start function trapped
        fail(134, f"{path} trapped: {e.message}")
    except wasmtime.WasmtimeError as e:  # e.g. an import the host does not have
        fail(1, f"cannot instantiate {path}: {e}")
    if not isinstance(start, wasmtime.Func):
        fail(1, f"cannot run {path}: it exports no function _start")

    try:
        start(store)
    except wasmtime.ExitTrap as e:  # proc_exit (a subclass of WasmtimeError: caught first)
        sys.exit(e.code & 0xFF)  # as the OS truncates the wasmtime CLI's exit(code)
    except wasmtime.Trap as e:
        fail(134, f"{path} trapped: {e.message}")
    except wasmtime.WasmtimeError as e:
        # A host function failed, not a trap of the guest's code: e.g. proc_exit with a status
        # outside [0, 126), which wasmtime refuses. The wasmtime CLI exits 1 then, so do we.
        fail(1, f"{path} failed: {e}")
    sys.exit(0)


main()
