// The browser-wasi-shim host: @bjorn3/browser_wasi_shim's WASI under node. Its file system is
// in memory: each --dir is loaded into its File/Directory objects before the run and written
// back after it (tree.mjs). stdin is the process's whole stdin as a read-only file; stdout and
// stderr go straight to the process's, byte for byte.
// Arguments: the installation directory, then the interface's `run ...` command line.
import process from "node:process";
import { pathToFileURL } from "node:url";
import { parseRun, readStdin, runModule, writeAll } from "./cli.mjs";
import { loadTree, writeBack } from "./tree.mjs";

const NAME = "browser-wasi-shim";
const installed = process.argv[2];
const opts = parseRun(NAME, process.argv.slice(3));
const shim = await import(
  pathToFileURL(`${installed}/node_modules/@bjorn3/browser_wasi_shim/dist/index.js`).href
);

// tree.mjs's tree to the shim's Directory contents, and back.
function toShim(tree) {
  const contents = new Map();
  for (const [name, entry] of tree) {
    contents.set(
      name,
      entry.kind === "file" ? new shim.File(entry.data) : new shim.Directory(toShim(entry.entries)),
    );
  }
  return contents;
}
function fromShim(contents) {
  const tree = new Map();
  for (const [name, inode] of contents) {
    if (inode instanceof shim.File) tree.set(name, { kind: "file", data: inode.data });
    else if (inode instanceof shim.Directory) {
      tree.set(name, { kind: "dir", entries: fromShim(inode.contents) });
    }
  }
  return tree;
}

await runModule(NAME, opts, ({ dirs, env, args }) => {
  const before = dirs.map((dir) => loadTree(dir));
  const preopens = dirs.map((dir, i) => new shim.PreopenDirectory(dir, toShim(before[i])));
  const fds = [
    new shim.OpenFile(new shim.File(readStdin(), { readonly: true })),
    new shim.ConsoleStdout((bytes) => writeAll(1, bytes)),
    new shim.ConsoleStdout((bytes) => writeAll(2, bytes)),
    ...preopens,
  ];
  const envList = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  // debug: false is needed: left out, the shim logs every call on stdout.
  const wasi = new shim.WASI(args, envList, fds, { debug: false });
  return {
    imports: { wasi_snapshot_preview1: wasi.wasiImport },
    start: (instance) => wasi.start(instance),
    finish: () => {
      dirs.forEach((dir, i) => writeBack(dir, before[i], fromShim(preopens[i].dir.contents)));
    },
  };
});
