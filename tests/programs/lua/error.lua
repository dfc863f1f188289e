-- An uncaught runtime error: the message goes to stderr and the exit status is 1.
local t = setmetatable({}, { __index = function(_, k) error("no field '" .. k .. "'", 2) end })
print("before the error")
io.stdout:flush()
print(t.missing)
print("not reached")
