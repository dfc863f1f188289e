// Runs a WASI preview1 program under node's `node:wasi`, as `wasmtime run --dir .` would:
//   node --no-warnings node-run.mjs [--env NAME=VALUE]... PROGRAM.wasm [ARGS...]
// The guest gets argv = [PROGRAM.wasm as given, ARGS...], only the --env variables, the
// process's stdin/stdout/stderr, and the current directory preopened as ".".
// Exit status: the guest's proc_exit status (0 if _start returns); 134 if the guest traps,
// as wasmtime does; 1 if the module cannot be loaded or instantiated.
import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";
import process from "node:process";

const argv = process.argv.slice(2);
const env = {};
while (argv.length > 0 && argv[0] === "--env") {
  const pair = argv[1] ?? "";
  const eq = pair.indexOf("=");
  if (eq < 1) {
    process.stderr.write(`node-run: --env wants NAME=VALUE, got "${pair}"\n`);
    process.exit(2);
  }
  env[pair.slice(0, eq)] = pair.slice(eq + 1);
  argv.splice(0, 2);
}
if (argv.length === 0) {
  process.stderr.write("usage: node-run.mjs [--env NAME=VALUE]... PROGRAM.wasm [ARGS...]\n");
  process.exit(2);
}

const wasi = new WASI({
  version: "preview1",
  args: argv,
  env,
  preopens: { ".": process.cwd() },
  returnOnExit: true,
});

let module;
try {
  module = await WebAssembly.compile(await readFile(argv[0]));
} catch (e) {
  process.stderr.write(`node-run: cannot load ${argv[0]}: ${e.message}\n`);
  process.exit(1);
}
let instance;
try {
  instance = await WebAssembly.instantiate(module, wasi.getImportObject());
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
