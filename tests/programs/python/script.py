# Exercises CPython 3.12 through chiwawa: integers and floats, string formatting, containers,
# classes and dataclasses, generators, modules from the stdlib (json, re, decimal, fractions,
# hashlib, struct, collections, itertools, textwrap, zlib), exceptions caught, files written
# and read back in the preopened directory, the environment, and sys.exit with a status.
# Everything printed is deterministic (no time, no random seeds from the host, no addresses).
import collections
import dataclasses
import decimal
import fractions
import hashlib
import itertools
import json
import math
import os
import re
import struct
import sys
import textwrap
import zlib


def section(name):
    print(f"== {name}")


section("args")
print("nargs", len(sys.argv), sys.argv[1:])
print("A =", os.environ.get("A"), "B =", os.environ.get("B"), "C =", os.environ.get("C"))
print(sys.version_info[:2], sys.platform, sys.byteorder, sys.maxsize)

section("numbers")
print(sum(i * i for i in range(1, 1001)), 2**100, -7 // 2, -7 % 3, divmod(17, -5), 7 / 2)
print(math.factorial(30), math.comb(50, 25), math.gcd(2**40, 6**20), math.isqrt(10**30 + 1))
print(0.1 + 0.2, repr(1 / 3), 1e300 * 1e10, -(1e300 * 1e10), math.nan != math.nan, float("-0.0"))
print(round(2.5), round(3.5), round(2.675, 2), int("ff", 16), int("0b101", 0), float.fromhex("0x1.8p1"))
print(math.sqrt(2), math.pi, math.sin(1.0), math.log(10), math.exp(1), math.atan2(1, -1))
print(decimal.Decimal("1.1") + decimal.Decimal("2.2"), decimal.Decimal(1) / decimal.Decimal(7))
print(fractions.Fraction(3, 4) + fractions.Fraction(5, 6), fractions.Fraction(0.125), (2**61 - 1).bit_length())
a, b = 0, 1
for _ in range(200):
    a, b = b, a + b
print("fib(200)", a, len(str(a)))

section("strings")
s = "The quick brown fox jumps over the lazy dog"
print(len(s), s.upper(), s[4:9], s.find("fox"), " ".join(reversed(s.split())))
print(s.replace("o", "0"), re.search(r"(\w+) dog", s).group(1), "|".join(re.findall(r"\b\w{5}\b", s)))
print(f"[{7:05d}|{'ab':.<5}|{'  x  '.strip()}|{'ab' * 3}|{255:#x}|{255:o}|{1234567.891:,.2f}]")
print(f"{3.14159:8.3f}|{-42:+d}|{0.000123:e}|{12345.678:g}|{1e-7:g}|{0.5:%}|{'mid':^9}|")
print("%5d|%-5d|%05.1f|%x|%r" % (42, 42, 3.14159, 255, "a\nb'c"))
print("{0}-{1}-{0}".format("x", "y"), "{name!r:>8}".format(name="py"), format(1 / 7, ".10f"))
t = "häl€😀"
print(len(t), t.encode("utf-8"), len(t.encode("utf-16-le")), ord("€"), chr(128512), t.casefold())
print(sorted(["b", "a", "C", "ä"]), "Straße".upper(), "ﬁ".lower(), "Hello World".swapcase())
print(textwrap.fill("lorem ipsum dolor sit amet consectetur adipiscing elit sed do", width=20))

section("containers")
squares = [i * i for i in range(10)]
print(squares, sum(x / 2 for x in squares if x % 2))
print(sorted(squares, reverse=True)[:5], 49 in squares, max(x for x in squares if x < 50))
counts = collections.Counter("mississippi")
print(sorted(counts.items()), counts.most_common(2))
d = {"apple": 3, "pear": 5, "fig": 1}
d["kiwi"] = 2
print(";".join(f"{k}={v}" for k, v in d.items()), len(d), len(set("mississippi")))
print(list(itertools.permutations("abc", 2))[:4], list(itertools.accumulate(range(6))))
print(list(itertools.islice(itertools.cycle("xy"), 5)), list(zip("abc", range(3), strict=True)))
dq = collections.deque(range(5), maxlen=5)
dq.rotate(2)
dq.append(9)
print(list(dq), {1, 2, 3} & {2, 3, 4}, {1, 2} ^ {2, 3}, frozenset("ab") <= set("abc"))
packed = struct.pack("<dhI", -2.25, -2, 0xDEADBEEF)
print(packed.hex(), struct.unpack("<dhI", packed), bytearray(b"abc")[::-1])

section("objects")


class Shape:
    def __init__(self, name):
        self.name = name

    def area(self):
        return 0.0

    def __str__(self):
        return f"{self.name}({self.area():.3f})"


class Circle(Shape):
    def __init__(self, r):
        super().__init__("circle")
        self.r = r

    def area(self):
        return math.pi * self.r**2


@dataclasses.dataclass(order=True)
class Point:
    x: int
    y: int = 0

    def norm2(self):
        return self.x**2 + self.y**2


shapes = [Circle(1), Circle(0.5), Shape("dot")]
print(" ".join(map(str, shapes)), f"{sum(x.area() for x in shapes):.6f}")
pts = sorted([Point(3, 4), Point(1), Point(3, -1)])
print(pts, [p.norm2() for p in pts], dataclasses.asdict(pts[0]), Point(1) == Point(1, 0))
obj = {"n": 1, "list": [1, 2, {"deep": True}], "str": "x", "nil": None, "nested": {"a": []}}
text = json.dumps(obj, indent=2, sort_keys=True)
print(len(text.splitlines()), json.loads(text) == obj, json.dumps(obj, separators=(",", ":")))
print(hashlib.sha256(b"chiwawa").hexdigest(), hashlib.md5(b"").hexdigest())
data = ("compress me " * 100).encode()
packed = zlib.compress(data, 9)
print(len(data), len(packed), zlib.decompress(packed) == data, hex(zlib.crc32(data)))

section("generators")


def primes():
    found = []
    k = 2
    while True:
        if all(k % p for p in found):
            found.append(k)
            yield k
        k += 1


print(list(itertools.islice(primes(), 15)))
gen = (c.upper() for c in "abc")
print(next(gen), list(gen), list(map(lambda x: x * 2, filter(None, [0, 1, 2, 0, 3]))))

section("exceptions")


def risky(x):
    if x > 2:
        raise ValueError(f"too big: {x}")
    return x * 10


for x in (1, 3):
    try:
        print("risky", x, "->", risky(x))
    except ValueError as e:
        print("caught", type(e).__name__, e)
    finally:
        print("finally", x)
try:
    {}["missing"]
except KeyError as e:
    print("caught KeyError", e)
try:
    1 / 0
except ZeroDivisionError as e:
    print("caught", repr(e))
try:
    json.loads("{bad json")
except json.JSONDecodeError as e:
    print("caught JSONDecodeError at", e.pos)
try:
    try:
        int("nope")
    except ValueError as e:
        raise RuntimeError("wrapped") from e
except RuntimeError as e:
    print("caught", e, "cause:", repr(e.__cause__))

section("files")
name = "python-out.txt"
with open(name, "w", encoding="utf-8") as f:
    for i in range(1, 6):
        f.write(f"line {i}: {'x' * i} {i / 7:5.2f}\n")
    f.write("last line ä€\n")
with open(name, encoding="utf-8") as f:
    lines = f.read().split("\n")
print(len(lines), lines[0], "|", lines[4], "|", lines[5])
print("size", os.path.getsize(name), "exists", os.path.exists(name), os.path.exists("no-such-file.txt"))
try:
    open("no-such-file.txt")
except FileNotFoundError as e:
    print("caught FileNotFoundError", e.errno, e.filename)
with open(name, "ab") as f:
    f.write(b"appended\n")
with open(name, "rb") as f:
    f.seek(-9, os.SEEK_END)
    print(f.read(), f.tell())
os.mkdir("pydir")
os.rename(name, os.path.join("pydir", "renamed.txt"))
print(sorted(os.listdir("pydir")), os.path.isdir("pydir"))
print("to stderr", file=sys.stderr)

section("end")
sys.stdout.flush()
sys.exit(3)
