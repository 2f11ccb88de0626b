"""Reading the article feed as one consumer of one consumer group: :class:`FeedReader`.

Each downstream job reads the article stream (``Keys.articles``) through a consumer group of
its own, so jobs never see each other's progress. Inside a group, entries are shared between
the group's consumers; an entry stays *pending* until it is acknowledged, and an entry pending
longer than ``FeedSettings.claim_idle`` (its consumer crashed or hangs) is claimed by the next
consumer of the group that reads. Delivery is at-least-once: acknowledge after the work is done.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Collection, Iterable, Iterator

import redis

from newsmon.scheduler.feed.item import FeedItem
from newsmon.scheduler.feed.stream import (
    MS,
    as_str,
    check_name,
    default_consumer,
    entry_fields,
    parse_stream_id,
    reply_entries,
    start_position,
)
from newsmon.scheduler.keys import Keys
from newsmon.settings.model import FeedSettings

logger = logging.getLogger(__name__)

#: How long one blocking read waits at most: between waits, stale entries are claimed.
BLOCK_SLICE = 1.0  # seconds

# KEYS[1] the stream. ARGV[1] group, ARGV[2] consumer, ARGV[3] min idle (ms), ARGV[4] cursor,
# ARGV[5] count. Claims stale pending entries (XAUTOCLAIM JUSTID) and returns
# {next cursor, {{id, {field, value, ...}}, ...}, {ids no longer in the stream}}. Redis 6.2
# answers a claimed entry that was trimmed with nil and no ID, hence JUSTID and the XRANGE here.
#: Dead letters kept per group; older ones are dropped.
DEAD_LETTERS_CAP = 10_000

_CLAIM_SCRIPT = """
local reply = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4],
                         'COUNT', ARGV[5], 'JUSTID')
local found, gone = {}, {}
for _, id in ipairs(reply[2]) do
  -- JUSTID leaves the delivery counter alone; count this delivery like any other.
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
  if pending[1] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id, 'RETRYCOUNT', pending[1][4] + 1, 'JUSTID')
  end
  local entry = redis.call('XRANGE', KEYS[1], id, id)
  if #entry == 1 then found[#found + 1] = entry[1] else gone[#gone + 1] = id end
