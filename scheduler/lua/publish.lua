--[[ publish.lua: decide what one fetched article is (new, a copy, an update, nothing) and
append its record to the article stream, atomically: "seen" and "published" change together.

Python (scheduler/store.py, PublishArgs) computes every key name, TTL and fingerprint; this
script only reads, compares and writes. It takes the KEYS below and one argument, ARGV[1], a
JSON object with the named fields below. 64-bit values travel as 16 hex digits (a JSON number
is a double and would lose the bits above 2^53) and become 8 raw bytes here; intset members
travel as signed decimal strings and reach SADD and SISMEMBER unchanged.

KEYS (all share the {prefix} hash tag; generations are listed current first), where
G = window_generations, N = near_generations, U = #url_members, A = #anchors and T = 1 with a
title_fingerprint, else 0:
  1                   the article stream
  2                   the recheck schedule (sorted set)
  3 .. 2+G            story-state hashes of the story's bucket
  next G              seen-text intsets of the text's bucket
  next U*G            seen-URL intsets: for each of the U URLs, its bucket's G generations
  next A*N            anchor band strings: for each of the A anchors, its bucket's N near generations
  next T*N            title index strings of the title's bucket

ARGV[1] fields (name, JSON type, meaning):
  window_generations    int          G: live generations of the window (seen URLs, texts, state)
  near_generations      int          N: live generations of the near window (anchor, title indexes)
  window_ttl_ms         int          TTL of the current window generation's keys
  near_ttl_ms           int          TTL of the current near generation's keys
  story_id              string       the story id, 16 hex digits; its 8 bytes are the state hash field
  url_members           [string]     the story's URLs (at least one), signed decimal, in KEYS order
  text_fingerprint      string       exact fingerprint of the normalized text, 16 hex digits
  text_member           string       the same value as a signed decimal (the seen-text member)
  simhash               string       SimHash of the text, 16 hex digits
  title_fingerprint     string|null  fingerprint of the normalized title, 16 hex digits; null: none
  anchors               [string]     min-hash anchors of the non-empty bands, 16 hex digits each, in
                                     KEYS order; an anchor's key in its index is its first 4 bytes
  published_digest      string       digest of the published date, 8 hex digits (zeros: no date)
  modified_digest       string       digest of the modified date, 8 hex digits (zeros: no date)
  title_distance        int          max SimHash distance (bits) of a candidate with an equal title
  one_anchor_distance   int          ... of a candidate sharing one anchor
  two_anchors_distance  int          ... of a candidate sharing two or more anchors
  near_duplicates       string       "publish" or "drop": what to do with copies of an earlier story
  record                string       the record as JSON text, without the fields decided here (ends
                                     with "}"); appended as it is, never parsed here
  source                string       the record's source (a field of the stream entry)
  retention_ms          int          stream entries older than this are trimmed on append
  max_length            int          stream MAXLEN, approximate (0: none)
  recheck_due           int          first recheck due (unix s; 0: no recheck)
  recheck_member        string       the recheck schedule member (JSON text; "" without recheck)
  recheck_ttl_ms        int          TTL of the recheck schedule
  recheck_trim          int          recheck entries due before this (unix s) are dropped (never
                                     read in time)
  max_index_records     int          most records an index string keeps (the oldest go beyond it)

Record formats:
  state (hash field = story id bytes, value 28 bytes): version(1) flags(1: bit 1 = a
    duplicate) revision(2) text(4) title(4) published(4) modified(4) cluster(8); the 4-byte
    fields only tell whether something changed (first bytes of the fingerprints, digests)
  anchor and title index record (20 bytes): key(4) simhash(8) cluster(8)

Returns {event or "", stream id or "", cluster id hex, duplicate_of hex or "", revision, reason}.
]]

local args = cjson.decode(ARGV[1])

-- 16 (or 8) hex digits -> 8 (or 4) raw bytes.
local function unhex(hex)
  return (string.gsub(hex, "%x%x", function(h) return string.char(tonumber(h, 16)) end))
end

-- An integer as a command argument: Lua would format a large number as 1e+15.
local function int(n)
  return string.format("%d", n)
end

local G, N = args.window_generations, args.near_generations
local url_members, anchors = args.url_members, {}
for i, hex in ipairs(args.anchors) do anchors[i] = string.sub(unhex(hex), 1, 4) end
local U, A = #url_members, #anchors
local T = args.title_fingerprint == cjson.null and 0 or 1
local window_ttl, near_ttl = int(args.window_ttl_ms), int(args.near_ttl_ms)
local sid_hex = args.story_id
local sid = unhex(sid_hex)
local text, text_member, sim = unhex(args.text_fingerprint), args.text_member, unhex(args.simhash)
local title = T > 0 and unhex(args.title_fingerprint) or string.rep("\0", 8)
local title_key = string.sub(title, 1, 4)
local published, modified = unhex(args.published_digest), unhex(args.modified_digest)
local title_max, one_max, two_max = args.title_distance, args.one_anchor_distance, args.two_anchors_distance
local mode, record, source = args.near_duplicates, args.record, args.source
local retention, maxlen = args.retention_ms, args.max_length
local recheck_due, recheck_member = args.recheck_due, args.recheck_member
local recheck_ttl, recheck_trim = int(args.recheck_ttl_ms), int(args.recheck_trim)
local max_records = args.max_index_records

