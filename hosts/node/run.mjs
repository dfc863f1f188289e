// Runs a WASI preview1 program under node's own `node:wasi`, as `wasmtime run` would:
//   node --no-warnings run.mjs --dir DIR [--env NAME=VALUE]... PROGRAM.wasm [ARGS...]
// (hosts/bin/node runs it so.) The guest gets argv = [PROGRAM.wasm as given, ARGS...], only the
// --env variables, the process's stdin/stdout/stderr, and each DIR preopened under its own name.
// Exit status: the guest's proc_exit status (0 if _start returns); 134 if the guest traps,
// as wasmtime does; 1 if the module cannot be loaded or instantiated; 2 for usage.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { WASI } from "node:wasi";
import process from "node:process";

const usage = "usage: run.mjs [--dir DIR]... [--env NAME=VALUE]... PROGRAM.wasm [ARGS...]\n";
const argv = process.argv.slice(2);
const env = {};
const preopens = {};
while (argv.length > 0 && (argv[0] === "--env" || argv[0] === "--dir")) {
  const [flag, value] = argv.splice(0, 2);
  if (value === undefined) {
    process.stderr.write(usage);
    process.exit(2);
  }
  if (flag === "--dir") {
    preopens[value] = resolve(value);
    continue;
  }
  const eq = value.indexOf("=");
  if (eq < 1) {
    process.stderr.write(`node-run: --env wants NAME=VALUE, got "${value}"\n`);
    process.exit(2);
  }
  env[value.slice(0, eq)] = value.slice(eq + 1);
}
if (argv.length === 0) {
  process.stderr.write(usage);
  process.exit(2);
}

const wasi = new WASI({
  version: "preview1",
  args: argv,
  env,
  preopens,
  returnOnExit: true,
});

// node 20's `node:wasi` functions are V8 "fast API calls": Wasm calls the C++ function
// directly. Several of them allocate through node's allocator, which reports the allocation to
// V8; once linear memory (counted as external memory) has grown far enough, that report starts a
// garbage collection inside the fast call, which V8 does not allow, and the heap is corrupted:
// the process dies later with SIGSEGV or a fatal GC error (nodejs/node#46777; CPython through
// chiwawa-rt.wasm hit it every run). A plain JS function between Wasm and each import makes V8
// take the ordinary call path, where a GC is safe. i32 arguments arrive signed; `>>> 0` gives
// the unsigned numbers the ordinary path checks pointers and lengths as.
function slowPathImports(imports) {
  const wasi = imports.wasi_snapshot_preview1;
  for (const [name, f] of Object.entries(wasi)) {
    wasi[name] = (...args) => f(...args.map((a) => (typeof a === "number" ? a >>> 0 : a)));
  }
  return imports;
}

let module;
try {
  module = await WebAssembly.compile(await readFile(argv[0]));
} catch (e) {
  process.stderr.write(`node-run: cannot load ${argv[0]}: ${e.message}\n`);
  process.exit(1);
}
let instance;
try {
  instance = await WebAssembly.instantiate(module, slowPathImports(wasi.getImportObject()));
} catch (e) {
  process.stderr.write(`node-run: cannot instantiate ${argv[0]}: ${e.message}\n`);
  process.exit(1);
}
let status;
try {
  status = wasi.start(instance);
} catch (e) {
  process.stderr.write(`node-run: ${argv[0]} trapped: ${e.message}\n`);
  status = 134;
}
process.exitCode = status;