end
if reply[3] then
  for _, id in ipairs(reply[3]) do gone[#gone + 1] = id end
end
return {reply[1], found, gone}
"""


class FeedReader:
    """Reads the article stream as one consumer of one consumer group.

    Creating a reader creates the group if it does not exist, positioned by ``from_id``
    (see :func:`start_position`; default ``0``: everything the stream still holds; ``$``: new
    entries only); an existing group keeps its position (use :meth:`seek` to move it).
    ``sources`` and ``events``, when given, restrict what :meth:`read` returns; entries that
    do not match are acknowledged at once, since the group is this reader's. ``claim_stale``
    off makes the reader leave other consumers' pending entries alone (for single-consumer
    groups such as the sinks'). An entry delivered more than ``settings.max_deliveries`` times
    without an acknowledgement is moved to :attr:`dead_letters` and acknowledged.

    Not thread-safe: use one reader per thread (they may share the Redis client).
    """

    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        group: str,
        consumer: str | None = None,
        *,
        settings: FeedSettings | None = None,
        from_id: str = "0",
        sources: Collection[str] = (),
        events: Collection[str] = (),
        claim_stale: bool = True,
    ) -> None:
        self.client = client
        self.stream = keys.articles
        #: Where records that were delivered too often without an acknowledgement go (a list).
        self.dead_letters = keys.dead_letters(f"feed:{group}")
        self.group = check_name(group)
        self.consumer = check_name(consumer or default_consumer(), "consumer")
        self.settings = settings or FeedSettings()
        self.sources = frozenset(sources)
        self.events = frozenset(events)
        self.claim_stale = claim_stale
        #: Outcomes by kind: delivered, claimed, filtered, lost, malformed.
        self.counters: Counter[str] = Counter()
        #: How many entries the last :meth:`read` took from Redis, before filtering.
        self.last_read_count = 0
        self._claim = client.register_script(_CLAIM_SCRIPT)
        self._claim_cursor = "0-0"
        self._next_claim = 0.0
        self._own_cursor: str | None = "0"  # None once this consumer's old pending are read
        self.created = self._create_group(start_position(from_id))

    def _create_group(self, position: str) -> bool:
        try:
            self.client.xgroup_create(self.stream, self.group, id=position, mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
            return False
        logger.info("Created feed group %s at %s", self.group, position)
        return True

    def seek(self, start: str) -> None:
        """Move the whole group so that delivery continues at ``start`` (replay or skip).

        Entries already pending stay pending. Affects every consumer of the group.
        """
        position = start_position(start)
        self.client.xgroup_setid(self.stream, self.group, id=position)
        logger.info("Moved feed group %s to %s", self.group, position)

    def read(self, count: int = 100, block_ms: int | None = None) -> list[FeedItem]:
        """Up to ``count`` entries for this consumer, oldest first within each kind.

        In turn: this consumer's own pending entries left from before a restart (first reads
        only), entries of the group pending longer than ``claim_idle`` (their consumer died),
        then new entries, waiting up to ``block_ms`` for some (None: do not wait; 0: wait for
        ever). Returned entries are pending until :meth:`ack`.
        """
        # Own pending first: once this reader has claimed or read anything, its pending
        # entries include those, and reading them again would deliver them twice.
        entries = self._own_pending(count) if self._own_cursor is not None else []
        if not entries:
            entries = self._claim_stale(count)
        if entries:
            entries = self._drop_poison(entries)
        if not entries:
            entries = reply_entries(self.client.xreadgroup(
                self.group, self.consumer, {self.stream: ">"}, count=count, block=block_ms
            ))
        self.last_read_count = len(entries)
        return self._accept(entries)

    def _claim_stale(self, count: int) -> list[tuple[str, dict[str, str]]]:
        if not self.claim_stale:
            return []
        now = time.monotonic()
        if self._claim_cursor == "0-0" and now < self._next_claim:
            return []
        idle_ms = max(1, int(self.settings.claim_idle / MS))
        cursor, found, gone = self._claim(
            keys=[self.stream], args=[self.group, self.consumer, idle_ms, self._claim_cursor, count]
        )
        self._claim_cursor = as_str(cursor)
        if self._claim_cursor == "0-0":
            # A whole pass over the pending entries is done: the next can wait a while.
            self._next_claim = now + min(self.settings.claim_idle.total_seconds() / 4, 60.0)
        entries = [(as_str(e[0]), entry_fields(e[1])) for e in found]
        entries += [(as_str(i), {}) for i in gone]
        if entries:
            self.counters["claimed"] += len(entries)
            logger.info("Feed group %s: %s claimed %d stale entries", self.group, self.consumer,
                        len(entries))
        entries.sort(key=lambda entry: parse_stream_id(entry[0]))
        return entries

    def _drop_poison(self, entries: list[tuple[str, dict[str, str]]]) -> list[tuple[str, dict[str, str]]]:
        """Move redelivered entries past ``max_deliveries`` to the group's dead letters.

        A record that makes its consumer crash every time would otherwise come back for ever
        and hold the group up; it is kept, acknowledged, in a capped list for a person to read.
        """
        limit = self.settings.max_deliveries
        ids = sorted((entry[0] for entry in entries), key=parse_stream_id)
        pending = self.client.xpending_range(self.stream, self.group, ids[0], ids[-1], len(ids) + 1000,
                                             consumername=self.consumer)
        deliveries = {as_str(p["message_id"]): int(p["times_delivered"]) for p in pending}
        poison = [(i, f) for i, f in entries if f and deliveries.get(i, 0) > limit]
        if not poison:
            return entries
        dead = self.dead_letters
        pipe = self.client.pipeline(transaction=True)
        for stream_id, fields in poison:
            pipe.lpush(dead, json.dumps({"stream_id": stream_id, "group": self.group, "consumer": self.consumer,
                                         "deliveries": deliveries[stream_id], "fields": fields}))
            pipe.xack(self.stream, self.group, stream_id)
        pipe.ltrim(dead, 0, DEAD_LETTERS_CAP - 1)
        pipe.execute()
        self.counters["dead"] += len(poison)
        logger.error("Feed group %s: %d records delivered more than %d times without an acknowledgement "
                     "moved to %s", self.group, len(poison), limit, dead)
        dropped = {stream_id for stream_id, _ in poison}
        return [entry for entry in entries if entry[0] not in dropped]

    def _own_pending(self, count: int) -> list[tuple[str, dict[str, str]]]:
        assert self._own_cursor is not None
        entries = reply_entries(self.client.xreadgroup(
            self.group, self.consumer, {self.stream: self._own_cursor}, count=count
        ))
        self._own_cursor = entries[-1][0] if entries else None
        return entries

    def _accept(self, entries: list[tuple[str, dict[str, str]]]) -> list[FeedItem]:
        keep: list[FeedItem] = []
        skip: list[str] = []
        lost = 0
        for stream_id, fields in entries:
            if not fields:  # pending, but trimmed from the stream before anyone acknowledged it
                lost += 1
                skip.append(stream_id)
            elif "record" not in fields:
                self.counters["malformed"] += 1
                logger.error("Feed entry %s has no record field; skipped", stream_id)
                skip.append(stream_id)
            elif (self.sources and fields.get("source") not in self.sources) or (
                self.events and fields.get("event") not in self.events
            ):
                self.counters["filtered"] += 1
                skip.append(stream_id)
            else:
                keep.append(FeedItem(stream_id, fields))
        if skip:
            self.client.xack(self.stream, self.group, *skip)
        if lost:
            self.counters["lost"] += lost
            logger.warning(
                "Feed group %s: %d entries were trimmed from the stream before they were "
                "acknowledged; they are lost for this group", self.group, lost,
            )
        self.counters["delivered"] += len(keep)
        return keep

    def ack(self, items: Iterable[FeedItem | str]) -> int:
        """Acknowledge entries (items or stream IDs); returns how many were still pending."""
        ids = [item if isinstance(item, str) else item.id for item in items]
        if not ids:
            return 0
        return int(self.client.xack(self.stream, self.group, *ids))

    def iter(
        self, *, auto_ack: bool = True, batch: int = 100, timeout: float | None = None
    ) -> Iterator[FeedItem]:
        """Iterate over the group's entries, reading ``batch`` at a time.

        With ``auto_ack``, an item is acknowledged once the loop asks for the next one (in
        batches, so one ``XACK`` per batch), and when the loop is left with ``break`` every
        item before the current one is; without, call :meth:`ack` yourself. ``timeout`` None
        follows the stream for ever; otherwise the iteration ends after ``timeout`` seconds
        without a new entry (0: as soon as nothing is left).
        """
        done: list[FeedItem] = []
        idle_since = time.monotonic()
        try:
            while True:
                if done:
                    self.ack(done)
                    done = []
                wait = BLOCK_SLICE
                if timeout is not None:
                    wait = min(wait, timeout - (time.monotonic() - idle_since))
                # BLOCK 0 would wait for ever: a wait under a millisecond is rounded up.
                items = self.read(batch, block_ms=max(1, int(wait * 1000)) if wait > 0 else None)
                if self.last_read_count:
                    idle_since = time.monotonic()
                elif timeout is not None and time.monotonic() - idle_since >= timeout:
                    return
                for item in items:
                    yield item
                    if auto_ack:
                        done.append(item)
        finally:
            if done:
                self.ack(done)

    def __iter__(self) -> Iterator[FeedItem]:
        return self.iter()
