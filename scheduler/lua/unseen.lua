--[[ unseen.lua: which URLs are in none of the live seen-URL generations (read only).

Python (scheduler/store.py, UnseenArgs) sends one argument, ARGV[1], a JSON object with the
named fields below.

KEYS: for each of the members, its bucket's G generation intsets (current first), where
G = generations

ARGV[1] fields (name, JSON type, meaning):
  generations           int          G: live generations of the window
  members               [string]     the URLs' seen-URL members (signed decimal: 64-bit values
                                     travel as strings), in KEYS order

Returns a string with one character per member: "1" seen, "0" not seen. (One bulk reply is
cheaper for the client to read than one reply per key.)
]]

local args = cjson.decode(ARGV[1])
local G, members = args.generations, args.members
local flags = {}
for i = 0, #members - 1 do
  local seen = "0"
  for g = 1, G do
    if redis.call("SISMEMBER", KEYS[i * G + g], members[i + 1]) == 1 then
      seen = "1"
      break
    end
  end
  flags[i + 1] = seen
end
return table.concat(flags)
