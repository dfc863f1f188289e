// The wasi-js host: wasi-js's WASI under node with its node bindings (node:fs on the real
// directories, node's stdio). Its proc_exit calls the bindings' exit, here made to end _start
// with the status instead of the process, so the exit goes through runModule like the others.
// It reads stdin with blocking reads of fd 0 and, between empty reads, calls `sleep` (without
// one it prints a warning on stdout).
// Arguments: the installation directory, then the interface's `run ...` command line.
import { createRequire } from "node:module";
import { resolve } from "node:path";
import process from "node:process";
import { parseRun, runModule } from "./cli.mjs";

const NAME = "wasi-js";
const installed = process.argv[2];
const opts = parseRun(NAME, process.argv.slice(3));
const require = createRequire(`${installed}/node_modules/`);
const WASI = require("wasi-js").default;
const nodeBindings = require("wasi-js/dist/bindings/node").default;

class Exit {
  constructor(status) {
    this.status = status;
  }
}

await runModule(NAME, opts, ({ dirs, env, args }) => {
  const preopens = {};
  for (const dir of dirs) preopens[dir] = resolve(dir);
  const wasi = new WASI({
    args,
    env,
    preopens,
    bindings: {
      ...nodeBindings,
      exit: (status) => {
        throw new Exit(status);
      },
    },
    sleep: (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms),
  });
  return {
    imports: { wasi_snapshot_preview1: wasi.wasiImport },
    start: (instance) => {
      try {
        wasi.start(instance);
        return 0;
      } catch (e) {
        if (e instanceof Exit) return e.status;
        throw e;
      }
    },
  };
});
