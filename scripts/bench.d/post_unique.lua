-- wrk script: post_event.lua's beacon, but every request comes from a new
-- visitor (its own CF-Connecting-IP), so each one is a new session in the
-- site object.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "post_event.lua")

local thread_id = 0
local counter = 0

setup = function(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

request = function()
  counter = counter + 1
  local n = counter
  wrk.headers["CF-Connecting-IP"] = string.format("%d.%d.%d.%d", 10 + (tid or 0), math.floor(n / 65536) % 256,
    math.floor(n / 256) % 256, n % 256)
  return wrk.format()
end
