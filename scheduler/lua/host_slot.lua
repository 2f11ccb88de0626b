--[[ host_slot.lua: hand out one request slot of a host, shared by every worker and crawl.

Per host, fetch.delay (or a longer robots.txt Crawl-delay) is the least time between two
request starts, and concurrency_per_host the most requests in flight. A granted request holds
a lease (its token in the host's lease set, scored by when it expires): the worker removes it
when the answer arrives (ZREM, no script needed); a crashed worker's leases expire and are
dropped by the next call. A Retry-After block (its key's TTL) holds every request until it ends.

Python (scheduler/hosts.py, HostSlotArgs) computes the key names and sends one argument,
ARGV[1], a JSON object with the named fields below. Times are milliseconds on the Redis
server's clock (TIME), so workers on machines whose clocks differ agree.

KEYS (all share the {prefix} hash tag):
  1  the host's state (hash: next = earliest start of the next request, crawl_delay)
  2  the host's leases (sorted set: token -> lease expiry)
  3  the host's Retry-After block (string with a TTL; read only)
  4  the host's last grants, newest first (list of "<start> <token>", capped)

ARGV[1] fields (name, JSON type, meaning):
  token                 string       the lease token of the request asking (unique;
                                     "<machine>:<pid>:<random>")
  delay_ms              int          fetch.delay
  crawl_delay_ms        int|null     the host's robots.txt Crawl-delay, capped; null: not known
                                     to the caller, the stored one applies
  concurrency           int          concurrency_per_host: leases held at most at once
  lease_ms              int          a lease not released after this long comes back
  busy_wait_ms          int          how long to wait before asking again when every slot is held
  state_ttl_ms          int          TTL of the state and grants keys, renewed on each grant
  max_grants            int          grants the list keeps (0: none)
  now_ms                int|null     the time to use (tests); null: the server's TIME

Returns {1, start, next} when granted (start: now; next: when the host's next request may
start), else {0, reason, wait}: reason "blocked" (Retry-After; wait = what is left of it),
"delay" (wait = until next) or "busy" (every slot held; wait = busy_wait_ms, or less when a
lease expires sooner).
]]

local args = cjson.decode(ARGV[1])
local state, leases, block, grants = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

local now = args.now_ms
if now == cjson.null then
  local t = redis.call("TIME")
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- An integer as a command argument: Lua would format a large number as 1e+15.
local function int(n)
  return string.format("%d", n)
end

local blocked = redis.call("PTTL", block)
if blocked > 0 then
  return {0, "blocked", blocked}
end

local crawl_delay = args.crawl_delay_ms
if crawl_delay == cjson.null then
  crawl_delay = tonumber(redis.call("HGET", state, "crawl_delay")) or 0
else
  redis.call("HSET", state, "crawl_delay", int(crawl_delay))
end
local delay = math.max(args.delay_ms, crawl_delay)

local next_start = tonumber(redis.call("HGET", state, "next")) or 0
if now < next_start then
  return {0, "delay", next_start - now}
end

redis.call("ZREMRANGEBYSCORE", leases, "-inf", int(now))
if redis.call("ZCARD", leases) >= args.concurrency then
  local first = redis.call("ZRANGE", leases, 0, 0, "WITHSCORES")
  return {0, "busy", math.max(1, math.min(args.busy_wait_ms, tonumber(first[2]) - now))}
end

local expiry = now + args.lease_ms
redis.call("ZADD", leases, int(expiry), args.token)
if redis.call("PTTL", leases) < args.lease_ms then
  redis.call("PEXPIRE", leases, int(args.lease_ms))
end
next_start = now + delay
redis.call("HSET", state, "next", int(next_start))
redis.call("PEXPIRE", state, int(args.state_ttl_ms))
if args.max_grants > 0 then
  redis.call("LPUSH", grants, int(now) .. " " .. args.token)
  redis.call("LTRIM", grants, 0, args.max_grants - 1)
  redis.call("PEXPIRE", grants, int(args.state_ttl_ms))
end
return {1, now, next_start}
