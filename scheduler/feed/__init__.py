"""The article feed, read through Redis consumer groups: the consumer API, replay and retention.

Each downstream job reads the article stream (``Keys.articles``) through a consumer group of
its own, so jobs never see each other's progress. Inside a group, entries are shared between
the group's consumers; an entry stays *pending* until it is acknowledged, and an entry pending
longer than ``FeedSettings.claim_idle`` (its consumer crashed or hangs) is claimed by the next
consumer of the group that reads. Delivery is at-least-once: acknowledge after the work is done.

The stream entry format and the record fields are the contract of ``docs/record.md``;
``record.schema.json`` next to this module is its machine-readable form.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import socket
import time
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any, TypedDict, cast

import redis

from newsmon.scheduler.keys import Keys
from newsmon.settings.model import FeedSettings

logger = logging.getLogger(__name__)

#: Consumer group and consumer names: what is safe in a shell, a log line and a key.
NAME_PATTERN = re.compile(r"[A-Za-z0-9._:-]+")
#: The largest sequence number of a stream ID.
MAX_SEQ = 2**64 - 1
#: How long one blocking read waits at most: between waits, stale entries are claimed.
BLOCK_SLICE = 1.0  # seconds
#: ``groups_info`` counts undelivered entries itself on servers that do not report ``lag``
#: (Redis < 7), up to this many; beyond, ``lag`` is None.
LAG_COUNT_CAP = 100_000

_STREAM_ID = re.compile(r"(\d{1,20})(?:-(\d{1,20}))?")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

# KEYS[1] the stream. ARGV[1] group, ARGV[2] consumer, ARGV[3] min idle (ms), ARGV[4] cursor,
# ARGV[5] count. Claims stale pending entries (XAUTOCLAIM JUSTID) and returns
# {next cursor, {{id, {field, value, ...}}, ...}, {ids no longer in the stream}}. Redis 6.2
# answers a claimed entry that was trimmed with nil and no ID, hence JUSTID and the XRANGE here.
_CLAIM_SCRIPT = """
local reply = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4],
                         'COUNT', ARGV[5], 'JUSTID')
local found, gone = {}, {}
for _, id in ipairs(reply[2]) do
  local entry = redis.call('XRANGE', KEYS[1], id, id)
  if #entry == 1 then found[#found + 1] = entry[1] else gone[#gone + 1] = id end
