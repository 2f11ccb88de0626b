--[[ recheck.lua: hand out stories due for another fetch, once each, and schedule their next
step; atomic, so that concurrent schedulers never get the same entry.

Python (scheduler/store.py, RecheckArgs) sends one argument, ARGV[1], a JSON object with the
named fields below.

KEYS:
  1  the recheck schedule (sorted set; score: due time in unix seconds;
     member: JSON [story id, url, source, first publication (unix s), step index])

ARGV[1] fields (name, JSON type, meaning):
  now                   int          the time to compare due times with (unix s)
  limit                 int          at most this many entries are handed out
  ttl_ms                int          TTL of the schedule, refreshed when an entry is rescheduled
  offsets               [int]        the recheck offsets in seconds after first publication,
                                     ascending (at least one)

Returns the members handed out (as stored before rescheduling).
]]

local args = cjson.decode(ARGV[1])
local offsets, ttl = args.offsets, string.format("%d", args.ttl_ms)
local due = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", args.now, "LIMIT", 0, args.limit)
for _, member in ipairs(due) do
  redis.call("ZREM", KEYS[1], member)
  local entry = cjson.decode(member)
  local step = entry[5] + 1
  local offset = offsets[step + 1]
  if offset then
    entry[5] = step
    redis.call("ZADD", KEYS[1], entry[4] + offset, cjson.encode(entry))
    redis.call("PEXPIRE", KEYS[1], ttl)
  end
end
return due
