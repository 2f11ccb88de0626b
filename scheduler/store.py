"""The story store: which pages were seen, which stories were published, and the article stream.

One Lua script (``lua/publish.lua``) decides whether a fetched article is new, a copy of an
earlier story, an update of a published one, or nothing, and appends the record in the same
atomic step, so that "seen" and "published" always change together, whatever the number of
workers. Python computes every key name (so the script is cluster-correct) and fingerprint.

Each script takes its keys in KEYS and one JSON object of named fields in ARGV[1]: the
TypedDicts below (``PublishArgs``, ``UnseenArgs``, ``RecheckArgs``) carry the same names as the
header of the script, which documents each one. 64-bit values travel as hex or signed decimal
strings, never as JSON numbers (doubles, exact only up to 2**53).

The decision, in order:

1. The story id (``record["id"]``, by default ``story_id(urls[0])``) is known: if its title,
   text or published date changed, publish ``updated`` (revision + 1, ``changes``), else nothing.
2. One of its URLs was seen (an alias of a published page, or marked seen): nothing.
3. Its exact text was seen, or it is a near copy of an indexed story: ``duplicate`` linked to the
   first story of that cluster (or nothing, with ``near_duplicates: drop``).
4. Otherwise ``new``.

Near copies: candidates are stories that share one of four min-hash *anchors* of the content
(one-permutation min-hash over 6-word shingles: one per band of the hash space) or the
normalized headline; a candidate is a copy when their 64-bit SimHashes (3-word shingles) are
close enough for the evidence: an equal headline, one shared anchor, or two or more (thresholds
below, tuned and measured in ``bench/dedup.py``). A SimHash-only band index (4 x 16 bits) was
measured too: even comparing every pair, SimHash alone reaches recall 0.90 at precision 0.99
on the labelled set, because syndicated copies with a paragraph cut or added differ in 10-20
of 64 bits; the anchors find those copies, the SimHash tells them from same-topic stories.

Memory layout (every structure expires with its window; sizes measured by the benchmark):

* Time is cut into generations of a quarter of a window. A structure is written in the current
  generation's key, which expires at the generation's end plus the window, and read in every
  generation still alive (five). An entry is so remembered for between ``window`` and
  ``1.25 * window``, by Redis's own key expiry: no sweeper.
* Seen URLs and seen texts: 64-bit BLAKE2b hashes as signed decimal members of intset-encoded
  sets (8 bytes each), in ``url_buckets`` buckets so that each set stays under
  ``set-max-intset-entries``.
* Story state (revision, cluster, change digests): 28 packed bytes per story in bucketed hashes.
* Anchor and title indexes: 20-byte records (4-byte key, SimHash, cluster id) in one string per
  (near generation, band, bucket), read whole by the script and capped in length.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, TypedDict

import redis

from newsmon.crawler.fingerprint import Fingerprints, hash64, story_id, to_signed
from newsmon.scheduler.dropped import DroppedStubs
from newsmon.scheduler.keys import Keys
from newsmon.settings.model import DedupSettings, FeedSettings

logger = logging.getLogger(__name__)

#: A window is cut into this many generations; one more is alive while the oldest expires.
GENERATIONS = 4
#: Candidates for "near copy" share a min-hash anchor or the normalized headline with an
#: indexed story; the more evidence, the farther apart their SimHashes may be (in bits of 64).
#: Tuned on the labelled set of bench/dedup.py, where distinct stories of one topic stay at
#: 20 bits and more (see the report it prints).
TITLE_DISTANCE = 22  # an equal headline
ONE_ANCHOR_DISTANCE = 17  # one shared anchor
TWO_ANCHORS_DISTANCE = 24  # two or more shared anchors
#: Buckets of the anchor and title indexes, per band and generation: url_buckets / 4 (1024 by
#: default: tens of records per key at 100,000 stories in the near window).
NEAR_BUCKETS_DIVISOR = 4
#: Records one index string keeps at most (20 bytes each): bounds a hot key (a boilerplate
#: phrase or a generic headline) in memory and in scan time.
MAX_INDEX_RECORDS = 2048

#: How long a re-check may stay overdue (no worker served a poll of its source) before it is
#: dropped, on top of the last ``dedup.recheck`` step: the schedule's TTL and trim horizon.
#: Without it, short steps (``[1s]``) lost their entries before any worker could serve them.
RECHECK_GRACE = 24 * 3600

#: Fields the publish script adds to a record; the caller must not set them.
DECIDED_FIELDS = frozenset({"event", "duplicate_of", "cluster_id", "revision", "changes"})
_STORY_ID = re.compile(r"[0-9a-f]{16}\Z")
_NO_DIGEST = b"\0\0\0\0"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What :meth:`StoryStore.publish` decided."""

    event: str | None  # "new", "duplicate", "updated", or None (nothing published)
    stream_id: str | None
    story_id: str
    cluster_id: str | None
    duplicate_of: str | None
    revision: int
    reason: str  # new, updated, unchanged, seen-url, same-text, near-duplicate


