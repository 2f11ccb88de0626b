"""The story store against a real Redis: seen URLs, publish decisions, the stream, expiry."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import redis

from newsmon.crawler.fingerprint import story_id
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.store import Fingerprints, StoryStore
from newsmon.settings.model import DedupSettings, FeedSettings

RECORD_FIELDS = {
    "schema_version", "id", "event", "url", "canonical_url", "source", "title", "text", "description",
    "language", "published", "published_from", "modified", "authors", "image", "tags", "sitename",
    "access", "fetched_at", "discovered_via", "topic", "duplicate_of", "cluster_id", "revision", "changes",
}

TEXT = (
    "The city council voted on Tuesday to close the old harbour bridge for eighteen months of "
    "repairs, after engineers found corrosion in three of its steel piers. Ferries will run "
    "every twenty minutes during the closure, the transport office said, and cyclists may use "
    "a temporary lane on the rail bridge. Shop owners on the waterfront warned that the detour "
    "would cost them customers during the summer season."
)
OTHER_TEXT = (
    "A late frost damaged most of the apricot blossom in the northern valleys this week, "
    "growers said, and the cooperative expects its smallest harvest in a decade. Insurance "
    "covers part of the loss, but seasonal workers hired for July may be sent home early, and "
    "two packing plants have postponed their openings until the extent of the damage is known."
)


class Clock:
    """A settable clock for the store (starts at the real time, so TTLs stay meaningful)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def make_record(url: str, text: str = TEXT, *, source: str = "harbour-news", title: str | None = "Bridge to close",
                **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "schema_version": 1,
        "id": story_id(url),
        "url": url + "?utm_source=rss",
        "canonical_url": url,
        "source": source,
        "title": title,
        "text": text,
        "description": None,
        "language": "en",
        "published": "2024-01-28T14:05:00Z",
        "published_from": "jsonld",
        "modified": None,
        "authors": [],
        "image": None,
        "tags": [],
        "sitename": "Harbour News",
        "access": "free",
        "fetched_at": "2024-01-28T15:00:00Z",
        "discovered_via": {"kind": "feed", "url": "https://harbour.example/rss"},
        "topic": None,
    }
    record.update(fields)
    return record


def fingerprints(record: dict[str, Any], *aliases: str) -> Fingerprints:
    return Fingerprints.of(record, (record["canonical_url"], *aliases))


def entries(client: redis.Redis, keys: Keys) -> list[dict[str, str]]:
    return [
        {k.decode(): v.decode() for k, v in fields.items()} for _, fields in client.xrange(keys.articles)
    ]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(redis_client: redis.Redis, keys: Keys, clock: Clock) -> StoryStore:
    return StoryStore(redis_client, keys, clock=clock)


def test_new_story_is_published_once(store: StoryStore, redis_client: redis.Redis, keys: Keys) -> None:
    """A new story is published as "new", and publishing the same page again publishes nothing."""
    record = make_record("https://harbour.example/bridge")
    first = store.publish(record, fingerprints(record))
    again = store.publish(record, fingerprints(record))
    assert (first.event, first.reason, first.revision) == ("new", "new", 1)
    assert first.story_id == first.cluster_id == story_id("https://harbour.example/bridge")
    assert first.duplicate_of is None
    assert first.stream_id
    assert (again.event, again.stream_id, again.reason) == (None, None, "unchanged")
    assert [e["id"] for e in entries(redis_client, keys)] == [first.story_id]


def test_url_seen_under_another_story_is_not_published(store: StoryStore, redis_client: redis.Redis,
                                                       keys: Keys) -> None:
    """A page whose canonical URL was seen as another story's alias is not published again."""
    record = make_record("https://harbour.example/bridge")
    store.publish(record, fingerprints(record, "https://harbour.example/amp-bridge"))
    alias = make_record("https://harbour.example/amp-bridge", OTHER_TEXT)
    outcome = store.publish(alias, fingerprints(alias))
    assert (outcome.event, outcome.reason) == (None, "seen-url")
    assert len(entries(redis_client, keys)) == 1


def test_unseen_reports_only_new_urls(store: StoryStore) -> None:
    """unseen() drops the URLs a published story is known by, keeps order and removes repeats."""
    record = make_record("https://harbour.example/bridge")
    store.publish(record, fingerprints(record, "https://harbour.example/bridge-old"))
    urls = ["https://harbour.example/a", "https://harbour.example/bridge", "https://harbour.example/b",
            "https://harbour.example/a", "https://harbour.example/bridge-old"]
    assert store.unseen(urls) == ["https://harbour.example/a", "https://harbour.example/b"]
    assert store.unseen([]) == []


