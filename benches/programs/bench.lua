-- The Lua workload of `bench` (benches/src/programs.rs): `lua bench.lua N`.
-- Compute-heavy Lua: tables (arrays, hashes, sort), strings (format, concat, gsub, find),
-- closures and upvalues, metatables (a small vector class), integer and float arithmetic.
-- N scales the work (N = 3500: about 70,000 closure calls, a sort of 7,000 numbers, 7,000 words,
-- 17,500 vector steps, a sieve to 70,000); everything printed is deterministic.
local n = math.max(tonumber(arg[1]) or 1000, 1)

-- A linear congruential generator, the same on every engine.
local seed = 42
local function rand(m)
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed % m
end

-- Closures: counters built by a factory, called through a table of functions.
local function counter(step)
  local c = 0
  return function() c = c + step; return c end
end

local function closures(rounds)
  local fs = {}
  for i = 1, 16 do fs[i] = counter(i) end
  local sum = 0
  for r = 1, rounds do sum = sum + fs[r % 16 + 1]() end
  return sum
end

-- Tables: fill, sort with a comparator, hash counts.
local function tables(size)
  local t = {}
  for i = 1, size do t[i] = rand(100000) end
  table.sort(t, function(a, b) return a > b end)
  local counts = {}
  for i = 1, size do
    local k = t[i] % 997
    counts[k] = (counts[k] or 0) + 1
  end
  local best, bestk = 0, -1
  for k, v in pairs(counts) do
    if v > best or (v == best and k < bestk) then best, bestk = v, k end
  end
  return t[1], t[size], bestk, best
end

-- Strings: build words, count patterns, substitute, join.
local function strings(words)
  local parts = {}
  for i = 1, words do
    parts[i] = string.format("w%d_%s", rand(1000), string.rep(string.char(97 + i % 26), 1 + i % 5))
  end
  local text = table.concat(parts, " ")
  local digits = 0
  for d in text:gmatch("%d+") do digits = digits + #d end
  local replaced, count = text:gsub("_(%a+)", function(s) return s:upper() end)
  local found = 0
  local pos = 1
  while true do
    local s = replaced:find("AAA", pos, true)
    if not s then break end
    found = found + 1
    pos = s + 1
  end
  return #text, digits, count, found
end

-- Metatables: 2-D vectors with operators, summed along a walk.
local Vec = {}
Vec.__index = Vec
local function vec(x, y) return setmetatable({ x = x, y = y }, Vec) end
Vec.__add = function(a, b) return vec(a.x + b.x, a.y + b.y) end
Vec.__mul = function(a, s) return vec(a.x * s, a.y * s) end
function Vec:len() return math.sqrt(self.x * self.x + self.y * self.y) end

local function vectors(steps)
  local p = vec(0, 0)
  local dist = 0.0
  for i = 1, steps do
    local d = vec(math.cos(i * 0.01), math.sin(i * 0.013)) * 0.5
    p = p + d
    dist = dist + d:len()
  end
  return string.format("%.6f %.6f %.6f", p.x, p.y, dist)
end

-- Integers: a sieve and a recursive function.
local function sieve(limit)
  local composite = {}
  local count = 0
  for i = 2, limit do
    if not composite[i] then
      count = count + 1
      for j = i * i, limit, i do composite[j] = true end
    end
  end
  return count
end

local function fib(k) if k < 2 then return k end return fib(k - 1) + fib(k - 2) end

print("closures", closures(20 * n))
print("tables", tables(2 * n))
print("strings", strings(2 * n))
print("vectors", vectors(5 * n))
print("sieve", sieve(20 * n))
print("fib", fib(20))
