--[[ daemon_lock.lua: keep, hand over or give up the one-daemon-per-prefix lock; atomic, so
that two daemons starting together never both hold it.

Python (scheduler/instance.py, LockArgs) sends one argument, ARGV[1], a JSON object with the
named fields below.

KEYS:
  1  the lock (string: the holder's "host:pid:instance"; TTL)

ARGV[1] fields (name, JSON type, meaning):
  op                    string       "refresh": extend the TTL when the lock is ours, take it
                                     when nobody holds it (after a Redis restart, say);
                                     "replace": take it when it is held by ``expected`` (a dead
                                     daemon's stale lock); "release": delete it when it is ours
  owner                 string       our "host:pid:instance"
  expected              string       for "replace": the stale holder seen before; else ""
  ttl_ms                int          the lock's TTL

Returns "" when the operation was done (or, releasing, when nobody held the lock), else the
current holder, which was left in place.
]]

local args = cjson.decode(ARGV[1])
local holder = redis.call("GET", KEYS[1])
local ttl = string.format("%d", args.ttl_ms)
if args.op == "refresh" then
  if holder == args.owner or not holder then
    redis.call("SET", KEYS[1], args.owner, "PX", ttl)
    return ""
  end
  return holder
elseif args.op == "replace" then
  if holder == args.expected or not holder then
    redis.call("SET", KEYS[1], args.owner, "PX", ttl)
    return ""
  end
  return holder
elseif args.op == "release" then
  if holder == args.owner or not holder then
    redis.call("DEL", KEYS[1])
    return ""
  end
  return holder
end
return redis.error_reply("daemon_lock.lua: unknown op " .. tostring(args.op))
