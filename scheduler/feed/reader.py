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
from collections import Counter, deque
from collections.abc import Collection, Iterable, Iterator
from types import TracebackType

import redis

from newsmon.scheduler.feed.deadletters import DEAD_LETTERS_CAP, add_dead_letter, dead_letter_key, now_text
from newsmon.scheduler.feed.item import FeedItem, entry_problem
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
#: How long a consumer's "what I hold" note outlives its last read.
HOLDING_TTL = 7 * 24 * 3600  # seconds

# KEYS[1] the stream, KEYS[2] the group's holding hash (Keys.feed_holding).
# ARGV[1] group, ARGV[2] this consumer, ARGV[3] mode: "own" (this consumer's pending entries, left
# by an earlier run under its name) or "stale" (other consumers' entries idle >= ARGV[6] ms),
# ARGV[4] XPENDING start ("-" or "(<id>"), ARGV[5] count, ARGV[6] min idle (ms, "stale" only).
# Takes the entries over and *sets* each one's delivery counter (XCLAIM RETRYCOUNT .. JUSTID,
# which does not bump it): unchanged, plus one only when the consumer that held it had been
# handed that entry alone and did not stop cleanly (its field in KEYS[2] names the entry). So
# the counter is 1 + the failures the entry can be blamed for: restarting under the same name,
# or leaving records unread (`| head`), counts nothing. An entry is a *suspect* (value 1) when
# its holder did not stop cleanly. Returns {last ID looked at or "", {{id, fields, counter,
# suspect}, ...}, {IDs no longer in the stream}}.
_TAKE_SCRIPT = """
local page
if ARGV[3] == 'own' then
  page = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[4], '+', ARGV[5], ARGV[2])
else
  page = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[6], ARGV[4], '+', ARGV[5])
end
local found, gone, last = {}, {}, ''
for _, p in ipairs(page) do
  local id, owner, count = p[1], p[2], tonumber(p[4])
  last = id
  if ARGV[3] == 'own' or owner ~= ARGV[2] then
    local held = redis.call('HGET', KEYS[2], owner)
    if held == id then count = count + 1 end
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id, 'RETRYCOUNT', count, 'JUSTID')
    local entry = redis.call('XRANGE', KEYS[1], id, id)
    if #entry == 1 then
      found[#found + 1] = {id, entry[1][2], count, held and 1 or 0}
    else
      gone[#gone + 1] = id
    end
  end
end
if ARGV[3] == 'own' and #page > 0 then
  -- This run holds them now; the note of the run before is spent (never blamed twice).
  redis.call('HSET', KEYS[2], ARGV[2], '*')
end
return {last, found, gone}
"""

#: A stream entry as read: stream ID, fields, delivery counter (1 + failures blamed on it).
_Taken = tuple[str, dict[str, str], int]