end
if reply[3] then
  for _, id in ipairs(reply[3]) do gone[#gone + 1] = id end
end
return {reply[1], found, gone}
"""

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


class MalformedRecord(ValueError):
    """A stream entry's ``record`` field is not a JSON object."""


class InvalidRecord(ValueError):
    """A record does not follow the record schema; ``problems`` lists every violation."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid record: " + "; ".join(problems))
        self.problems = problems


class Record(TypedDict):
    """A feed record, schema_version 1 (docs/record.md). Newer records may carry more keys."""

    schema_version: int
    id: str
    event: str
    url: str
    canonical_url: str
    source: str
    title: str | None
    text: str
    description: str | None
    language: str | None
    published: str | None
    published_from: str | None
    modified: str | None
    authors: list[str]
    image: str | None
    tags: list[str]
    sitename: str | None
    access: str
    fetched_at: str
    discovered_via: dict[str, str]
    topic: dict[str, Any] | None
    duplicate_of: str | None
    cluster_id: str
    revision: int
    changes: list[str]


# -- stream IDs and positions ------------------------------------------------------------------
def parse_stream_id(text: str) -> tuple[int, int]:
    """``"<ms>-<seq>"`` (or ``"<ms>"``) as a tuple that sorts like the stream does."""
    match = _STREAM_ID.fullmatch(text)
    if match is None:
        raise ValueError(f'expected a stream ID like 1700000000000-0, got "{text}"')
    ms, seq = int(match[1]), int(match[2] or 0)
    if ms > MAX_SEQ or seq > MAX_SEQ:
        raise ValueError(f'stream ID out of range: "{text}"')
    return ms, seq


def id_time(stream_id: str) -> datetime:
    """When the entry was added to the stream (the ID's milliseconds), in UTC."""
    return _EPOCH + parse_stream_id(stream_id)[0] * _MS


def start_position(start: str) -> str:
    """The group position (its last-delivered ID) from which delivery begins at ``start``.

    ``start`` is ``$`` (entries added from now on), ``0`` (everything the stream holds), a
    stream ID ``<ms>-<seq>`` or ``<ms>`` (that entry and every later one), or an ISO 8601 time
    (every entry added at or after it; a time without a zone is UTC).

    Raises:
        ValueError: ``start`` is none of these.
    """
    start = start.strip()
    if start in ("$", "0"):
        return start
    if _STREAM_ID.fullmatch(start):
        ms, seq = parse_stream_id(start)
    else:
        try:
            when = datetime.fromisoformat(start)
        except ValueError:
            raise ValueError(
                f'expected a stream ID like 1700000000000-0 or an ISO time, got "{start}"'
            ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        # An entry of millisecond m was added during [m, m + 1 ms): round the time up.
        ms, seq = max(0, -(-(when - _EPOCH) // _MS)), 0
    # A group delivers the entries *after* its position: step back by one ID.
    if seq > 0:
        return f"{ms}-{seq - 1}"
    if ms > 0:
        return f"{ms - 1}-{MAX_SEQ}"
    return "0"


def check_name(name: str, what: str = "group") -> str:
    """Return ``name`` if it is a valid group or consumer name, else raise ValueError."""
    if not NAME_PATTERN.fullmatch(name):
        raise ValueError(f'{what} name: expected letters, digits and . _ : -, got "{name}"')
    return name


def default_consumer() -> str:
    """``<host>-<pid>``: unique among running processes, so consumers never share a name."""
    host = re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname()) or "host"
    return f"{host}-{os.getpid()}"


def _str(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _entries(reply: Any) -> list[tuple[str, dict[str, str]]]:
    """The entries of an XREADGROUP reply on one stream (RESP2 list or RESP3 map)."""
    if not reply:
        return []
    if isinstance(reply, Mapping):
        (batch,) = reply.values()
        batch = batch[0] if batch and isinstance(batch[0], list) else batch
    else:
        batch = reply[0][1]
    return [(_str(stream_id), _fields(fields)) for stream_id, fields in batch]


def _fields(raw: Mapping[Any, Any] | Sequence[Any] | None) -> dict[str, str]:
    if not raw:
        return {}
    if isinstance(raw, Mapping):
        return {_str(k): _str(v) for k, v in raw.items()}
    return {_str(raw[i]): _str(raw[i + 1]) for i in range(0, len(raw) - 1, 2)}


# -- items -------------------------------------------------------------------------------------
class FeedItem:
    """One stream entry: its stream ID, its fields, and the record (parsed on first use)."""

    __slots__ = ("_record", "fields", "id")

    def __init__(self, stream_id: str, fields: Mapping[str, str]) -> None:
        self.id = stream_id
        self.fields = fields
        self._record: Record | None = None

    @property
    def raw(self) -> str:
        """The record exactly as published: one JSON object."""
        return self.fields["record"]

    @property
    def record(self) -> Record:
        """The parsed record. Raises MalformedRecord when it is not a JSON object."""
        if self._record is None:
            try:
                value = json.loads(self.raw)
            except ValueError as exc:
                raise MalformedRecord(f"entry {self.id}: record is not JSON: {exc}") from None
            if not isinstance(value, dict):
                raise MalformedRecord(f"entry {self.id}: record is not a JSON object")
            self._record = cast(Record, value)
        return self._record

    def line(self) -> str:
        """The record as one line of JSON (as published), newline included."""
        raw = self.raw
        if "\n" in raw or "\r" in raw:  # pretty-printed by someone: make it one line
            raw = json.dumps(self.record, ensure_ascii=False, separators=(",", ":"))
        return raw + "\n"

    @property
    def event(self) -> str:
        return self.fields.get("event", "")

    @property
    def source(self) -> str:
        return self.fields.get("source", "")

    @property
    def time(self) -> datetime:
        """When the entry was published to the stream (UTC)."""
        return id_time(self.id)

    def __repr__(self) -> str:
        return f"FeedItem({self.id!r}, event={self.event!r}, source={self.source!r})"


# -- the reader --------------------------------------------------------------------------------
class FeedReader:
    """Reads the article stream as one consumer of one consumer group.

    Creating a reader creates the group if it does not exist, positioned by ``from_id``
    (see :func:`start_position`; default ``0``: everything the stream still holds; ``$``: new
    entries only); an existing group keeps its position (use :meth:`seek` to move it).
    ``sources`` and ``events``, when given, restrict what :meth:`read` returns; entries that
    do not match are acknowledged at once, since the group is this reader's. ``claim_stale``
    off makes the reader leave other consumers' pending entries alone (for single-consumer
    groups such as the sinks').

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
        if not entries:
            entries = _entries(self.client.xreadgroup(
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
        idle_ms = max(1, int(self.settings.claim_idle / _MS))
        cursor, found, gone = self._claim(
            keys=[self.stream], args=[self.group, self.consumer, idle_ms, self._claim_cursor, count]
        )
        self._claim_cursor = _str(cursor)
        if self._claim_cursor == "0-0":
            # A whole pass over the pending entries is done: the next can wait a while.
            self._next_claim = now + min(self.settings.claim_idle.total_seconds() / 4, 60.0)
        entries = [(_str(e[0]), _fields(e[1])) for e in found]
        entries += [(_str(i), {}) for i in gone]
        if entries:
            self.counters["claimed"] += len(entries)
            logger.info("Feed group %s: %s claimed %d stale entries", self.group, self.consumer,
                        len(entries))
        entries.sort(key=lambda entry: parse_stream_id(entry[0]))
        return entries

    def _own_pending(self, count: int) -> list[tuple[str, dict[str, str]]]:
        assert self._own_cursor is not None
        entries = _entries(self.client.xreadgroup(
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


# -- groups, retention -------------------------------------------------------------------------
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
        parse_stream_id(_str(first[0][0])) if first else None,
        parse_stream_id(_str(last[0][0])) if last else None,
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
        name, last = _str(group["name"]), _str(group["last-delivered-id"])
        position = parse_stream_id(last)
        lag = group.get("lag")
        if not isinstance(lag, int):
            lag = _fallback_lag(client, stream, ends, last)
        candidates = []
        if int(group["pending"]):
            summary = client.xpending(stream, name)
            if summary["min"] is not None:  # None: acknowledged since XINFO answered
                candidates.append(parse_stream_id(_str(summary["min"])))
        if ends.last is not None and position < ends.last and lag != 0:
            following = client.xrange(stream, f"({last}", "+", count=1)
            if following:
                candidates.append(parse_stream_id(_str(following[0][0])))
        oldest = min(candidates) if candidates else None
        infos.append(
            GroupInfo(
                name=name,
                consumers=int(group["consumers"]),
                pending=int(group["pending"]),
                lag=lag,
                last_delivered=last,
                oldest_unread=f"{oldest[0]}-{oldest[1]}" if oldest else None,
                oldest_unread_age=max(now - (_EPOCH + oldest[0] * _MS), timedelta(0))
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
    cutoff_ms = max(0, int((now - settings.retention - _EPOCH) / _MS))
    removed = int(client.xtrim(stream, minid=f"{cutoff_ms}-0", approximate=approximate))
    if settings.max_length is not None:
        removed += int(client.xtrim(stream, maxlen=settings.max_length, approximate=approximate))
    if removed:
        logger.info("Trimmed %d entries from the article feed", removed)
    idle_ms = consumer_idle / _MS
    for info in groups_info(client, keys, now):
        for consumer in client.xinfo_consumers(stream, info.name):
            if int(consumer["pending"]) == 0 and int(consumer["idle"]) > idle_ms:
                client.xgroup_delconsumer(stream, info.name, _str(consumer["name"]))
                logger.debug("Removed idle consumer %s from feed group %s",
                             _str(consumer["name"]), info.name)
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


# -- the record contract -----------------------------------------------------------------------
@cache
def record_schema() -> dict[str, Any]:
    """The record JSON Schema (2020-12) shipped with newsmon."""
    text = resources.files("newsmon.scheduler").joinpath("record.schema.json").read_text("utf-8")
    return cast(dict[str, Any], json.loads(text))


@cache
def _validator() -> Any:
    try:
        import jsonschema
    except ImportError:  # a runtime extra, not needed to read the feed
        raise RuntimeError("validating records needs the jsonschema package") from None
    schema = record_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def record_problems(obj: object) -> list[str]:
    """Every way ``obj`` breaks the record contract, as ``path: message`` lines (empty: valid).

    Checks the JSON Schema, then the rules it cannot express: ``cluster_id`` equals ``id`` for
    a ``new`` story, a duplicate is not its own original, ``modified`` is not before
    ``published``.
    """
    problems = []
    for error in sorted(_validator().iter_errors(obj), key=lambda e: list(map(str, e.path))):
        path = "/".join(str(part) for part in error.absolute_path) or "(record)"
        problems.append(f"{path}: {error.message}")
    if problems or not isinstance(obj, dict):
        return problems
    if obj["event"] == "new" and obj["cluster_id"] != obj["id"]:
        problems.append("cluster_id: must equal id for a new story")
    if obj["event"] == "duplicate" and obj["duplicate_of"] == obj["id"]:
        problems.append("duplicate_of: a duplicate cannot be its own original")
    if obj["published"] and obj["modified"] and _utc(obj["modified"]) < _utc(obj["published"]):
        problems.append("modified: is before published")
    return problems


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text)


def validate_record(obj: object) -> None:
    """Raise InvalidRecord, listing every problem, unless ``obj`` is a valid record."""
    problems = record_problems(obj)
    if problems:
        raise InvalidRecord(problems)
