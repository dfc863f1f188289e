// The tybys host: @tybys/wasm-util's WASI under node, over node:fs. Its stdout and stderr are
// line-buffered text: each complete line reaches `print`/`printErr` decoded, without its
// newline, and a last line without a newline is never printed. It does not read stdin outside a
// browser (fd_read on fd 0 is ENOTSUP). It logs every failing call (the WASI error, with a JS
// stack) on stderr unless NODE_ENV is "production": set here, in node's own environment (the
// guest's is only the --env pairs), so that the guest's stderr is its own.
// Arguments: the installation directory, then the interface's `run ...` command line.
import fs from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import process from "node:process";
import { parseRun, runModule, writeAll } from "./cli.mjs";

process.env.NODE_ENV = "production";

const NAME = "tybys";
const installed = process.argv[2];
const opts = parseRun(NAME, process.argv.slice(3));
const require = createRequire(`${installed}/node_modules/`);
const { WASI } = require("@tybys/wasm-util");

await runModule(NAME, opts, ({ dirs, env, args }) => {
  const preopens = {};
  for (const dir of dirs) preopens[dir] = resolve(dir);
  const encoder = new TextEncoder();
  const wasi = new WASI({
    version: "preview1",
    args,
    env,
    preopens,
    fs,
    returnOnExit: true,
    print: (line) => writeAll(1, encoder.encode(`${line}\n`)),
    printErr: (line) => writeAll(2, encoder.encode(`${line}\n`)),
  });
  return {
    imports: { wasi_snapshot_preview1: wasi.wasiImport },
    start: (instance) => wasi.start(instance),
  };
});
