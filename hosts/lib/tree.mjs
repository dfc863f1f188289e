// A directory tree in memory, for the hosts whose file system is in memory only
// (browser-wasi-shim, runno): loadTree reads the preopened directory before the run, the host
// file maps it into its library's objects and back, and writeBack makes the disk match what the
// guest left, so that files it wrote, changed or removed show on disk as on any other host.
//
// A tree is a Map from entry name to { kind: "file", data: Uint8Array } or
// { kind: "dir", entries: tree }. Symbolic links are followed when loading (the libraries have
// none); other kinds of entries (sockets, FIFOs, devices) are left out. Names are sorted, so a
// guest listing a directory sees the same order on every run. Modes and times are not kept:
// a file's contents are written back only when they changed.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export function loadTree(dir) {
  const tree = new Map();
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    let st;
    try {
      st = statSync(path);
    } catch {
      continue; // a dangling link
    }
    if (st.isFile()) tree.set(name, { kind: "file", data: new Uint8Array(readFileSync(path)) });
    else if (st.isDirectory()) tree.set(name, { kind: "dir", entries: loadTree(path) });
  }
  return tree;
}

function sameBytes(a, b) {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

// Makes directory `dir`, which held `before` (loadTree's), hold `after`.
export function writeBack(dir, before, after) {
  for (const [name, entry] of after) {
    const path = join(dir, name);
    const old = before.get(name);
    if (entry.kind === "file") {
      if (old?.kind === "file" && sameBytes(old.data, entry.data)) continue;
      if (old?.kind === "dir") rmSync(path, { recursive: true, force: true });
      writeFileSync(path, entry.data);
    } else {
      if (old !== undefined && old.kind !== "dir") rmSync(path, { force: true });
      if (old?.kind !== "dir") mkdirSync(path);
      writeBack(path, old?.kind === "dir" ? old.entries : new Map(), entry.entries);
    }
  }
  for (const name of before.keys()) {
    if (!after.has(name)) rmSync(join(dir, name), { recursive: true, force: true });
  }
}