def test_same_text_under_another_url_is_not_new(store: StoryStore, redis_client: redis.Redis, keys: Keys) -> None:
    """The same text under another URL is linked to the first story as a duplicate, not new."""
    first = make_record("https://harbour.example/bridge")
    copy = make_record("https://coast.example/news/bridge", source="coast-daily", title="Harbour bridge shuts")
    original = store.publish(first, fingerprints(first))
    outcome = store.publish(copy, fingerprints(copy))
    assert (outcome.event, outcome.reason) == ("duplicate", "same-text")
    assert outcome.duplicate_of == outcome.cluster_id == original.story_id
    record = json.loads(entries(redis_client, keys)[-1]["record"])
    assert (record["event"], record["duplicate_of"], record["cluster_id"]) == ("duplicate", original.story_id,
                                                                             original.story_id)


def test_same_text_is_dropped_when_configured(redis_client: redis.Redis, keys: Keys, clock: Clock) -> None:
    """With near_duplicates=drop, a copy publishes nothing but is still linked in the outcome."""
    store = StoryStore(redis_client, keys, DedupSettings(near_duplicates="drop"), clock=clock)
    first = make_record("https://harbour.example/bridge")
    copy = make_record("https://coast.example/news/bridge", source="coast-daily")
    original = store.publish(first, fingerprints(first))
    outcome = store.publish(copy, fingerprints(copy))
    assert (outcome.event, outcome.reason, outcome.duplicate_of) == (None, "same-text", original.story_id)
    assert len(entries(redis_client, keys)) == 1
    assert store.unseen(["https://coast.example/news/bridge"]) == []


def test_mark_seen_excludes_urls_and_publishes_nothing(store: StoryStore, redis_client: redis.Redis,
                                                       keys: Keys) -> None:
    """mark_seen() hides URLs from unseen(), and a page under such a URL is not published."""
    store.mark_seen(["https://harbour.example/off-topic", "https://harbour.example/off-topic-2"])
    assert store.unseen(["https://harbour.example/off-topic", "https://harbour.example/x"]) == [
        "https://harbour.example/x"
    ]
    record = make_record("https://harbour.example/off-topic")
    outcome = store.publish(record, fingerprints(record))
    assert (outcome.event, outcome.reason) == (None, "seen-url")
    assert entries(redis_client, keys) == []


def test_stream_entry_carries_the_contract(store: StoryStore, redis_client: redis.Redis, keys: Keys) -> None:
    """A stream entry has id, event, source and a record with every field; empty arrays stay arrays."""
    record = make_record("https://harbour.example/bridge", title="Brücke — «schließt»", authors=[],
                         tags=["harbour", "ünïcode"])
    store.publish(record, fingerprints(record))
    (entry,) = entries(redis_client, keys)
    assert set(entry) == {"id", "event", "source", "record"}
    parsed = json.loads(entry["record"])
    assert set(parsed) == RECORD_FIELDS
    assert (entry["id"], entry["event"], entry["source"]) == (parsed["id"], "new", "harbour-news")
    assert (parsed["changes"], parsed["authors"], parsed["tags"]) == ([], [], ["harbour", "ünïcode"])
    assert parsed["title"] == "Brücke — «schließt»"
    assert (parsed["duplicate_of"], parsed["cluster_id"], parsed["revision"]) == (None, parsed["id"], 1)


def test_record_with_decided_fields_is_refused(store: StoryStore) -> None:
    """A record that already carries a field the store decides is a caller error."""
    record = make_record("https://harbour.example/bridge", event="new")
    with pytest.raises(ValueError, match="event"):
        store.publish(record, fingerprints(record))