class FeedReader:
    """Reads the article stream as one consumer of one consumer group.

    Creating a reader creates the group if it does not exist, positioned by ``from_id``
    (see :func:`start_position`; default ``0``: everything the stream still holds; ``$``: new
    entries only); an existing group keeps its position (use :meth:`seek` to move it).
    ``sources`` and ``events``, when given, restrict what :meth:`read` returns; entries that
    do not match are acknowledged at once, since the group is this reader's. ``claim_stale``
    off makes the reader leave other consumers' pending entries alone (for single-consumer
    groups such as the sinks').

    Poison never blocks the group: an entry that is malformed (see :func:`entry_problem`) is
    moved to :attr:`dead_letters` and acknowledged the first time it is read, alone; an entry
    whose consumers failed ``settings.max_deliveries`` times while holding it alone goes there
    too. Entries left pending by a consumer that failed are handed out one at a time, so that
    a failure is blamed on one entry only. Call :meth:`close` (or use the reader as a context
    manager) when stopping cleanly: what it still holds is then not counted as a failure.

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
        self.group = check_name(group)
        #: Where malformed entries and entries that kept failing go (a capped list).
        self.dead_letters = dead_letter_key(keys, group)
        self.consumer = check_name(consumer or default_consumer(), "consumer")
        self.settings = settings or FeedSettings()
        self.sources = frozenset(sources)
        self.events = frozenset(events)
        self.claim_stale = claim_stale
        #: Outcomes by kind: delivered, claimed, filtered, lost, malformed, dead, requeued.
        self.counters: Counter[str] = Counter()
        #: How many entries the last :meth:`read` took from Redis, before filtering.
        self.last_read_count = 0
        self._holding = keys.feed_holding(group)
        self._requeue = keys.feed_requeue(group)
        self._take = client.register_script(_TAKE_SCRIPT)
        self._claim_cursor = "-"
        self._next_claim = 0.0
        self._own_cursor: str | None = "-"  # None once this consumer's old pending are read
        self._suspects: deque[_Taken] = deque()  # handed out one at a time
        self._requeued_out: set[str] = set()  # requeued entries handed out, not acknowledged
        self.created = self._create_group(start_position(from_id))
        # Listed in its group from the start (a blocked XREADGROUP does not create it).
        client.xgroup_createconsumer(self.stream, self.group, self.consumer)

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

        In turn: entries left pending by a consumer that failed (one at a time), this
        consumer's own pending entries left from before a restart (first reads only), entries
        of the group pending longer than ``claim_idle`` (their consumer died), dead letters
        requeued for the group, then new entries, waiting up to ``block_ms`` for some (None: do
        not wait; 0: wait for ever). Returned entries are pending until :meth:`ack`.
        """
        self.last_read_count = 0
        items = self._next_suspect()
        # A stage whose entries were all dead-lettered, trimmed or filtered out gives way to the next.
        if not items and self._own_cursor is not None:
            items = self._take_pending("own", count)
        if not items:
            items = self._take_pending("stale", count)
        if not items:
            items = self._take_requeued(count)
        if not items:
            entries = reply_entries(self.client.xreadgroup(
                self.group, self.consumer, {self.stream: ">"}, count=count, block=block_ms
            ))
            self.last_read_count += len(entries)
            items = self._accept([(stream_id, fields, 1) for stream_id, fields in entries])
        if items:
            self._note_holding(items[0].id if len(items) == 1 else "*")
        self.counters["delivered"] += len(items)
        return items

    def _note_holding(self, value: str) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(self._holding, self.consumer, value)
        pipe.expire(self._holding, HOLDING_TTL)
        pipe.execute()

    def _next_suspect(self) -> list[FeedItem] | None:
        while self._suspects:
            self.last_read_count += 1
            items = self._accept([self._suspects.popleft()])
            if items:
                return items
        return None

    def _take_pending(self, mode: str, count: int) -> list[FeedItem] | None:
        """Own pending entries (``own``) or other consumers' stale ones (``stale``), or None."""
        if mode == "own":
            assert self._own_cursor is not None
            cursor = self._own_cursor
            idle_ms = 0
        else:
            if not self.claim_stale:
                return None
            now = time.monotonic()
            if self._claim_cursor == "-" and now < self._next_claim:
                return None
            cursor = self._claim_cursor
            idle_ms = max(1, int(self.settings.claim_idle / MS))
        last, found, gone = self._take(keys=[self.stream, self._holding],
                                       args=[self.group, self.consumer, mode, cursor, count, idle_ms])
        last = as_str(last)
        if mode == "own":
            self._own_cursor = f"({last}" if last else None
        else:
            self._claim_cursor = f"({last}" if last else "-"
            if not last:  # a whole pass over the pending entries is done: the next can wait
                self._next_claim = time.monotonic() + min(self.settings.claim_idle.total_seconds() / 4, 60.0)
        taken = [(as_str(e[0]), entry_fields(e[1]), int(e[2]), bool(int(e[3]))) for e in found]
        entries: list[_Taken] = [(i, f, n) for i, f, n, _ in taken]
        entries += [(as_str(i), {}, 0) for i in gone]
        if not entries:  # none, or (stale) only this consumer's own
            return None
        if mode == "stale":
            self.counters["claimed"] += len(entries)
            logger.info("Feed group %s: %s claimed %d stale entries", self.group, self.consumer, len(entries))
        entries.sort(key=lambda entry: parse_stream_id(entry[0]))
        if any(suspect for *_, suspect in taken):
            # Their consumer failed holding them: one at a time, so a failure has one culprit.
            self._suspects.extend(entries)
            return self._next_suspect()
        self.last_read_count += len(entries)
        return self._accept(entries)

    def _take_requeued(self, count: int) -> list[FeedItem] | None:
        stored = self.client.hgetall(self._requeue)
        if not stored:
            return None
        waiting = sorted((as_str(k) for k in stored if as_str(k) not in self._requeued_out), key=parse_stream_id)
        if not waiting:
            return None
        values = {as_str(k): v for k, v in stored.items()}
        entries: list[_Taken] = []
        pipe = self.client.pipeline(transaction=False)
        for stream_id in waiting[:count]:
            try:
                value = json.loads(as_str(values[stream_id]))
                fields = {str(k): str(v) for k, v in value["fields"].items()}
                deliveries = int(value.get("deliveries", 0)) + 1
            except (ValueError, KeyError, TypeError, AttributeError):
                fields, deliveries = {"unreadable requeued entry": "1"}, 1
            pipe.hset(self._requeue, stream_id,
                      json.dumps({"fields": fields, "deliveries": deliveries}, ensure_ascii=False))
            entries.append((stream_id, fields, deliveries))
            self._requeued_out.add(stream_id)
        pipe.execute()
        self.counters["requeued"] += len(entries)
        self.last_read_count += len(entries)
        return self._accept(entries)

    def _accept(self, entries: list[_Taken]) -> list[FeedItem]:
        """The deliverable items among ``entries``; the others are acknowledged (trimmed,
        filtered) or dead-lettered (malformed, failed too often), each one alone."""
        keep: list[FeedItem] = []
        skip: list[str] = []
        lost = 0
        for stream_id, fields, deliveries in entries:
            if not fields:  # pending, but trimmed from the stream before anyone acknowledged it
                lost += 1
                skip.append(stream_id)
                continue
            problem, record = entry_problem(fields)
            if problem is not None:
                self.counters["malformed"] += 1
                self._dead_letter(stream_id, fields, deliveries, f"malformed entry: {problem}")
            elif deliveries > self.settings.max_deliveries:
                self._dead_letter(stream_id, fields, deliveries,
                                  f"its consumers failed {deliveries - 1} times while holding it alone")
            elif (self.sources and fields.get("source") not in self.sources) or (
                self.events and fields.get("event") not in self.events
            ):
                self.counters["filtered"] += 1
                skip.append(stream_id)
            else:
                keep.append(FeedItem(stream_id, fields, record))
        if skip:
            self.ack(skip)
        if lost:
            self.counters["lost"] += lost
            logger.warning(
                "Feed group %s: %d entries were trimmed from the stream before they were "
                "acknowledged; they are lost for this group", self.group, lost,
            )
        return keep

    def _dead_letter(self, stream_id: str, fields: dict[str, str], deliveries: int, error: str) -> None:
        """Move one entry to the group's dead letters and acknowledge it, in one transaction."""
        letter = {"group": self.group, "consumer": self.consumer, "stream_id": stream_id,
                  "failed_at": now_text(), "deliveries": deliveries, "error": error, "fields": fields}
        pipe = self.client.pipeline(transaction=True)
        add_dead_letter(pipe, self.dead_letters, letter, DEAD_LETTERS_CAP)
        if stream_id in self._requeued_out:
            pipe.hdel(self._requeue, stream_id)
        else:
            pipe.xack(self.stream, self.group, stream_id)
        pipe.execute()
        self._requeued_out.discard(stream_id)
        self.counters["dead"] += 1
        logger.warning("Feed group %s: entry %s dead-lettered (%s); kept in %s", self.group,
                       stream_id, error, self.dead_letters)

    def ack(self, items: Iterable[FeedItem | str]) -> int:
        """Acknowledge entries (items or stream IDs); returns how many were still pending."""
        ids = [item if isinstance(item, str) else item.id for item in items]
        requeued = [i for i in ids if i in self._requeued_out]
        ids = [i for i in ids if i not in self._requeued_out]
        done = 0
        if requeued:
            done += int(self.client.hdel(self._requeue, *requeued))
            self._requeued_out.difference_update(requeued)
        if ids:
            done += int(self.client.xack(self.stream, self.group, *ids))
        return done

    def is_pending(self, stream_id: str) -> bool:
        """Whether an entry is still unacknowledged in the group (or requeued for it)."""
        if self.client.xpending_range(self.stream, self.group, min=stream_id, max=stream_id, count=1):
            return True
        return bool(self.client.hexists(self._requeue, stream_id))

    def close(self) -> None:
        """Stop cleanly: what this consumer still holds is left pending, not blamed for a failure."""
        self.client.hdel(self._holding, self.consumer)

    def __enter__(self) -> FeedReader:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        # An exception out of the block is a failure: the entry held alone is to blame for it.
        if kind is None:
            self.close()

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