class PublishArgs(TypedDict):
    """The argument of ``lua/publish.lua``; its header says what each field means."""

    window_generations: int
    near_generations: int
    window_ttl_ms: int
    near_ttl_ms: int
    story_id: str
    url_members: list[str]
    text_fingerprint: str
    text_member: str
    simhash: str
    title_fingerprint: str | None
    anchors: list[str]
    published_digest: str
    modified_digest: str
    title_distance: int
    one_anchor_distance: int
    two_anchors_distance: int
    near_duplicates: str
    record: str
    source: str
    retention_ms: int
    max_length: int
    recheck_due: int
    recheck_member: str
    recheck_ttl_ms: int
    recheck_trim: int
    max_index_records: int


class UnseenArgs(TypedDict):
    """The argument of ``lua/unseen.lua``."""

    generations: int
    members: list[str]


class RecheckArgs(TypedDict):
    """The argument of ``lua/recheck.lua``."""

    now: int
    limit: int
    ttl_ms: int
    offsets: list[int]


def _argument(fields: PublishArgs | UnseenArgs | RecheckArgs) -> str:
    """A script's one argument. Not ASCII-escaped: the record's text reaches the script as it is."""
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _hex64(value: int) -> str:
    return f"{value:016x}"


def _script(name: str) -> str:
    return resources.files("newsmon.scheduler").joinpath(f"lua/{name}").read_text(encoding="utf-8")


