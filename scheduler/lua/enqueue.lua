--[[ enqueue.lua: queue a poll job for a source unless one of its jobs is still in the stream.

Python (scheduler/jobs.py, EnqueueArgs) sends one argument, ARGV[1], a JSON object with the
named fields below.

KEYS:  1 the poll-job stream | 2 the source's job marker (a string: the stream ID of its job)

ARGV[1] fields (name, JSON type, meaning):
  source                string       the source's name
  kind                  string       "poll" or "recheck"
  enqueued_at           string       unix time, seconds with three decimals

The marker lives exactly as long as its job: it names the job's stream ID, has no TTL, and is
deleted with the job when a worker acknowledges it (JobQueue.ack). A marker whose job is no
longer in the stream (deleted by hand, or a stream restored from an older backup) is stale and
is replaced, so a source can never be blocked forever.

Returns the new job's stream ID, or false (nil to Python) when the source has a job already.
]]

local args = cjson.decode(ARGV[1])
local held = redis.call("GET", KEYS[2])
if held and #redis.call("XRANGE", KEYS[1], held, held) > 0 then
  return false
end
local id = redis.call("XADD", KEYS[1], "*", "source", args.source, "kind", args.kind,
                      "enqueued_at", args.enqueued_at)
redis.call("SET", KEYS[2], id)
return id
