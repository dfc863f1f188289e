// The `node:wasi` module of the JS runtime that runs this file: node, deno and bun run it with
// their own binary (hosts/bin/node, hosts/bin/deno, hosts/bin/bun), each with its own
// implementation of node:wasi. Arguments: HOST_NAME, then the interface's `run ...` command
// line (cli.mjs).
import process from "node:process";
import { resolve } from "node:path";
import { parseRun, runModule } from "./cli.mjs";

const name = process.argv[2];
const opts = parseRun(name, process.argv.slice(3));

// Deno prints an ExperimentalWarning when a WASI object is made; the guest's stderr must be its
// own, so warnings are dropped (as hosts/bin/node does with `node --no-warnings`).
process.emitWarning = () => {};
const { WASI } = await import("node:wasi");

// node itself (deno and bun say they are node too, in process.versions.node).
const isNode = typeof globalThis.Deno === "undefined" && process.versions.bun === undefined;

// node 20's `node:wasi` functions are V8 "fast API calls": Wasm calls the C++ function directly.
// Several of them allocate through node's allocator, which reports the allocation to V8; once
// linear memory (counted as external memory) has grown far enough, that report starts a garbage
// collection inside the fast call, which V8 does not allow, and the heap is corrupted: the
// process dies later with SIGSEGV or a fatal GC error (nodejs/node#46777; CPython through
// chiwawa-rt.wasm hit it every run). A plain JS function between Wasm and each import makes V8
// take the ordinary call path, where a GC is safe. i32 arguments arrive signed; `>>> 0` gives
// the unsigned numbers the ordinary path checks pointers and lengths as.
function slowPath(functions) {
  const wrapped = {};
  for (const [name, f] of Object.entries(functions)) {
    wrapped[name] = (...args) => f(...args.map((a) => (typeof a === "number" ? a >>> 0 : a)));
  }
  return wrapped;
}

await runModule(name, opts, ({ dirs, env, args }) => {
  const preopens = {};
  for (const dir of dirs) preopens[dir] = resolve(dir);
  // returnOnExit: proc_exit ends _start and start() returns the status.
  const wasi = new WASI({ version: "preview1", args, env, preopens, returnOnExit: true });
  // wasiImport rather than getImportObject(), which bun's WASI lacks.
  const imports = isNode ? slowPath(wasi.wasiImport) : wasi.wasiImport;
  return {
    imports: { wasi_snapshot_preview1: imports },
    start: (instance) => wasi.start(instance) ?? 0,
  };
});
