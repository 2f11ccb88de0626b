--[[ unseen.lua: which URLs are in none of the live seen-URL generations (read only).

KEYS:  for each of the URLs, its bucket's G generation intsets (current first)
ARGV:  1 G;  2 .. 1+U the URL members (signed decimal), in KEYS order

Returns a string with one character per URL: "1" seen, "0" not seen. (One bulk reply is
cheaper for the client to read than one reply per key.)
]]

local G = tonumber(ARGV[1])
local flags = {}
for i = 0, #ARGV - 2 do
  local seen = "0"
  for g = 1, G do
    if redis.call("SISMEMBER", KEYS[i * G + g], ARGV[2 + i]) == 1 then
      seen = "1"
      break
    end
  end
  flags[i + 1] = seen
end
return table.concat(flags)
