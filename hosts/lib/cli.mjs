// The command line and the run of a WASI module, shared by the JS hosts of hosts/bin/ (the
// WASI libraries under node, and node:wasi under deno and bun), so that each host file only
// says how its library is set up. The interface (hosts/README.md):
//   HOST run --dir DIR [--env NAME=VALUE]... MODULE.wasm [ARGS...]
// Exit status: the guest's proc_exit status (0 if _start returns); 134 and
// `HOST: MODULE trapped: MESSAGE` on stderr if the guest traps; 1 if MODULE cannot be loaded or
// instantiated; 2 on a usage error. (`version` and the installation check are in host.sh.)
import { readFileSync, writeSync } from "node:fs";
import process from "node:process";

function usage(name, message) {
  process.stderr.write(`${name}: ${message}\n`);
  const synopsis = "run --dir DIR [--env NAME=VALUE]... MODULE.wasm [ARGS...]";
  process.stderr.write(`usage: ${name} ${synopsis}\n`);
  process.exit(2);
}

// Parses `run --dir DIR [--env NAME=VALUE]... MODULE [ARGS...]` (options in any order, --dir
// may repeat) into { dirs, env: {NAME: VALUE}, module, args: [MODULE, ARGS...] }.
export function parseRun(name, argv) {
  if (argv[0] !== "run") usage(name, `unknown command "${argv[0] ?? ""}"`);
  const dirs = [];
  const env = {};
  let i = 1;
  for (; i < argv.length && argv[i].startsWith("--"); i += 2) {
    const value = argv[i + 1];
    if (value === undefined) usage(name, `${argv[i]} wants a value`);
    if (argv[i] === "--dir") {
      dirs.push(value);
    } else if (argv[i] === "--env") {
      const eq = value.indexOf("=");
      if (eq < 1) usage(name, `--env wants NAME=VALUE, got "${value}"`);
      env[value.slice(0, eq)] = value.slice(eq + 1);
    } else {
      usage(name, `unknown option ${argv[i]}`);
    }
  }
  if (dirs.length === 0) usage(name, "no --dir");
  if (i >= argv.length) usage(name, "no module");
  return { dirs, env, module: argv[i], args: argv.slice(i) };
}

// Writes all of `bytes` to file descriptor `fd` (1 or 2) synchronously, so the guest's stdout
// and stderr keep their order and nothing is lost when the process exits.
export function writeAll(fd, bytes) {
  let done = 0;
  while (done < bytes.length) {
    try {
      done += writeSync(fd, bytes, done, bytes.length - done);
    } catch (e) {
      if (e.code !== "EAGAIN") throw e;
    }
  }
}

// All of the process's stdin (for the in-memory hosts, which take stdin as one buffer).
export function readStdin() {
  try {
    return new Uint8Array(readFileSync(0));
  } catch (e) {
    if (e.code === "EAGAIN" || e.code === "EOF") return new Uint8Array(0);
    throw e;
  }
}

// Loads, instantiates and starts `opts.module`, then sets the exit status. `setup` is the
// host: it returns { imports, start(instance) -> status, finish() } (finish optional: it runs
// after the guest ends, however it ends; the in-memory hosts write the directory back there).
export async function runModule(name, opts, setup) {
  let module;
  try {
    module = await WebAssembly.compile(readFileSync(opts.module));
  } catch (e) {
    process.stderr.write(`${name}: cannot load ${opts.module}: ${e.message}\n`);
    process.exit(1);
  }
  const host = setup(opts);
  let instance;
  try {
    instance = await WebAssembly.instantiate(module, host.imports);
  } catch (e) {
    process.stderr.write(`${name}: cannot instantiate ${opts.module}: ${e.message}\n`);
    process.exit(1);
  }
  let status;
  try {
    status = await host.start(instance);
  } catch (e) {
    // A trap (RuntimeError), or the library throwing for a call it does not support.
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`${name}: ${opts.module} trapped: ${message}\n`);
    status = 134;
  } finally {
    if (host.finish) host.finish();
  }
  process.exitCode = status;
}
