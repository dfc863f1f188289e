// Exercises QuickJS (quickjs-ng) through chiwawa: arithmetic on numbers and BigInt, strings and
// number formatting, arrays, Map/Set, classes, generators, JSON, RegExp, a caught exception,
// qjs:std files (written, then read back), the environment, and std.exit with a status.
// Everything printed is deterministic (no time, no random numbers, no addresses).
import * as std from "qjs:std";
import * as os from "qjs:os";

function section(name) { print(`== ${name}`); }

section("args");
print("nargs", scriptArgs.length, JSON.stringify(scriptArgs.slice(1)));
print("A =", std.getenv("A"), "B =", std.getenv("B"), "C =", std.getenv("C"));

section("numbers");
let sum = 0;
for (let i = 1; i <= 1000; i++) sum += i * i;
print(sum, 2 ** 53, 7 % -3, -7 % 3, Math.trunc(-2.5), Math.floor(-2.5), 0.1 + 0.2);
print((1 / 3).toFixed(5), (12345.678).toExponential(3), (255).toString(16), (0.000123).toPrecision(2));
print(Number.MAX_SAFE_INTEGER, Number.EPSILON, 1e21, 1 / 0, -1 / 0, Object.is(-0, 0), NaN === NaN);
print(Math.sqrt(2), Math.PI.toFixed(10), Math.hypot(3, 4), Math.clz32(1), Math.imul(0x7fffffff, 3));
print(parseInt("0x1f"), parseFloat("3.5e2xyz"), Number("  12  "), Number("nope"), (-1.5).toFixed(0));
let f = 1n;
for (let i = 1n; i <= 30n; i++) f *= i;
print(f, f % 1000007n, (2n ** 127n - 1n).toString(36), BigInt.asIntN(8, 255n));
let a = 0, b = 1;
for (let i = 0; i < 80; i++) [a, b] = [b, a + b];
print("fib(80)", a, Number.isSafeInteger(a));

section("strings");
const s = "The quick brown fox jumps over the lazy dog";
print(s.length, s.toUpperCase(), s.slice(4, 9), s.indexOf("fox"), s.split(" ").reverse().join(" "));
print(s.replace(/o/g, "0"), s.match(/(\w+) dog/)[1], [...s.matchAll(/\b(\w{5})\b/g)].map(m => m[1]).join("|"));
print("[" + "7".padStart(5, "0") + "|" + "ab".padEnd(5, ".") + "|" + "  x  ".trim() + "|" + "ab".repeat(3) + "]");
print("häl€😀".length, [..."häl€😀"].length, "€".codePointAt(0), String.fromCodePoint(128512), "é".normalize("NFD").length);
print(encodeURIComponent("a b&c/ä"), escape === undefined, JSON.stringify("a\nb\"c\u0001"));
print(["b", "a", "C", "ä"].sort().join(","), ["b", "a", "C"].sort((x, y) => x.localeCompare(y)).join(","));

section("collections");
const arr = Array.from({ length: 10 }, (_, i) => i * i);
print(arr.join(","), arr.filter(x => x % 2).map(x => x / 2).reduce((p, x) => p + x, 0));
print(arr.slice().sort((x, y) => y - x).slice(0, 5).join(" "), arr.includes(49), arr.findLast(x => x < 50));
const m = new Map([["apple", 3], ["pear", 5], ["fig", 1]]);
m.set("kiwi", 2);
print([...m].map(([k, v]) => `${k}=${v}`).join(";"), m.size, new Set("mississippi").size);
const counts = {};
for (const ch of "mississippi") counts[ch] = (counts[ch] || 0) + 1;
print(JSON.stringify(counts), Object.entries(counts).length);
const typed = new Float64Array([1.5, -2.25, 3]);
const bytes = new Uint8Array(typed.buffer);
print(typed.join(" "), bytes.length, bytes.slice(0, 8).join(","), new DataView(typed.buffer).getFloat64(8, true));

section("objects");
class Shape {
  constructor(name) { this.name = name; }
  area() { return 0; }
  toString() { return `${this.name}(${this.area().toFixed(3)})`; }
}
class Circle extends Shape {
  #r;
  constructor(r) { super("circle"); this.#r = r; }
  area() { return Math.PI * this.#r ** 2; }
}
class Rect extends Shape {
  constructor(w, h) { super("rect"); this.w = w; this.h = h; }
  area() { return this.w * this.h; }
}
const shapes = [new Circle(1), new Rect(2, 3.5), new Circle(0.5)];
print(shapes.map(String).join(" "), shapes.reduce((t, x) => t + x.area(), 0).toFixed(6));
const obj = { n: 1, list: [1, 2, { deep: true }], str: "x", nil: null, nested: { a: [] } };
const text = JSON.stringify(obj, null, 2);
print(text.split("\n").length, JSON.stringify(JSON.parse(text)) === JSON.stringify(obj));
const { n, list: [, second, ...rest], ...others } = obj;
print(n, second, JSON.stringify(rest), Object.keys(others).join(","));
const proxy = new Proxy({}, { get: (_, key) => `got ${String(key)}` });
print(proxy.hello, Reflect.ownKeys({ a: 1, [Symbol("s")]: 2 }).length);

section("generators");
function* primes() {
  const found = [];
  for (let k = 2; ; k++) {
    if (found.every(p => k % p)) { found.push(k); yield k; }
  }
}
const ps = [];
for (const p of primes()) { if (ps.length === 15) break; ps.push(p); }
print(ps.join(" "));
let log = [];
Promise.resolve(1).then(v => log.push("then " + v));
(async () => { log.push("async " + await Promise.resolve(2)); })();
log.push("sync");

section("exceptions");
function risky(x) {
  if (x > 2) throw new RangeError(`too big: ${x}`);
  return x * 10;
}
for (const x of [1, 3]) {
  try {
    print("risky", x, "->", risky(x));
  } catch (e) {
    print("caught", e.name, e.message, e instanceof RangeError);
  } finally {
    print("finally", x);
  }
}
try {
  null.prop;
} catch (e) {
  print("caught", e.constructor.name);
}
try {
  JSON.parse("{bad json");
} catch (e) {
  print("caught", e.name);
}

section("files");
const name = "quickjs-out.txt";
let file = std.open(name, "w");
for (let i = 1; i <= 5; i++) file.printf("line %d: %s %5.2f\n", i, "x".repeat(i), i / 7);
file.puts("last line\n");
file.close();
file = std.open(name, "r");
const lines = file.readAsString().split("\n");
file.close();
print(lines.length, lines[0], "|", lines[4], "|", lines[5]);
const [st, err] = os.stat(name);
print("size", st.size, "err", err, "missing", std.open("no-such-file.txt", "r"), std.loadFile("no-such-file.txt"));
file = std.open(name, "a");
file.puts("appended\n");
file.close();
print(std.loadFile(name).split("\n").slice(-2).join("/"));
print("rename", os.rename(name, "quickjs-renamed.txt"), "remove missing", os.remove("no-such-file.txt") < 0);
std.out.printf("%s %d %x %.3e\n", "printf", 42, 255, 1234.5);
std.err.puts("a line on stderr\n");

section("end");
Promise.resolve().then(() => {
  print(log.join(", "));
  std.out.flush();
  std.exit(3);
});
