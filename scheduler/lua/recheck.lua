--[[ recheck.lua: hand out stories due for another fetch, once each, and schedule their next
step; atomic, so that concurrent schedulers never get the same entry.

KEYS:
  1  the recheck schedule (sorted set; score: due time in unix seconds;
     member: JSON [story id, url, source, first publication (unix s), step index])
ARGV:
  1  now (unix seconds)
  2  at most this many entries
  3  TTL of the schedule (ms), refreshed when an entry is rescheduled
  4… the recheck offsets in seconds after first publication, ascending

Returns the members handed out (as stored before rescheduling).
]]

local now, limit, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local due = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", now, "LIMIT", 0, limit)
for _, member in ipairs(due) do
  redis.call("ZREM", KEYS[1], member)
  local entry = cjson.decode(member)
  local step = entry[5] + 1
  local offset = ARGV[4 + step]
  if offset then
    entry[5] = step
    redis.call("ZADD", KEYS[1], entry[4] + tonumber(offset), cjson.encode(entry))
    redis.call("PEXPIRE", KEYS[1], ttl)
  end
end
return due