def test_every_key_written_has_a_ttl(redis_client: redis.Redis, keys: Keys, clock: Clock) -> None:
    """Every key the store writes expires, except the stream, which is trimmed by age instead."""
    dedup = DedupSettings(recheck=(timedelta(hours=1), timedelta(hours=6)))
    store = StoryStore(redis_client, keys, dedup, FeedSettings(max_length=1000), clock=clock)
    first = make_record("https://harbour.example/bridge")
    store.publish(first, fingerprints(first, "https://harbour.example/bridge-old"))
    copy = make_record("https://coast.example/bridge", source="coast-daily")
    store.publish(copy, fingerprints(copy))
    store.publish({**first, "text": OTHER_TEXT}, fingerprints({**first, "text": OTHER_TEXT}))
    store.mark_seen(["https://harbour.example/rejected"])
    pattern = keys.tag.replace("{", r"\{").replace("}", r"\}") + ":*"
    written = {k.decode() for k in redis_client.scan_iter(match=pattern, count=1000)}
    assert {keys.recheck, keys.articles} <= written
    assert {kind for kind in ("stories", "seen:u", "seen:t", "near", "title") if f":{kind}:" in str(written)} == {
        "stories", "seen:u", "seen:t", "near", "title"
    }
    assert {k: redis_client.type(k).decode() for k in written if redis_client.ttl(k) <= 0} == {
        keys.articles: "stream"
    }


def test_seen_state_survives_a_new_store(redis_client: redis.Redis, keys: Keys, clock: Clock) -> None:
    """Seen state lives in Redis: a new store (a restarted process) still knows the story."""
    record = make_record("https://harbour.example/bridge")
    StoryStore(redis_client, keys, clock=clock).publish(record, fingerprints(record))
    restarted = StoryStore(redis_client, keys, clock=clock)
    assert restarted.unseen([record["canonical_url"]]) == []
    assert restarted.publish(record, fingerprints(record)).event is None


def test_generations_expire_with_the_window(store: StoryStore, redis_client: redis.Redis, keys: Keys,
                                            clock: Clock) -> None:
    """A seen URL is remembered for at least the window and forgotten after 1.25 windows."""
    window = DedupSettings().window.total_seconds()
    record = make_record("https://harbour.example/bridge")
    store.publish(record, fingerprints(record))
    url_keys = list(redis_client.scan_iter(match=keys.tag.replace("{", r"\{").replace("}", r"\}") + ":seen:u:*"))
    assert len(url_keys) == 1
    assert window <= redis_client.ttl(url_keys[0]) <= 1.25 * window
    start = clock.now
    clock.now = start + window - 1
    assert store.unseen([record["canonical_url"]]) == []
    assert store.publish(record, fingerprints(record)).reason == "unchanged"
    clock.now = start + 1.25 * window + 1
    assert store.unseen([record["canonical_url"]]) == [record["canonical_url"]]
    assert store.publish(record, fingerprints(record)).event == "new"


def test_fingerprints_need_a_url(store: StoryStore) -> None:
    """Publishing without any canonical URL is refused."""
    record = make_record("https://harbour.example/bridge")
    with pytest.raises(ValueError, match="urls"):
        store.publish(record, replace(fingerprints(record), urls=()))


def test_a_page_not_published_does_not_hide_copies(store: StoryStore) -> None:
    """The text of a page refused as seen-url is not marked seen: another outlet's copy is new."""
    store.mark_seen(["https://harbour.example/rejected"])
    refused = make_record("https://harbour.example/rejected")
    copy = make_record("https://coast.example/bridge", source="coast-daily")
    assert store.publish(refused, fingerprints(refused)).reason == "seen-url"
    assert store.publish(copy, fingerprints(copy)).event == "new"


class CountingRedis(redis.Redis):
    """A client that counts the commands it sends (a pipeline counts as one), and scripts' ARGV."""

    calls = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.script_argv: list[int] = []  # ARGV count of each script call

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.calls += 1
        if args[0] == "EVALSHA":
            self.script_argv.append(len(args) - 3 - int(args[2]))
        return super().execute_command(*args, **options)


def test_unseen_and_publish_are_one_round_trip_each(redis_url: str, redis_client: redis.Redis, keys: Keys,
                                                    clock: Clock) -> None:
    """unseen() of many URLs and publish() each send one command (a script with one argument) to Redis."""
    client = CountingRedis(connection_pool=redis.ConnectionPool.from_url(redis_url))
    store = StoryStore(client, keys, clock=clock)
    record = make_record("https://harbour.example/bridge")
    store.unseen(["https://harbour.example/warm-up"])  # loads the script once
    store.publish(make_record("https://harbour.example/warm"), fingerprints(make_record("https://harbour.example/warm")))
    client.calls, client.script_argv = 0, []
    assert len(store.unseen([f"https://harbour.example/{i}" for i in range(200)])) == 200
    store.publish(record, fingerprints(record))
    assert (client.calls, client.script_argv) == (2, [1, 1])
    client.close()
