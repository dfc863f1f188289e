-- Exercises the Lua 5.4 core through chiwawa: tables, strings, closures, metatables,
-- integer/float arithmetic and formatting, pcall, goto, io on files, os.exit with a status.
-- (os.clock is "not supported on WASI" in lua-src; pcall cannot catch an error in this build,
-- see lua_wasi.h, so error.lua checks an uncaught error instead.)
-- Everything printed is deterministic (no time, no addresses).

local function section(name) print(("== %s"):format(name)) end

section("args")
print("script", arg[0], "nargs", #arg)
for i = 1, #arg do print("arg", i, arg[i]) end

section("tables")
local t = {}
for i = 1, 10 do t[i] = i * i end
print(#t, table.concat(t, ","))
table.sort(t, function(a, b) return a > b end)
print(table.concat(t, " ", 1, 5))
table.insert(t, 1, 0)
print(table.remove(t), #t, t[1])
local keys = {}
local map = { apple = 3, pear = 5, fig = 1, [10] = "ten" }
for k in pairs(map) do keys[#keys + 1] = tostring(k) end
table.sort(keys)
print(table.concat(keys, ";"))
print(select("#", table.unpack({ 1, 2, nil, 4 }, 1, 4)), table.pack(1, 2, 3).n)

section("strings")
local s = "The quick brown fox jumps over the lazy dog"
print(#s, s:upper(), s:lower():sub(5, 9))
print(s:find("brown"), s:match("(%a+) dog"), (s:gsub("o", "0")))
for word in s:gmatch("%a%a%a%a%a") do io.write(word, "|") end
print()
print(("%5d|%-5d|%05.1f|%x|%X|%o|%q"):format(42, 42, 3.14159, 255, 255, 8, "a\nb\"c"))
print(string.rep("ab", 3, "-"), ("hello"):reverse(), ("%s"):rep(2))
print(string.byte("ABC", 1, 3), string.char(72, 105))
print(utf8.char(72, 228, 8364, 128512), utf8.len("häl€"))
print(("x = %g, y = %.3f, z = %e, w = %a"):format(0.1, 2 / 3, 12345.678, 1.0))
print(string.format("%.14g %.17g %g %g", math.pi, 0.1, 1e300 * 1e10, -(1e300 * 1e10)))
print(tostring(0 / 0):gsub("-", ""), 2 ^ 53, 7 // 2, 7.0 // 2, 7 % -3, -7 % 3, 1 / 3)
print(math.maxinteger, math.mininteger, math.maxinteger + 1 == math.mininteger)
print(math.type(1), math.type(1.0), math.type("1"), 10 // 3, 10.5 // 1, 3 | 5, 6 & 3, 1 << 62)
print(tonumber("0x10"), tonumber("  12  "), tonumber("1e2"), tonumber("z", 36), tonumber("nope"))
print(math.floor(-2.5), math.ceil(-2.5), math.abs(-3), math.fmod(7, 3), math.sqrt(2))

section("closures")
local function counter()
  local n = 0
  return function(step) n = n + (step or 1); return n end
end
local c1, c2 = counter(), counter()
c1(); c1(5)
print(c1(), c2(), c2(10))
local fns = {}
for i = 1, 3 do fns[i] = function() return i * 10 end end
print(fns[1](), fns[2](), fns[3]())
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
print("fib(20)", fib(20))
local function vsum(...) local a = 0 for _, v in ipairs({ ... }) do a = a + v end return a, select("#", ...) end
print(vsum(1, 2, 3, 4.5))

section("metatables")
local Vec = {}
Vec.__index = Vec
Vec.__add = function(a, b) return setmetatable({ x = a.x + b.x, y = a.y + b.y }, Vec) end
Vec.__tostring = function(v) return ("(%g, %g)"):format(v.x, v.y) end
Vec.__eq = function(a, b) return a.x == b.x and a.y == b.y end
function Vec.new(x, y) return setmetatable({ x = x, y = y }, Vec) end
function Vec:len() return math.sqrt(self.x * self.x + self.y * self.y) end
local v = Vec.new(3, 4) + Vec.new(0.5, -1)
print(tostring(v), v:len(), v == Vec.new(3.5, 3), rawequal(v, Vec.new(3.5, 3)))
local default = setmetatable({}, { __index = function(_, k) return k .. "?" end })
print(default.foo, rawget(default, "foo"))

section("pcall")
print(pcall(function(a, b) return a + b end, 2, 3))
print(pcall(string.format, "%d", 7))
print(select("#", pcall(print)))

section("goto and integer loops")
local i, acc = 0, 0
::top::
i = i + 1
if i % 2 == 0 then acc = acc + i end
if i < 100 then goto top end
print("acc", acc)
for k = 10, 1, -3 do io.write(k, " ") end
print()

section("files")
local name = "lua-out.txt"
local f = assert(io.open(name, "w"))
f:write("line one\n", 2, "\n", 3.5, "\n")
f:close()
for line in io.lines(name) do print("read", line) end
f = assert(io.open(name, "a+"))
f:write("appended\n")
f:seek("set", 0)
print("all", (f:read("a"):gsub("\n", "/")))
print("size", f:seek("end"))
f:close()
print("open missing", io.open("no/such/file.txt"))
assert(os.rename(name, "lua-renamed.txt"))
print("rename missing", os.rename("no-such-file", "x"))
print("remove missing", os.remove("no-such-file"))
f = assert(io.open("lua-result.txt", "w"))
f:write(("%d squares sum to %d\n"):format(10, 385))
f:close()
print("getenv", os.getenv("CHIWAWA_NO_SUCH_VAR"))
print("time is integer", math.type(os.time()), "date", os.date("!%Y-%m-%d", 86400 * 365))

section("exit")
io.stdout:write("exiting with status 3\n")
io.stderr:write("lua script: bye from stderr\n")
os.exit(3)
