"""FeedReader against a real Redis: groups, sharing, acknowledgement, claims, replay, filters."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import redis

from newsmon.scheduler import feed
from newsmon.scheduler.feed import (
    MAX_SEQ,
    FeedItem,
    FeedReader,
    MalformedRecord,
    groups_info,
    id_time,
    start_position,
)
from newsmon.scheduler.feed import groups as feed_groups
from newsmon.scheduler.keys import Keys
from newsmon.settings.model import FeedSettings
from tests.test_feed_support import BASE_MS, make_record, publish, publish_many, wait_for

FAST_CLAIM = FeedSettings(claim_idle=timedelta(milliseconds=50))
NO_CLAIM = FeedSettings(claim_idle=timedelta(hours=1))


def _ids(items: list[feed.FeedItem]) -> list[str]:
    return [item.id for item in items]


def _in_order(ids: list[str]) -> list[str]:
    return sorted(ids, key=feed.parse_stream_id)


@pytest.mark.parametrize(
    ("start", "position"),
    [
        ("$", "$"),
        ("0", "0"),
        ("1700000000000-5", "1700000000000-4"),
        ("1700000000000-0", f"1699999999999-{MAX_SEQ}"),
        ("1700000000000", f"1699999999999-{MAX_SEQ}"),
        ("0-1", "0-0"),
        ("2023-11-14T22:13:20Z", f"1699999999999-{MAX_SEQ}"),
        ("2023-11-14T22:13:20", f"1699999999999-{MAX_SEQ}"),
        ("2023-11-15T00:13:20+02:00", f"1699999999999-{MAX_SEQ}"),
        ("2023-11-14T22:13:20.0004Z", f"1700000000000-{MAX_SEQ}"),
        ("1970-01-01", "0"),
    ],
)
def test_start_position(start: str, position: str) -> None:
    """IDs and times become the group position just before the first entry to deliver."""
    assert start_position(start) == position


@pytest.mark.parametrize("start", ["x", "yesterday", "1700000000000-", "-5", "2024-13-01", ""])
def test_start_position_rejects_nonsense(start: str) -> None:
    """Anything but $, 0, an ID or an ISO time is refused with the expected wording."""
    with pytest.raises(ValueError, match=r"^expected a stream ID like 1700000000000-0 or an ISO time"):
        start_position(start)


def test_id_time() -> None:
    """A stream ID's milliseconds are its time, in UTC."""
    assert id_time("1706450400000-3") == datetime(2024, 1, 28, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize("name", ["has space", "", "ünï", "a/b"])
def test_group_names_are_validated(redis_client: redis.Redis, keys: Keys, name: str) -> None:
    """Group names outside [A-Za-z0-9._:-]+ are refused before touching Redis."""
    with pytest.raises(ValueError, match="group name"):
        FeedReader(redis_client, keys, name, "c")


def test_new_group_from_start_gets_everything(redis_client: redis.Redis, keys: Keys) -> None:
    """A group created at 0 (the default) delivers every retained entry, oldest first."""
    ids = publish_many(redis_client, keys, 5)
    reader = FeedReader(redis_client, keys, "all", "c")
    assert reader.created
    assert _ids(reader.read(10)) == ids


def test_new_group_at_dollar_gets_only_new(redis_client: redis.Redis, keys: Keys) -> None:
    """A group created at $ skips what was published before it."""
    publish_many(redis_client, keys, 3)
    reader = FeedReader(redis_client, keys, "new-only", "c", from_id="$")
    assert reader.read(10) == []
    later = publish_many(redis_client, keys, 2, start=10)
    assert _ids(reader.read(10)) == later


def test_existing_group_keeps_its_position(redis_client: redis.Redis, keys: Keys) -> None:
    """from_id applies at creation only; a second reader continues where the group is."""
    ids = publish_many(redis_client, keys, 4)
    first = FeedReader(redis_client, keys, "g", "a")
    first.ack(first.read(2))
    second = FeedReader(redis_client, keys, "g", "b", from_id="0")
    assert not second.created
    assert _ids(second.read(10)) == ids[2:]


def test_records_are_parsed(redis_client: redis.Redis, keys: Keys) -> None:
    """An item carries the entry's fields and the parsed record."""
    record = make_record(3, source="daily", event="duplicate", cluster=1)
    stream_id = publish(redis_client, keys, record)
    (item,) = FeedReader(redis_client, keys, "g", "c").read(10)
    assert item.id == stream_id
    assert item.record == record
    assert (item.event, item.source) == ("duplicate", "daily")
    assert json.loads(item.raw) == record
    assert item.time == id_time(stream_id)


def test_a_record_that_is_not_json_raises_on_use() -> None:
    """A FeedItem built on a broken record field fails with MalformedRecord when parsed or
    written as a line, so nothing but a JSON object is ever written out."""
    item = FeedItem("1-0", {"id": "x", "event": "new", "source": "s", "record": "oops"})
    with pytest.raises(MalformedRecord):
        _ = item.record
    with pytest.raises(MalformedRecord):
        item.line()
    with pytest.raises(MalformedRecord):
        FeedItem("1-0", {"id": "x"}).line()


@pytest.mark.parametrize(("fields", "reason"), [
    ({"id": "x", "event": "new"}, "no record field"),
    ({"id": "x", "event": "new", "source": "s", "record": "{oops"}, "record is not JSON"),
    ({"id": "x", "event": "new", "source": "s", "record": "oops"}, "record is not JSON"),
    ({"id": "x", "event": "new", "source": "s", "record": "[1, 2]"}, "record is a JSON list, not an object"),
    ({"id": "x", "event": "new", "source": "s", "record": '{"schema_version": 1, "id": 7}'},
     "record fields id, event, source are not strings"),
    ({"id": "x", "event": "new", "source": "s",
      "record": '{"schema_version": 1, "id": "x", "event": "new", "source": "s"}'},
     "record lacks required fields"),
])
def test_a_malformed_entry_is_dead_lettered_alone_on_first_sight(
    redis_client: redis.Redis, keys: Keys, fields: dict[str, str], reason: str
) -> None:
    """A malformed entry among valid ones is dead-lettered at once with its reason, acknowledged,
    and the valid entries of the same batch are returned."""
    before = publish_many(redis_client, keys, 2)
    bad = redis_client.xadd(keys.articles, fields).decode()
    after = publish_many(redis_client, keys, 2, start=2)
    reader = FeedReader(redis_client, keys, "g", "c")
    assert _ids(reader.read(10)) == before + after
    (letter,) = [json.loads(x) for x in redis_client.lrange(reader.dead_letters, 0, -1)]
    assert (letter["stream_id"], letter["deliveries"], letter["fields"]) == (bad, 1, fields)
    assert letter["error"].startswith(f"malformed entry: {reason}")
    assert reader.counters["malformed"] == 1
    assert groups_info(redis_client, keys)[0].pending == 4  # the good ones, unacknowledged


def test_a_newer_schema_version_is_not_judged_by_v1_fields(redis_client: redis.Redis, keys: Keys) -> None:
    """A record of a later schema_version is delivered: consumers check schema_version themselves."""
    record = {"schema_version": 2, "id": "x", "event": "new", "source": "s"}
    redis_client.xadd(keys.articles, {"id": "x", "event": "new", "source": "s", "record": json.dumps(record)})
    (item,) = FeedReader(redis_client, keys, "g", "c").read(10)
    assert item.record == record


def test_consumers_of_one_group_share_entries(redis_client: redis.Redis, keys: Keys) -> None:
    """Two consumers of a group split the entries: none twice, none missed."""
    ids = publish_many(redis_client, keys, 20)
    a = FeedReader(redis_client, keys, "g", "a")
    b = FeedReader(redis_client, keys, "g", "b")
    got_a: list[str] = []
    got_b: list[str] = []
    while True:
        batch_a, batch_b = a.read(3), b.read(4)
        if not batch_a and not batch_b:
            break
        got_a += _ids(batch_a)
        got_b += _ids(batch_b)
        a.ack(batch_a)
        b.ack(batch_b)
    assert not set(got_a) & set(got_b)
    assert _in_order(got_a + got_b) == ids
    assert (len(got_a), len(got_b)) == (9, 11)


def test_two_groups_each_get_everything(redis_client: redis.Redis, keys: Keys) -> None:
    """Groups are independent: each sees every entry."""
    ids = publish_many(redis_client, keys, 7)
    one = FeedReader(redis_client, keys, "one", "c")
    two = FeedReader(redis_client, keys, "two", "c")
    assert _ids(one.read(100)) == ids
    assert _ids(two.read(100)) == ids


def test_ack_clears_pending(redis_client: redis.Redis, keys: Keys) -> None:
    """Read entries are pending until acknowledged."""
    publish_many(redis_client, keys, 3)
    reader = FeedReader(redis_client, keys, "g", "c")
    items = reader.read(10)
    assert groups_info(redis_client, keys)[0].pending == 3
    assert reader.ack(items) == 3
    assert groups_info(redis_client, keys)[0].pending == 0
    assert reader.ack([]) == 0


def test_stale_pending_entries_are_claimed(redis_client: redis.Redis, keys: Keys) -> None:
    """Entries another consumer left unacknowledged past claim_idle are delivered again."""
    ids = publish_many(redis_client, keys, 6)
    dead = FeedReader(redis_client, keys, "g", "dead", settings=FAST_CLAIM)
    assert _ids(dead.read(4)) == ids[:4]
    alive = FeedReader(redis_client, keys, "g", "alive", settings=FAST_CLAIM)
    got: list[str] = []

    def all_delivered() -> bool:
        items = alive.read(10)
        alive.ack(items)
        got.extend(_ids(items))
        return _in_order(got) == ids

    wait_for(all_delivered, what="the stale entries to be claimed")
    assert alive.counters["claimed"] == 4
    assert len(got) == 6


def test_fresh_pending_entries_are_not_claimed(redis_client: redis.Redis, keys: Keys) -> None:
    """Within claim_idle, another consumer's pending entries are left alone."""
    ids = publish_many(redis_client, keys, 4)
    FeedReader(redis_client, keys, "g", "busy", settings=NO_CLAIM).read(2)
    other = FeedReader(redis_client, keys, "g", "other", settings=NO_CLAIM)
    assert _ids(other.read(10)) == ids[2:]


def test_restarted_consumer_gets_its_own_pending_first(redis_client: redis.Redis, keys: Keys) -> None:
    """A consumer restarted under the same name after a clean stop resumes its unacknowledged
    entries at once, in batches, without counting them as failed deliveries."""
    ids = publish_many(redis_client, keys, 5)
    with FeedReader(redis_client, keys, "g", "worker", settings=NO_CLAIM) as first:
        first.read(3)
    restarted = FeedReader(redis_client, keys, "g", "worker", settings=NO_CLAIM)
    assert _ids(restarted.read(2)) == ids[:2]
    assert _ids(restarted.read(2)) == ids[2:3]
    assert _ids(restarted.read(10)) == ids[3:]
    assert restarted.read(10) == []
    pending = redis_client.xpending_range(keys.articles, "g", "-", "+", 10)
    assert [p["times_delivered"] for p in pending] == [1] * 5


def test_a_crashed_consumers_pending_come_back_one_at_a_time(redis_client: redis.Redis, keys: Keys) -> None:
    """After a failure with a batch in hand, the batch comes back one entry per read, none blamed."""
    ids = publish_many(redis_client, keys, 4)
    FeedReader(redis_client, keys, "g", "worker", settings=NO_CLAIM).read(3)  # never closed: a crash
    restarted = FeedReader(redis_client, keys, "g", "worker", settings=NO_CLAIM)
    assert [_ids(restarted.read(10)) for _ in range(3)] == [[i] for i in ids[:3]]
    assert _ids(restarted.read(10)) == ids[3:]
    pending = redis_client.xpending_range(keys.articles, "g", "-", "+", 10)
    assert [p["times_delivered"] for p in pending] == [1] * 4


def test_entries_trimmed_while_pending_are_dropped(redis_client: redis.Redis, keys: Keys) -> None:
    """A pending entry deleted from the stream is acknowledged, counted lost, not returned."""
    ids = publish_many(redis_client, keys, 3)
    with FeedReader(redis_client, keys, "g", "w", settings=NO_CLAIM) as first:
        first.read(3)
    redis_client.xdel(keys.articles, ids[0])
    restarted = FeedReader(redis_client, keys, "g", "w", settings=NO_CLAIM)
    assert _ids(restarted.read(10)) == ids[1:]
    assert restarted.counters["lost"] == 1
    assert groups_info(redis_client, keys)[0].pending == 2


def test_claimed_entries_that_were_trimmed_are_dropped(redis_client: redis.Redis, keys: Keys) -> None:
    """A stale pending entry deleted from the stream is not delivered by a claim (6.2 and 7)."""
    ids = publish_many(redis_client, keys, 3)
    FeedReader(redis_client, keys, "g", "dead", settings=FAST_CLAIM).read(3)
    redis_client.xdel(keys.articles, ids[1])
    alive = FeedReader(redis_client, keys, "g", "alive", settings=FAST_CLAIM)
    got: list[str] = []

    def claimed() -> bool:
        got.extend(_ids(alive.read(10)))
        return len(got) == 2

    wait_for(claimed, what="the claim")
    assert got == [ids[0], ids[2]]
    wait_for(lambda: groups_info(redis_client, keys)[0].pending == 2, what="the lost one to go")


def test_filters_return_matching_and_ack_the_rest(redis_client: redis.Redis, keys: Keys) -> None:
    """Only entries of the given sources and events are returned; the others are acknowledged."""
    publish(redis_client, keys, make_record(1, source="a"))
    keep = publish(redis_client, keys, make_record(2, source="b"))
    publish(redis_client, keys, make_record(3, source="b", event="updated"))
    also = publish(redis_client, keys, make_record(4, source="c"))
    reader = FeedReader(redis_client, keys, "g", "c", sources=["b", "c"], events=["new"])
    assert _ids(reader.read(2)) == [keep]
    assert reader.last_read_count == 2
    assert _ids(reader.read(10)) == [also]
    assert reader.last_read_count == 2
    info = groups_info(redis_client, keys)[0]
    assert (info.lag, info.pending) == (0, 2)  # the two kept ones wait for their ack
    assert reader.counters["filtered"] == 2


def test_seek_replays_from_a_time(redis_client: redis.Redis, keys: Keys) -> None:
    """Moving a group to a time redelivers exactly the entries at or after it."""
    ids = publish_many(redis_client, keys, 10, at_ms=BASE_MS, step_ms=1000)
    reader = FeedReader(redis_client, keys, "g", "c")
    reader.ack(reader.read(100))
    reader.seek("2024-01-28T14:00:04Z")  # exactly the time of ids[4]
    assert _ids(reader.read(100)) == ids[4:]
    reader.seek("2024-01-28T14:00:06.5Z")  # between two entries
    assert _ids(reader.read(100)) == ids[7:]
    reader.seek(ids[8])
    assert _ids(reader.read(100)) == ids[8:]


def test_iter_acknowledges_as_it_goes(redis_client: redis.Redis, keys: Keys) -> None:
    """With auto_ack, leaving the loop acknowledges what was processed, not the current item."""
    ids = publish_many(redis_client, keys, 10)
    reader = FeedReader(redis_client, keys, "g", "c")
    seen = []
    for item in reader.iter(batch=4, timeout=0):
        seen.append(item.id)
        if len(seen) == 6:
            break
    assert seen == ids[:6]
    summary = redis_client.xpending(keys.articles, "g")
    assert summary["pending"] == 3  # the sixth (interrupted) and the rest of its batch
    assert summary["min"].decode() == ids[5]


def test_iter_without_auto_ack_leaves_items_pending(redis_client: redis.Redis, keys: Keys) -> None:
    """With auto_ack off, nothing is acknowledged until ack is called."""
    publish_many(redis_client, keys, 5)
    reader = FeedReader(redis_client, keys, "g", "c")
    items = list(reader.iter(auto_ack=False, batch=2, timeout=0))
    assert len(items) == 5
    assert groups_info(redis_client, keys)[0].pending == 5
    reader.ack(items)
    assert groups_info(redis_client, keys)[0].pending == 0


def test_iter_follows_new_entries(redis_client: redis.Redis, keys: Keys) -> None:
    """A following iteration wakes up for entries published while it waits."""
    first = publish_many(redis_client, keys, 1)
    reader = FeedReader(redis_client, keys, "g", "c")
    seen = []
    for item in reader.iter(timeout=10):
        seen.append(item.id)
        if len(seen) == 1:
            publish(redis_client, keys, make_record(99))
        if len(seen) == 2:
            break
    assert seen[0] == first[0]
    assert len(seen) == 2


def test_iter_stops_after_its_timeout(redis_client: redis.Redis, keys: Keys) -> None:
    """With a timeout, an idle iteration ends instead of waiting for ever."""
    reader = FeedReader(redis_client, keys, "g", "c")
    assert list(reader.iter(timeout=0.2)) == []


def test_iterating_a_reader_follows_and_acks(redis_client: redis.Redis, keys: Keys) -> None:
    """Iterating the reader itself yields entries and acknowledges the ones processed."""
    ids = publish_many(redis_client, keys, 3)
    reader = FeedReader(redis_client, keys, "g", "c")
    seen = []
    for item in reader:
        seen.append(item.id)
        if len(seen) == 3:
            break
    assert seen == ids
    assert groups_info(redis_client, keys)[0].pending == 1


def test_groups_info_reports_lag_pending_and_oldest(redis_client: redis.Redis, keys: Keys) -> None:
    """groups_info counts undelivered and pending entries and dates the oldest unread."""
    ids = publish_many(redis_client, keys, 10, at_ms=BASE_MS)
    reader = FeedReader(redis_client, keys, "g", "c")
    reader.ack(reader.read(3)[1:])  # the first stays pending
    FeedReader(redis_client, keys, "idle", "c", from_id="$")
    now = id_time(ids[0]) + timedelta(hours=2)
    info = {group.name: group for group in groups_info(redis_client, keys, now)}
    assert (info["g"].consumers, info["g"].pending, info["g"].lag) == (1, 1, 7)
    assert info["g"].last_delivered == ids[2]
    assert info["g"].oldest_unread == ids[0]
    assert info["g"].oldest_unread_age == timedelta(hours=2)
    assert (info["idle"].lag, info["idle"].pending, info["idle"].oldest_unread) == (0, 0, None)


def test_groups_info_counts_lag_after_a_seek(redis_client: redis.Redis, keys: Keys) -> None:
    """After a seek (Redis 7 no longer knows the lag; 6.2 never does) the lag is counted."""
    ids = publish_many(redis_client, keys, 10, at_ms=BASE_MS)
    reader = FeedReader(redis_client, keys, "g", "c")
    reader.seek(ids[6])
    (info,) = groups_info(redis_client, keys)
    assert info.lag == 4
    assert info.oldest_unread == ids[6]


def test_groups_info_gives_up_counting_past_the_cap(
    redis_client: redis.Redis, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counting stops at LAG_COUNT_CAP: lag is then unknown (None) rather than slow."""
    monkeypatch.setattr(feed_groups, "LAG_COUNT_CAP", 3)
    ids = publish_many(redis_client, keys, 10, at_ms=BASE_MS)
    FeedReader(redis_client, keys, "g", "c").seek(ids[2])
    ends = feed_groups._stream_ends(redis_client, keys.articles)
    assert feed_groups._fallback_lag(redis_client, keys.articles, ends, ids[1]) is None
    assert feed_groups._fallback_lag(redis_client, keys.articles, ends, ids[7]) == 2
    assert feed_groups._fallback_lag(redis_client, keys.articles, ends, ids[9]) == 0
    assert feed_groups._fallback_lag(redis_client, keys.articles, ends, "0") == 10


def test_groups_info_without_a_stream(redis_client: redis.Redis, keys: Keys) -> None:
    """No stream yet means no groups, not an error."""
    assert groups_info(redis_client, keys) == []


def test_a_record_a_restarted_consumer_never_acknowledges_goes_to_the_dead_letters(
    redis_client: redis.Redis, keys: Keys
) -> None:
    """A record delivered more than feed.max_deliveries times to a consumer that crashes on it is
    moved, acknowledged, to the group's dead letters, and the group moves on."""
    settings = FeedSettings(claim_idle=timedelta(hours=1), max_deliveries=3)
    ids = publish_many(redis_client, keys, 2)
    for _attempt in range(3):  # each restart reads its own pending entry again
        reader = FeedReader(redis_client, keys, "poison", "c1", settings=settings)
        assert [item.id for item in reader.read(1)] == [ids[0]]
    reader = FeedReader(redis_client, keys, "poison", "c1", settings=settings)
    assert [item.id for item in reader.read(1)] == [ids[1]]
    dead = [json.loads(x) for x in redis_client.lrange(reader.dead_letters, 0, -1)]
    assert [(d["stream_id"], d["deliveries"]) for d in dead] == [(ids[0], 4)]
    assert json.loads(dead[0]["fields"]["record"])["id"] == make_record(0)["id"]
    assert redis_client.xpending(keys.articles, "poison")["pending"] == 1  # only ids[1], unacknowledged


def test_claimed_redeliveries_count_towards_max_deliveries(redis_client: redis.Redis, keys: Keys) -> None:
    """Deliveries by claiming (another consumer taking over a stale entry) count too."""
    settings = FeedSettings(claim_idle=timedelta(milliseconds=50), max_deliveries=2)
    [stream_id] = publish_many(redis_client, keys, 1)
    assert [i.id for i in FeedReader(redis_client, keys, "claims", "a", settings=settings).read(1)] == [stream_id]
    second = FeedReader(redis_client, keys, "claims", "b", settings=settings)
    assert [i.id for i in wait_for(lambda: second.read(1), what="a claim by b")] == [stream_id]
    third = FeedReader(redis_client, keys, "claims", "c", settings=settings)
    wait_for(lambda: redis_client.llen(third.dead_letters) or third.read(1), what="c to claim or dead-letter")
    assert redis_client.llen(third.dead_letters) == 1
    assert redis_client.xpending(keys.articles, "claims")["pending"] == 0