if #KEYS ~= 2 + 2 * G + U * G + A * N + T * N then
  return redis.error_reply("publish.lua: " .. #KEYS .. " KEYS do not match the layout the argument describes")
end

local STATE_VERSION = 1
local FLAG_DUPLICATE = 1
local RECORD = 20

local k_state, k_text, k_url = 3, 3 + G, 3 + 2 * G
local k_anchor = k_url + U * G
local k_title = k_anchor + A * N

-- Helpers ----------------------------------------------------------------------------------

local function popcount32(x)
  x = x - bit.band(bit.rshift(x, 1), 0x55555555)
  x = bit.band(x, 0x33333333) + bit.band(bit.rshift(x, 2), 0x33333333)
  x = bit.band(x + bit.rshift(x, 4), 0x0F0F0F0F)
  x = x + bit.rshift(x, 8)
  x = x + bit.rshift(x, 16)
  return bit.band(x, 0x3F)
end

local q_hi, q_lo = struct.unpack(">I4I4", sim)

-- Differing bits between the query SimHash and the 8 bytes of `data` at `pos`.
local function distance(data, pos)
  local hi, lo = struct.unpack(">I4I4", data, pos)
  return popcount32(bit.bxor(hi, q_hi)) + popcount32(bit.bxor(lo, q_lo))
end

local function tohex(bytes)
  return (string.gsub(bytes, ".", function(c) return string.format("%02x", string.byte(c)) end))
end

-- Whether the i-th URL (0-based) is in any live generation.
local function url_seen(i)
  for g = 0, G - 1 do
    if redis.call("SISMEMBER", KEYS[k_url + i * G + g], url_members[i + 1]) == 1 then return true end
  end
  return false
end

local function mark_seen()
  for i = 0, U - 1 do
    local key = KEYS[k_url + i * G]
    redis.call("SADD", key, url_members[i + 1])
    redis.call("PEXPIRE", key, window_ttl)
  end
  redis.call("SADD", KEYS[k_text], text_member)
  redis.call("PEXPIRE", KEYS[k_text], window_ttl)
end

-- Remember the URLs not seen yet (new aliases of a known page); seen ones stay where they are.
local function remember_urls()
  for i = 0, U - 1 do
    if not url_seen(i) then
      redis.call("SADD", KEYS[k_url + i * G], url_members[i + 1])
      redis.call("PEXPIRE", KEYS[k_url + i * G], window_ttl)
    end
  end
end

local function write_state(flags, revision, cluster)
  local value = struct.pack(">BBI2", STATE_VERSION, flags, revision)
    .. string.sub(text, 1, 4) .. string.sub(title, 1, 4) .. published .. modified .. cluster
  redis.call("HSET", KEYS[k_state], sid, value)
  redis.call("PEXPIRE", KEYS[k_state], window_ttl)
end

-- Append a record to an index string. SET allocates exactly (APPEND would over-allocate);
-- beyond max_records the oldest records go, which bounds a key that a very common phrase
-- or headline would otherwise grow without limit.
local function add_record(key, record)
  local data = (redis.call("GET", key) or "") .. record
  local excess = #data - max_records * RECORD
  if excess > 0 then data = string.sub(data, excess + 1) end
  redis.call("SET", key, data, "PX", near_ttl)
end

local function index(cluster)
  local tail = sim .. cluster
  for a = 0, A - 1 do add_record(KEYS[k_anchor + a * N], anchors[a + 1] .. tail) end
  if T > 0 then add_record(KEYS[k_title], title_key .. tail) end
end

local function append(event, cluster_hex, duplicate_of, revision, changes)
  local extra = ',"event":"' .. event .. '","duplicate_of":'
    .. (duplicate_of and ('"' .. duplicate_of .. '"') or "null")
    .. ',"cluster_id":"' .. cluster_hex .. '","revision":' .. string.format("%d", revision)
    .. ',"changes":[' .. changes .. "]}"
  local now = redis.call("TIME")
  local min_id = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - retention
  local id = redis.call("XADD", KEYS[1], "MINID", "~", string.format("%d", math.max(min_id, 0)), "*",
    "id", sid_hex, "event", event, "source", source,
    "record", string.sub(record, 1, -2) .. extra)
  if maxlen > 0 then
    redis.call("XTRIM", KEYS[1], "MAXLEN", "~", maxlen)
  end
  return id
end

-- The cluster (8 bytes) of the earlier story this text copies, if any.
-- Candidates share a min-hash anchor or the normalized title; the more anchors they share,
-- the farther their SimHash may be (title_distance, one_anchor_distance, two_anchors_distance).
local function nearest()
  local found = {}  -- simhash..cluster -> {anchors = n, bands = {}, title = bool}
  local function scan(key, probe, band)
    local data = redis.call("GET", key)
    if not data then return end
    for pos = 1, #data - RECORD + 1, RECORD do
      if string.sub(data, pos, pos + 3) == probe then
        local id = string.sub(data, pos + 4, pos + 19)
        local entry = found[id]
        if not entry then
          entry = {anchors = 0, bands = {}, title = false}
          found[id] = entry
        end
        if band == nil then
          entry.title = true
        elseif not entry.bands[band] then
          entry.bands[band] = true
          entry.anchors = entry.anchors + 1
        end
      end
    end
  end
  for a = 0, A - 1 do
    for g = 0, N - 1 do scan(KEYS[k_anchor + a * N + g], anchors[a + 1], a) end
  end
  for g = 0, T * N - 1 do scan(KEYS[k_title + g], title_key, nil) end

  local best, best_anchors, best_d = nil, -1, 65
  for id, entry in pairs(found) do
    local limit = -1
    if entry.title then limit = title_max end
    if entry.anchors >= 2 then limit = math.max(limit, two_max)
    elseif entry.anchors == 1 then limit = math.max(limit, one_max) end
    local d = distance(id, 1)
    if d <= limit and (entry.anchors > best_anchors or (entry.anchors == best_anchors and d < best_d)) then
      best, best_anchors, best_d = string.sub(id, 9, 16), entry.anchors, d
    end
  end
  return best
end

-- The decision -----------------------------------------------------------------------------

-- 1. A story known under this id: an update, or nothing.
local state
for g = 0, G - 1 do
  state = redis.call("HGET", KEYS[k_state + g], sid)
  if state then break end
end
if state then
  local _, flags, revision = struct.unpack(">BBI2", state)
  local cluster = string.sub(state, 21, 28)
  local duplicate_of = (bit.band(flags, FLAG_DUPLICATE) ~= 0) and tohex(cluster) or nil
  local changes = {}
  local title_changed = string.sub(state, 9, 12) ~= string.sub(title, 1, 4)
  local text_changed = string.sub(state, 5, 8) ~= string.sub(text, 1, 4)
  if title_changed then table.insert(changes, '"title"') end
  if text_changed then table.insert(changes, '"text"') end
  if string.sub(state, 13, 16) ~= published then table.insert(changes, '"published"') end
  local content_changed = #changes > 0
  if string.sub(state, 17, 20) ~= modified then table.insert(changes, '"modified"') end
  if not content_changed then
    remember_urls()
    return {"", "", tohex(cluster), duplicate_of or "", revision, "unchanged"}
  end
  revision = revision + 1
  mark_seen()
  write_state(flags, revision, cluster)
  if text_changed or title_changed then index(cluster) end
  local id = append("updated", tohex(cluster), duplicate_of, revision, table.concat(changes, ","))
  return {"updated", id, tohex(cluster), duplicate_of or "", revision, "updated"}
end

-- 2. One of its URLs was seen (published under another canonical URL, or marked seen). Its
-- text is not marked seen: it was never published, so it must not hide other outlets' copies.
for i = 0, U - 1 do
  if url_seen(i) then
    remember_urls()
    return {"", "", "", "", 0, "seen-url"}
  end
end

-- 3. The same text, or a near copy, of an earlier story.
local same_text = false
for g = 0, G - 1 do
  if redis.call("SISMEMBER", KEYS[k_text + g], text_member) == 1 then
    same_text = true
    break
  end
end
local cluster = nearest()
if same_text or cluster then
  local reason = same_text and "same-text" or "near-duplicate"
  mark_seen()
  if not cluster then
    -- Seen within the window but no longer in the (shorter) near index: nothing to link to.
    return {"", "", "", "", 0, reason}
  end
  local cluster_hex = tohex(cluster)
  if mode ~= "publish" then
    return {"", "", cluster_hex, cluster_hex, 0, reason}
  end
  write_state(FLAG_DUPLICATE, 1, cluster)
  index(cluster)
  local id = append("duplicate", cluster_hex, cluster_hex, 1, "")
  return {"duplicate", id, cluster_hex, cluster_hex, 1, reason}
end

-- 4. A new story.
mark_seen()
write_state(0, 1, sid)
index(sid)
local id = append("new", sid_hex, nil, 1, "")
if recheck_due > 0 then
  redis.call("ZREMRANGEBYSCORE", KEYS[2], "-inf", "(" .. recheck_trim)
  redis.call("ZADD", KEYS[2], recheck_due, recheck_member)
  redis.call("PEXPIRE", KEYS[2], recheck_ttl)
end
return {"new", id, sid_hex, "", 1, "new"}
