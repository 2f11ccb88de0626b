"""Retention: trimming by age and length, and warnings before a group loses entries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import redis

from newsmon.scheduler.feed import FeedReader, id_time, retention_warnings, trim
from newsmon.scheduler.keys import Keys
from newsmon.settings.model import FeedSettings
from tests.test_feed_support import BASE_MS, publish_many, wait_for

DAY_MS = 86_400_000


def _kept(client: redis.Redis, keys: Keys) -> list[str]:
    entries: Any = client.xrange(keys.articles)
    return [entry[0].decode() for entry in entries]
TWO_WEEKS = FeedSettings()  # the default retention: 14 days


def test_trim_by_age_removes_exactly_the_old(redis_client: redis.Redis, keys: Keys) -> None:
    """An exact trim drops entries older than the retention and keeps the rest."""
    old = publish_many(redis_client, keys, 3, at_ms=BASE_MS, step_ms=DAY_MS)
    recent = publish_many(redis_client, keys, 2, at_ms=BASE_MS + 15 * DAY_MS, step_ms=DAY_MS)
    now = id_time(recent[-1])  # 16 days after the first entry
    assert trim(redis_client, keys, TWO_WEEKS, now, approximate=False) == 2
    assert _kept(redis_client, keys) == old[2:] + recent


def test_approximate_trim_never_cuts_into_the_retention(redis_client: redis.Redis, keys: Keys) -> None:
    """The cheap trim removes whole old nodes and nothing younger than the retention."""
    publish_many(redis_client, keys, 300, at_ms=BASE_MS, step_ms=1)
    recent = publish_many(redis_client, keys, 5, at_ms=BASE_MS + 20 * DAY_MS)
    removed = trim(redis_client, keys, TWO_WEEKS, id_time(recent[-1]))
    assert 200 <= removed <= 300
    assert _kept(redis_client, keys)[-5:] == recent


def test_trim_by_length(redis_client: redis.Redis, keys: Keys) -> None:
    """With max_length, only the newest entries are kept."""
    ids = publish_many(redis_client, keys, 10, at_ms=BASE_MS)
    settings = FeedSettings(max_length=4)
    assert trim(redis_client, keys, settings, id_time(ids[-1]), approximate=False) == 6
    assert _kept(redis_client, keys) == ids[6:]


def test_trim_forgets_idle_consumers_without_pending(redis_client: redis.Redis, keys: Keys) -> None:
    """Long-idle consumers holding nothing are removed; one with pending entries stays."""
    ids = publish_many(redis_client, keys, 2)
    done = FeedReader(redis_client, keys, "g", "done")
    done.ack(done.read(1))
    FeedReader(redis_client, keys, "g", "holding").read(1)

    def consumers() -> set[str]:
        trim(redis_client, keys, TWO_WEEKS, id_time(ids[0]), consumer_idle=timedelta(0))
        return {c["name"].decode() for c in redis_client.xinfo_consumers(keys.articles, "g")}

    wait_for(lambda: consumers() == {"holding"}, what="the idle consumer to be removed")


def test_no_warning_while_groups_keep_up(redis_client: redis.Redis, keys: Keys) -> None:
    """A group reading recent entries, or fully caught up, gives no warning."""
    ids = publish_many(redis_client, keys, 5, at_ms=BASE_MS)
    reader = FeedReader(redis_client, keys, "fresh", "c")
    reader.ack(reader.read(2))
    caught_up = FeedReader(redis_client, keys, "done", "c")
    caught_up.ack(caught_up.read(100))
    assert retention_warnings(redis_client, keys, TWO_WEEKS, id_time(ids[-1]) + timedelta(days=3)) == []


def test_warning_when_the_oldest_unread_nears_the_retention(redis_client: redis.Redis, keys: Keys) -> None:
    """Once a group's oldest unread entry is within the margin of retention, it is named."""
    ids = publish_many(redis_client, keys, 5, at_ms=BASE_MS)
    reader = FeedReader(redis_client, keys, "slow", "c")
    reader.ack(reader.read(1))
    start = id_time(ids[1])
    assert retention_warnings(redis_client, keys, TWO_WEEKS, start + timedelta(days=11)) == []
    (warning,) = retention_warnings(redis_client, keys, TWO_WEEKS, start + timedelta(days=12))
    assert warning == (
        f'feed group "slow": oldest unread entry {ids[1]} is 12d old and will be trimmed in 2d '
        "(retention 14d)"
    )
    (late,) = retention_warnings(redis_client, keys, TWO_WEEKS, start + timedelta(days=15))
    assert late.endswith("will be trimmed at the next trim (retention 14d)")


def test_pending_entries_count_as_unread(redis_client: redis.Redis, keys: Keys) -> None:
    """An old pending entry triggers the warning even though later ones were acknowledged."""
    ids = publish_many(redis_client, keys, 5, at_ms=BASE_MS)
    reader = FeedReader(redis_client, keys, "g", "c")
    items = reader.read(5)
    reader.ack(items[1:])
    (warning,) = retention_warnings(redis_client, keys, TWO_WEEKS, id_time(ids[0]) + timedelta(days=13))
    assert f"oldest unread entry {ids[0]}" in warning


def test_warning_when_entries_were_already_lost(redis_client: redis.Redis, keys: Keys) -> None:
    """A group whose pending entry has been trimmed is told it lost entries."""
    ids = publish_many(redis_client, keys, 3, at_ms=BASE_MS)
    FeedReader(redis_client, keys, "g", "c").read(1)
    redis_client.xtrim(keys.articles, minid=ids[1], approximate=False)
    (warning,) = retention_warnings(redis_client, keys, TWO_WEEKS, id_time(ids[-1]))
    assert warning == f'feed group "g": oldest unread entry {ids[0]} has already been trimmed; ' \
        "entries were lost for this group"


def test_warning_by_length(redis_client: redis.Redis, keys: Keys) -> None:
    """With max_length, a group with most of the kept entries still to read is warned."""
    ids = publish_many(redis_client, keys, 10, at_ms=BASE_MS)
    settings = FeedSettings(max_length=10)
    ahead = FeedReader(redis_client, keys, "ahead", "c")
    ahead.ack(ahead.read(3))  # 7 entries left to read: fine
    behind = FeedReader(redis_client, keys, "behind", "c")
    behind.ack(behind.read(1))  # 9 left: within 20% of being trimmed
    now = id_time(ids[-1])
    (warning,) = retention_warnings(redis_client, keys, settings, now)
    assert warning == f'feed group "behind": oldest unread entry {ids[1]} has 9 entries at or ' \
        "after it; the feed keeps 10"
