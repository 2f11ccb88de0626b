"""The consumer groups of the article feed and its retention.

:func:`groups_info` reports each group's lag, pending entries and oldest unread entry;
:func:`trim` applies the retention policy (age, then length) and removes idle consumers;
:func:`retention_warnings` names the groups whose oldest unread entry is about to be trimmed.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis

from newsmon.scheduler.feed.stream import EPOCH, MS, as_str, parse_stream_id
from newsmon.scheduler.keys import Keys
from newsmon.settings.model import FeedSettings

logger = logging.getLogger(__name__)

#: ``groups_info`` counts undelivered entries itself on servers that do not report ``lag``
#: (Redis < 7), up to this many; beyond, ``lag`` is None.
LAG_COUNT_CAP = 100_000

# KEYS[1] the stream. ARGV[1] start, ARGV[2] end (XRANGE syntax), ARGV[3] cap.
# Returns how many entries lie in the range, counting at most the cap. Counting in the server
# spares sending every record over the network just to count it.
_COUNT_SCRIPT = """
local n, start, cap = 0, ARGV[1], tonumber(ARGV[3])
while n < cap do
  local page = redis.call('XRANGE', KEYS[1], start, ARGV[2], 'COUNT', math.min(200, cap - n))
  if #page == 0 then break end
  n = n + #page
  start = '(' .. page[#page][1]
end
return n
"""


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """One consumer group of the article stream, as ``newsmon feed groups`` shows it.

    ``lag`` is how many entries the group has not been delivered yet (None: not known; Redis
    6.2 does not report it and more than ``LAG_COUNT_CAP`` were left to count). ``pending`` are
    delivered but not acknowledged. ``oldest_unread`` is the oldest entry the group has not
    acknowledged, pending or undelivered; its age is what retention must stay ahead of.
    """

    name: str
    consumers: int
    pending: int
    lag: int | None
    last_delivered: str
    oldest_unread: str | None
    oldest_unread_age: timedelta | None


@dataclass(frozen=True, slots=True)
class _StreamEnds:
    length: int
    first: tuple[int, int] | None
    last: tuple[int, int] | None


def _stream_ends(client: redis.Redis, stream: str) -> _StreamEnds:
    first = client.xrange(stream, "-", "+", count=1)
    last = client.xrevrange(stream, "+", "-", count=1)
    return _StreamEnds(
        int(client.xlen(stream)),
        parse_stream_id(as_str(first[0][0])) if first else None,
        parse_stream_id(as_str(last[0][0])) if last else None,
    )


def _count(client: redis.Redis, stream: str, start: str, end: str, cap: int) -> int:
    return int(client.eval(_COUNT_SCRIPT, 1, stream, start, end, cap))


def groups_info(client: redis.Redis, keys: Keys, now: datetime | None = None) -> list[GroupInfo]:
    """Every consumer group of the article stream, with lag, pending and oldest unread entry."""
    now = now or datetime.now(UTC)
    stream = keys.articles
    try:
        groups = client.xinfo_groups(stream)
    except redis.ResponseError:  # no such key: nobody has read or written the feed yet
        return []
    ends = _stream_ends(client, stream)
    infos = []
    for group in groups:
        name, last = as_str(group["name"]), as_str(group["last-delivered-id"])
        position = parse_stream_id(last)
        lag = group.get("lag")
        if not isinstance(lag, int):
            lag = _fallback_lag(client, stream, ends, last)
        candidates = []
        if int(group["pending"]):
            summary = client.xpending(stream, name)
            if summary["min"] is not None:  # None: acknowledged since XINFO answered
                candidates.append(parse_stream_id(as_str(summary["min"])))
        if ends.last is not None and position < ends.last and lag != 0:
            following = client.xrange(stream, f"({last}", "+", count=1)
            if following:
                candidates.append(parse_stream_id(as_str(following[0][0])))
        oldest = min(candidates) if candidates else None
        infos.append(
            GroupInfo(
                name=name,
                consumers=int(group["consumers"]),
                pending=int(group["pending"]),
                lag=lag,
                last_delivered=last,
                oldest_unread=f"{oldest[0]}-{oldest[1]}" if oldest else None,
                oldest_unread_age=max(now - (EPOCH + oldest[0] * MS), timedelta(0))
                if oldest
                else None,
            )
        )
    return infos


def _fallback_lag(client: redis.Redis, stream: str, ends: _StreamEnds, last: str) -> int | None:
    position = parse_stream_id(last)
    if ends.first is None or ends.last is None or position >= ends.last:
        return 0
    if position < ends.first:
        return ends.length
    counted = _count(client, stream, f"({last}", "+", LAG_COUNT_CAP)
    return counted if counted < LAG_COUNT_CAP else None


def trim(
    client: redis.Redis,
    keys: Keys,
    settings: FeedSettings,
    now: datetime | None = None,
    *,
    approximate: bool = True,
    consumer_idle: timedelta = timedelta(days=1),
) -> int:
    """Apply the retention policy to the article stream now; returns how many entries went.

    Entries older than ``settings.retention`` go (``XTRIM MINID``), then the oldest beyond
    ``settings.max_length`` (``XTRIM MAXLEN``). ``approximate`` trims whole stream nodes only,
    which is much cheaper and may keep a few entries longer, never fewer. Consumers that have
    been idle for ``consumer_idle`` and hold no pending entries are removed from their groups
    (every process reading with a default name adds one).
    """
    now = now or datetime.now(UTC)
    stream = keys.articles
    cutoff_ms = max(0, int((now - settings.retention - EPOCH) / MS))
    removed = int(client.xtrim(stream, minid=f"{cutoff_ms}-0", approximate=approximate))
    if settings.max_length is not None:
        removed += int(client.xtrim(stream, maxlen=settings.max_length, approximate=approximate))
    if removed:
        logger.info("Trimmed %d entries from the article feed", removed)
    idle_ms = consumer_idle / MS
    for info in groups_info(client, keys, now):
        for consumer in client.xinfo_consumers(stream, info.name):
            if int(consumer["pending"]) == 0 and int(consumer["idle"]) > idle_ms:
                client.xgroup_delconsumer(stream, info.name, as_str(consumer["name"]))
                # Its note of what it held (a crash leaves one) goes with it: the hash stays bounded.
                client.hdel(keys.feed_holding(info.name), as_str(consumer["name"]))
                logger.debug("Removed idle consumer %s from feed group %s",
                             as_str(consumer["name"]), info.name)
    return removed


def retention_warnings(
    client: redis.Redis,
    keys: Keys,
    settings: FeedSettings,
    now: datetime | None = None,
    *,
    margin: float = 0.2,
) -> list[str]:
    """One line per consumer group whose oldest unread entry is close to being trimmed.

    "Close" is within ``margin`` of the retention: for the default 14 days, an entry older than
    11.2 days; with ``max_length``, an entry with more than (1 - margin) * max_length entries
    at or after it. An entry that is already gone is reported too. ``newsmon status`` shows
    these lines, and the daemon logs them as warnings.
    """
    now = now or datetime.now(UTC)
    stream = keys.articles
    infos = groups_info(client, keys, now)
    if not infos:
        return []
    ends = _stream_ends(client, stream)
    retention = settings.retention
    warnings = []
    for info in infos:
        if info.oldest_unread is None or info.oldest_unread_age is None:
            continue
        oldest = parse_stream_id(info.oldest_unread)
        where = f'feed group "{info.name}": oldest unread entry {info.oldest_unread}'
        if ends.first is None or oldest < ends.first:
            warnings.append(f"{where} has already been trimmed; entries were lost for this group")
            continue
        left = retention - info.oldest_unread_age
        if left <= retention * margin:
            warnings.append(
                f"{where} is {_human(info.oldest_unread_age)} old and will be trimmed "
                + (f"in {_human(left)}" if left > timedelta(0) else "at the next trim")
                + f" (retention {_human(retention)})"
            )
            continue
        if settings.max_length is not None:
            # The entry goes once more than max_length entries follow it: count what precedes
            # it, which near the danger zone is the small side.
            threshold = math.ceil((1 - margin) * settings.max_length)
            room = ends.length - threshold
            if room > 0:
                before = _count(client, stream, "-", f"({info.oldest_unread}", room)
                if before < room:
                    behind = ends.length - before
                    warnings.append(
                        f"{where} has {behind} entries at or after it; the feed keeps "
                        f"{settings.max_length}"
                    )
    return warnings


def _human(delta: timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m" if minutes else f"{seconds}s"