class _Generations:
    """Time generations of one window: which keys are alive and when the current one expires."""

    def __init__(self, window_seconds: float) -> None:
        self.window = max(1, int(window_seconds))
        self.length = max(1, self.window // GENERATIONS)

    def alive(self, now: float) -> list[int]:
        """Generations whose keys may still exist, current first."""
        current = int(now // self.length)
        count = math.ceil(self.window / self.length) + 1
        return [g for g in range(current, current - count, -1) if (g + 1) * self.length + self.window > now]

    def ttl_ms(self, generation: int, now: float) -> int:
        """Milliseconds until a key of ``generation`` expires: its end plus the window."""
        return max(1, int(((generation + 1) * self.length + self.window - now) * 1000))


def _digest4(value: Any) -> bytes:
    if value is None:
        return _NO_DIGEST
    return hashlib.blake2b(str(value).encode("utf-8"), digest_size=4).digest()


def _decode(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class StoryStore:
    """Seen URLs, story fingerprints, the near-duplicate index and the article stream.

    Safe to share between threads (redis-py clients are) and between processes: every
    decision is one Lua script.
    """

    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        dedup: DedupSettings = DedupSettings(),  # noqa: B008 - frozen, so a safe default
        feed: FeedSettings = FeedSettings(),  # noqa: B008
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if dedup.near_duplicates not in {"publish", "drop"}:
            raise ValueError(f"dedup.near_duplicates: expected publish or drop, got {dedup.near_duplicates!r}")
        self.client = client
        self.keys = keys
        self.dedup = dedup
        self.feed = feed
        self.clock = clock
        self.buckets = max(1, dedup.url_buckets)
        self.near_buckets = max(1, self.buckets // NEAR_BUCKETS_DIVISOR)
        self._window = _Generations(dedup.window.total_seconds())
        self._near = _Generations(dedup.near_window.total_seconds())
        self._recheck = tuple(sorted(int(d.total_seconds()) for d in dedup.recheck))
        self._publish = client.register_script(_script("publish.lua"))
        self._recheck_due = client.register_script(_script("recheck.lua"))
        self._unseen = client.register_script(_script("unseen.lua"))

    # -- seen URLs -------------------------------------------------------------------------
    def _url_slot(self, url: str) -> tuple[int, str]:
        value = hash64(url)
        return value % self.buckets, str(to_signed(value))

    def unseen(self, urls: Sequence[str]) -> list[str]:
        """The canonical URLs (in order, without repeats) not seen within the window.

        One round trip: a read-only script over the live generations of each URL's bucket.
        """
        wanted = list(dict.fromkeys(urls))
        if not wanted:
            return []
        generations = self._window.alive(self.clock())
        script_keys: list[str] = []
        members: list[str] = []
        for url in wanted:
            bucket, member = self._url_slot(url)
            members.append(member)
            script_keys += [self.keys.seen_urls(g, bucket) for g in generations]
        argument = UnseenArgs(generations=len(generations), members=members)
        flags = _decode(self._unseen(keys=script_keys, args=[_argument(argument)]))
        return [url for url, flag in zip(wanted, flags, strict=True) if flag == "0"]

    def mark_seen(self, urls: Sequence[str]) -> None:
        """Remember URLs of pages that are not to be published (off topic, not articles)."""
        if not urls:
            return
        now = self.clock()
        generation = self._window.alive(now)[0]
        ttl = self._window.ttl_ms(generation, now)
        members: dict[str, list[str]] = {}
        for url in urls:
            bucket, member = self._url_slot(url)
            members.setdefault(self.keys.seen_urls(generation, bucket), []).append(member)
        pipe = self.client.pipeline(transaction=True)
        for key, values in members.items():
            pipe.sadd(key, *values)
            pipe.pexpire(key, ttl)
        pipe.execute()

    # -- publish ---------------------------------------------------------------------------
    def keep_dropped(self, stub: Mapping[str, Any]) -> None:
        """Keep the stub of a story the topic dropped (bounded: see ``newsmon.scheduler.dropped``)."""
        DroppedStubs(self.client, self.keys, clock=self.clock).add(stub)

    def publish(self, record: Mapping[str, Any], fp: Fingerprints) -> Outcome:
        """Decide and, when there is something to publish, append the record: one Lua script.

        ``record`` is the record without ``event``, ``duplicate_of``, ``cluster_id``,
        ``revision`` and ``changes``; its ``id`` defaults to ``story_id(fp.urls[0])``.

        Raises:
            ValueError: the record or the fingerprints are inconsistent.
        """
        argument, script_keys, sid = self._publish_call(record, fp)
        result = self._publish(keys=script_keys, args=[_argument(argument)])
        event, stream_id, cluster, duplicate_of, revision, reason = (_decode(v) for v in result)
        logger.debug("[%s] %s: %s (%s)", record.get("source"), fp.urls[0], event or "not published", reason)
        return Outcome(
            event=event or None,
            stream_id=stream_id or None,
            story_id=sid,
            cluster_id=cluster or None,
            duplicate_of=duplicate_of or None,
            revision=int(revision),
            reason=reason,
        )

    def _publish_call(self, record: Mapping[str, Any], fp: Fingerprints) -> tuple[PublishArgs, list[str], str]:
        if not fp.urls:
            raise ValueError("Fingerprints.urls is empty: a story needs its canonical URL")
        clash = DECIDED_FIELDS.intersection(record)
        if clash:
            raise ValueError(f"record must not carry {sorted(clash)}: the store decides them")
        sid = str(record.get("id") or story_id(fp.urls[0]))
        if not _STORY_ID.match(sid):
            raise ValueError(f"record id {sid!r}: expected 16 lower-case hex digits")
        source = record.get("source")
        if not isinstance(source, str):
            raise ValueError("record source: expected a string")
        body = json.dumps({"id": sid, **record}, ensure_ascii=False, separators=(",", ":"), allow_nan=False)

        now = self.clock()
        window_gens = self._window.alive(now)
        near_gens = self._near.alive(now)
        window_ttl = self._window.ttl_ms(window_gens[0], now)
        near_ttl = self._near.ttl_ms(near_gens[0], now)
        k = self.keys
        urls = list(dict.fromkeys(fp.urls))
        text_bucket = fp.text % self.buckets
        state_bucket = int(sid, 16) % self.buckets
        anchors = [(band, value) for band, value in enumerate(fp.anchors) if value]
        script_keys = [k.articles, k.recheck]
        script_keys += [k.stories(g, state_bucket) for g in window_gens]
        script_keys += [k.seen_texts(g, text_bucket) for g in window_gens]
        url_members = []
        for url in urls:
            bucket, member = self._url_slot(url)
            url_members.append(member)
            script_keys += [k.seen_urls(g, bucket) for g in window_gens]
        for band, value in anchors:
            script_keys += [k.near_band(g, band, value % self.near_buckets) for g in near_gens]
        if fp.title is not None:
            script_keys += [k.title_index(g, fp.title % self.near_buckets) for g in near_gens]

        recheck_due = recheck_trim = recheck_ttl = 0
        recheck_member = ""
        if self._recheck:
            first = int(now)
            recheck_due = first + self._recheck[0]
            recheck_member = json.dumps(
                [sid, record.get("url") or fp.urls[0], source, first, 0], ensure_ascii=False, separators=(",", ":")
            )
            recheck_trim = first - self._recheck[-1] - RECHECK_GRACE
            recheck_ttl = self._recheck_ttl_ms()
        # The script keys an anchor or title in its index string by the value's first 4 bytes
        # (the bucket used the low bits).
        argument = PublishArgs(
            window_generations=len(window_gens),
            near_generations=len(near_gens),
            window_ttl_ms=window_ttl,
            near_ttl_ms=near_ttl,
            story_id=sid,
            url_members=url_members,
            text_fingerprint=_hex64(fp.text),
            text_member=str(to_signed(fp.text)),
            simhash=_hex64(fp.simhash),
            title_fingerprint=None if fp.title is None else _hex64(fp.title),
            anchors=[_hex64(value) for _, value in anchors],
            published_digest=_digest4(record.get("published")).hex(),
            modified_digest=_digest4(record.get("modified")).hex(),
            title_distance=TITLE_DISTANCE,
            one_anchor_distance=ONE_ANCHOR_DISTANCE,
            two_anchors_distance=TWO_ANCHORS_DISTANCE,
            near_duplicates=self.dedup.near_duplicates,
            record=body,
            source=source,
            retention_ms=int(self.feed.retention.total_seconds() * 1000),
            max_length=self.feed.max_length or 0,
            recheck_due=recheck_due,
            recheck_member=recheck_member,
            recheck_ttl_ms=recheck_ttl,
            recheck_trim=recheck_trim,
            max_index_records=MAX_INDEX_RECORDS,
        )
        return argument, script_keys, sid

    # -- rechecks --------------------------------------------------------------------------
    def _recheck_ttl_ms(self) -> int:
        """TTL of the re-check schedule: past its last step, with the grace for overdue entries."""
        return (2 * self._recheck[-1] + RECHECK_GRACE) * 1000

    def recheck_due(self, now: float | None = None, limit: int = 100) -> list[tuple[str, str, str]]:
        """Stories due for another fetch, as ``(story id, url, source)``, at most ``limit``.

        Each is handed out once per step of ``dedup.recheck``: the script removes it and
        schedules the next step, so concurrent callers never get the same one.
        """
        if not self._recheck or limit <= 0:
            return []
        when = self.clock() if now is None else now
        members = self._recheck_due(
            keys=[self.keys.recheck],
            args=[_argument(RecheckArgs(now=int(when), limit=limit, ttl_ms=self._recheck_ttl_ms(),
                                        offsets=list(self._recheck)))],
        )
        due = []
        for member in members:
            sid, url, source, *_ = json.loads(_decode(member))
            due.append((str(sid), str(url), str(source)))
        return due
