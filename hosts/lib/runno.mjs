// The runno host: @runno/wasi's WASI under node. Its file system is in memory, one flat map from
// absolute path to file, and it has one preopen, fd 3, which it names "/": so exactly one --dir,
// loaded into the map before the run and written back after it (tree.mjs). A directory exists
// there only through the paths under it; an empty one is kept with runno's own marker file
// `.runno` in it (which the guest sees). Its stdio are JS strings: stdin is handed over in
// chunks of at most the size the guest asks for, cut at UTF-8 character boundaries; stdout and
// stderr arrive decoded, one guest buffer at a time, and are written back as UTF-8.
// Arguments: the installation directory, then the interface's `run ...` command line.
import { statSync } from "node:fs";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { parseRun, readStdin, runModule, writeAll } from "./cli.mjs";
import { loadTree, writeBack } from "./tree.mjs";

const NAME = "runno";
const MARKER = ".runno";
const installed = process.argv[2];
const opts = parseRun(NAME, process.argv.slice(3));
if (opts.dirs.length !== 1) {
  process.stderr.write(`${NAME}: exactly one --dir (runno has one preopen)\n`);
  process.exit(2);
}
const main = `${installed}/node_modules/@runno/wasi/dist/main.js`;
const { WASI } = await import(pathToFileURL(main).href);

// tree.mjs's tree to runno's map of "/PATH" to file, and back.
function toRunno(tree, prefix, fs, times) {
  if (tree.size === 0 && prefix !== "") {
    tree = new Map([[MARKER, { kind: "file", data: new Uint8Array(0) }]]);
  }
  for (const [name, entry] of tree) {
    const path = `${prefix}/${name}`;
    if (entry.kind === "dir") toRunno(entry.entries, path, fs, times);
    else fs[path] = { path, mode: "binary", content: entry.data, timestamps: { ...times } };
  }
  return fs;
}
function fromRunno(fs) {
  const tree = new Map();
  for (const [path, file] of Object.entries(fs)) {
    const parts = path.split("/").filter((p) => p !== "");
    let dir = tree;
    for (const part of parts.slice(0, -1)) {
      if (!dir.has(part)) dir.set(part, { kind: "dir", entries: new Map() });
      dir = dir.get(part).entries;
    }
    const last = parts[parts.length - 1];
    if (last === MARKER) continue; // only says that its directory exists
    const data = file.mode === "string" ? new TextEncoder().encode(file.content) : file.content;
    dir.set(last, { kind: "file", data: new Uint8Array(data) });
  }
  return tree;
}

// Hands out stdin as strings of at most `max` UTF-8 bytes, never splitting a character.
function stdinReader() {
  const bytes = readStdin();
  const decoder = new TextDecoder();
  let at = 0;
  return (max) => {
    if (at >= bytes.length) return null;
    let end = Math.min(bytes.length, at + max);
    // Back off from the middle of a character (continuation bytes are 10xxxxxx).
    while (end < bytes.length && end > at + 1 && (bytes[end] & 0xc0) === 0x80) end--;
    const chunk = decoder.decode(bytes.subarray(at, end));
    at = end;
    return chunk;
  };
}

await runModule(NAME, opts, ({ dirs, env, args }) => {
  const before = loadTree(dirs[0]);
  const st = statSync(dirs[0]);
  const times = { access: st.atime, modification: st.mtime, change: st.ctime };
  const encoder = new TextEncoder();
  const wasi = new WASI({
    args,
    env,
    fs: toRunno(before, "", {}, times),
    stdin: stdinReader(),
    stdout: (text) => writeAll(1, encoder.encode(text)),
    stderr: (text) => writeAll(2, encoder.encode(text)),
  });
  let after = null;
  return {
    imports: wasi.getImportObject(),
    start: (instance) => {
      // runno turns a trap into exit status 134 without a word: wrap _start to see it.
      const exports = {
        ...instance.exports,
        _start: () => {
          try {
            instance.exports._start();
          } catch (e) {
            if (e instanceof WebAssembly.RuntimeError) after = e;
            throw e;
          }
        },
      };
      const result = wasi.start({ instance: { exports }, module: null });
      if (after instanceof Error) throw after;
      return result.exitCode;
    },
    finish: () => writeBack(dirs[0], before, fromRunno(wasi.drive.fs)),
  };
});
