"""Near copies across outlets, updates of published stories, rechecks and stream trimming."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import redis

from newsmon.crawler.fingerprint import hash64, story_id
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.store import (
    ONE_ANCHOR_DISTANCE,
    TITLE_DISTANCE,
    TWO_ANCHORS_DISTANCE,
    Fingerprints,
    StoryStore,
)
from newsmon.settings.model import DedupSettings, FeedSettings
from tests.test_store import OTHER_TEXT, Clock, entries, fingerprints, make_record

STORIES = Path(__file__).parent / "data" / "dedup" / "stories.txt"


def paragraphs(story: str) -> list[str]:
    """The paragraphs of one story of the labelled set."""
    block = re.split(r"^## ", STORIES.read_text(encoding="utf-8"), flags=re.MULTILINE)
    (body,) = [b for b in block if b.startswith(story + "\n")]
    chunks = [c.strip() for c in body.split("\n\n")[1:]]
    return [" ".join(c.split()) for c in chunks if c and not re.match(r"^(topic|titles|lede|local|follows):", c)]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(redis_client: redis.Redis, keys: Keys, clock: Clock) -> StoryStore:
    return StoryStore(redis_client, keys, clock=clock)


def test_syndicated_copy_is_linked_to_the_first_story(store: StoryStore, redis_client: redis.Redis,
                                                      keys: Keys) -> None:
    """A wire story rewritten by another outlet (headline, credit, paragraph cut) is a duplicate."""
    wire = paragraphs("city-bridge-closure")
    original = make_record("https://cpa.example/en/bridge", "HARBOURTON (CPA) \u2014 " + "\n\n".join(wire),
                           title="Harbour bridge to close for 18 months of repairs")
    copy = make_record("https://kestrelgazette.example/2024/bridge.html",
                       "\n\n".join(["By Coastal Press Agency", *wire[:-1]]), source="kestrel-gazette",
                       title="Council shuts old harbour bridge after corrosion found")
    first = store.publish(original, fingerprints(original))
    outcome = store.publish(copy, fingerprints(copy))
    assert (outcome.event, outcome.reason) == ("duplicate", "near-duplicate")
    assert outcome.duplicate_of == outcome.cluster_id == first.story_id
    assert outcome.story_id == story_id("https://kestrelgazette.example/2024/bridge.html")
    published = json.loads(entries(redis_client, keys)[-1]["record"])
    assert (published["event"], published["duplicate_of"], published["revision"]) == ("duplicate", first.story_id, 1)


def test_distinct_stories_on_one_topic_are_not_merged(store: StoryStore) -> None:
    """A follow-up that reuses a background paragraph, and a same-topic story, are new stories."""
    texts = {
        name: "\n\n".join(paragraphs(name))
        for name in ("city-bridge-closure", "city-bridge-delay", "city-tram-extension", "city-bus-fares")
    }
    outcomes = []
    for name, text in texts.items():
        record = make_record(f"https://harbourton-daily.example/{name}", text, title=name.replace("-", " "))
        outcomes.append(store.publish(record, fingerprints(record)))
    assert [o.event for o in outcomes] == ["new"] * 4


def test_copy_of_a_copy_joins_the_first_cluster(store: StoryStore) -> None:
    """Later copies link to the cluster's first story, whichever copy they resemble most."""
    text = "\n\n".join(paragraphs("weather-heatwave"))
    first = make_record("https://cpa.example/heat", text, title="Heat warning as temperatures head for 38 degrees")
    second = make_record("https://daily.example/heat", text + "\n\nSign up for our morning newsletter and get "
                         "the most important stories of the day in your inbox.", source="daily")
    third = make_record("https://beacon.example/heat", second["text"] + "\n\nFollow us on social media for more "
                        "news from the coast and from the region.", source="beacon")
    a, b, c = (store.publish(r, fingerprints(r)) for r in (first, second, third))
    assert (a.event, b.event, c.event) == ("new", "duplicate", "duplicate")
    assert b.cluster_id == c.cluster_id == c.duplicate_of == a.story_id


def test_near_copies_are_dropped_when_configured(redis_client: redis.Redis, keys: Keys, clock: Clock) -> None:
    """With near_duplicates=drop, a near copy publishes nothing and its URL is seen."""
    store = StoryStore(redis_client, keys, DedupSettings(near_duplicates="drop"), clock=clock)
    text = paragraphs("sports-cup-final")
    first = make_record("https://cpa.example/cup", "\n\n".join(text), title="Harbourton FC win the cup")
    copy = make_record("https://coastfm.example/news/1", "\n\n".join(text[:-1]), source="coast-fm",
                       title="Harbourton FC win the cup")
    original = store.publish(first, fingerprints(first))
    outcome = store.publish(copy, fingerprints(copy))
    assert (outcome.event, outcome.reason, outcome.duplicate_of) == (None, "near-duplicate", original.story_id)
    assert len(entries(redis_client, keys)) == 1
    assert store.unseen([copy["canonical_url"]]) == []


def test_copies_are_only_linked_within_the_near_window(store: StoryStore, redis_client: redis.Redis,
                                                       keys: Keys, clock: Clock) -> None:
    """After the near window a near copy is a new story; the exact text stays seen for the window."""
    text = paragraphs("health-new-clinic")
    first = make_record("https://cpa.example/clinic", "\n\n".join(text))
    store.publish(first, fingerprints(first))
    clock.now += 1.25 * DedupSettings().near_window.total_seconds() + 1
    same = make_record("https://daily.example/clinic", "\n\n".join(text), source="daily")
    near = make_record("https://gazette.example/clinic", "\n\n".join(text[:-1]), source="gazette")
    assert (store.publish(same, fingerprints(same)).reason, store.publish(near, fingerprints(near)).event) == (
        "same-text", "new"
    )
    assert [e["event"] for e in entries(redis_client, keys)] == ["new", "new"]


def test_changed_text_is_published_as_an_update(store: StoryStore, redis_client: redis.Redis, keys: Keys) -> None:
    """A changed text under a known URL publishes "updated", revision 2, changes ["text"]."""
    record = make_record("https://harbour.example/bridge")
    first = store.publish(record, fingerprints(record))
    changed = {**record, "text": record["text"] + " The council will meet again on Friday."}
    outcome = store.publish(changed, fingerprints(changed))
    assert (outcome.event, outcome.revision, outcome.reason) == ("updated", 2, "updated")
    assert outcome.cluster_id == first.story_id
    assert outcome.duplicate_of is None
    published = json.loads(entries(redis_client, keys)[-1]["record"])
    assert (published["event"], published["revision"], published["changes"]) == ("updated", 2, ["text"])
    assert (published["id"], published["cluster_id"], published["duplicate_of"]) == (first.story_id,) * 2 + (None,)
    assert store.publish(changed, fingerprints(changed)).event is None


def test_updates_list_every_changed_field(store: StoryStore, redis_client: redis.Redis, keys: Keys) -> None:
    """Title, published and modified changes are listed; successive updates count revisions."""
    record = make_record("https://harbour.example/bridge")
    store.publish(record, fingerprints(record))
    retitled = {**record, "title": "Bridge closure postponed", "modified": "2024-01-29T08:00:00Z"}
    redated = {**retitled, "published": "2024-01-28T15:05:00Z"}
    outcomes = [store.publish(r, fingerprints(r)) for r in (retitled, redated)]
    assert [(o.event, o.revision) for o in outcomes] == [("updated", 2), ("updated", 3)]
    changes = [json.loads(e["record"])["changes"] for e in entries(redis_client, keys)[1:]]
    assert changes == [["title", "modified"], ["published"]]


def test_a_new_modified_date_alone_is_not_an_update(store: StoryStore, redis_client: redis.Redis,
                                                    keys: Keys) -> None:
    """Only the modified date changed: nothing is published (many sites bump it on every render)."""
    record = make_record("https://harbour.example/bridge")
    store.publish(record, fingerprints(record))
    bumped = {**record, "modified": "2024-01-30T10:00:00Z"}
    outcome = store.publish(bumped, fingerprints(bumped))
    assert (outcome.event, outcome.reason, outcome.revision) == (None, "unchanged", 1)
    assert len(entries(redis_client, keys)) == 1


def test_update_of_a_duplicate_keeps_its_link(store: StoryStore) -> None:
    """An updated copy is still linked to the first story of its cluster."""
    first = make_record("https://harbour.example/bridge")
    copy = make_record("https://coast.example/bridge", source="coast-daily")
    original = store.publish(first, fingerprints(first))
    store.publish(copy, fingerprints(copy))
    changed = {**copy, "text": copy["text"] + " Ferries will be free for residents in the first week."}
    outcome = store.publish(changed, fingerprints(changed))
    assert (outcome.event, outcome.revision, outcome.duplicate_of) == ("updated", 2, original.story_id)


def test_recheck_schedule_hands_out_each_step_once(redis_client: redis.Redis, keys: Keys, clock: Clock) -> None:
    """A new story is due for a recheck at each configured step, once per step, then never."""
    dedup = DedupSettings(recheck=(timedelta(hours=1), timedelta(hours=6)))
    store = StoryStore(redis_client, keys, dedup, clock=clock)
    record = make_record("https://harbour.example/bridge")
    copy = make_record("https://coast.example/bridge", source="coast-daily")
    outcome = store.publish(record, fingerprints(record))
    store.publish(copy, fingerprints(copy))
    start = int(clock.now)
    due = (outcome.story_id, record["url"], "harbour-news")
    assert store.recheck_due(start + 3599) == []
    assert store.recheck_due(start + 3600) == [due]
    assert store.recheck_due(start + 3600) == []
    assert store.recheck_due(start + 6 * 3600, limit=10) == [due]
    assert store.recheck_due(start + 100 * 3600) == []


def test_recheck_is_off_by_default(store: StoryStore, redis_client: redis.Redis, keys: Keys) -> None:
    """Without dedup.recheck nothing is scheduled."""
    record = make_record("https://harbour.example/bridge")
    store.publish(record, fingerprints(record))
    assert store.recheck_due(store.clock() + 10**6) == []
    assert not redis_client.exists(keys.recheck)


def test_stream_is_trimmed_to_max_length(redis_client: redis.Redis, keys: Keys, clock: Clock) -> None:
    """With feed.max_length the stream is trimmed on append (approximately, whole nodes)."""
    store = StoryStore(redis_client, keys, feed=FeedSettings(max_length=10), clock=clock)
    for i in range(250):
        record = make_record(f"https://harbour.example/story-{i}", f"Story number {i} " * 3)
        store.publish(record, Fingerprints.of(record, [record["canonical_url"]]))
    assert 10 <= redis_client.xlen(keys.articles) <= 110


def test_stream_is_trimmed_by_age(redis_client: redis.Redis, keys: Keys, clock: Clock) -> None:
    """Entries older than feed.retention are trimmed on append (approximately, whole nodes)."""
    store = StoryStore(redis_client, keys, feed=FeedSettings(retention=timedelta(milliseconds=1)), clock=clock)
    for i in range(250):
        record = make_record(f"https://harbour.example/story-{i}", f"Story number {i} " * 3)
        store.publish(record, Fingerprints.of(record, [record["canonical_url"]]))
    assert redis_client.xlen(keys.articles) < 250


def _bits(count: int) -> int:
    """A mask of ``count`` bits spread over both 32-bit halves, the top bits included."""
    order = [63, 31, 62, 30, 0, 32, *range(1, 30), *range(33, 62)]
    return sum(1 << b for b in order[:count])


@pytest.mark.parametrize(("evidence", "limit"), [("title", TITLE_DISTANCE), ("one anchor", ONE_ANCHOR_DISTANCE),
                                                 ("two anchors", TWO_ANCHORS_DISTANCE)])
def test_distance_limits_are_exact(store: StoryStore, evidence: str, limit: int) -> None:
    """A candidate is a copy at exactly the limit for its evidence, and a new story one bit beyond."""
    base = 0xF0F0F0F0_80000001
    events = []
    for n, distance in enumerate((limit, limit + 1)):
        anchors = (hash64(f"anchor 0 {evidence} {n}"), hash64(f"anchor 1 {evidence} {n}"), 0, 0)
        title = hash64(f"title {evidence} {n}")
        shared = {
            "title": {"title": title},
            "one anchor": {"anchors": (anchors[0], 0, 0, 0)},
            "two anchors": {"anchors": (anchors[0], anchors[1], 0, 0)},
        }[evidence]
        original = make_record(f"https://a.example/{evidence}/{n}")
        copy = make_record(f"https://b.example/{evidence}/{n}", source="b")
        store.publish(original, Fingerprints((original["canonical_url"],), text=n * 2 + 1, simhash=base,
                                             title=title, anchors=anchors))
        outcome = store.publish(copy, Fingerprints((copy["canonical_url"],), text=n * 2 + 2,
                                                   simhash=base ^ _bits(distance), **shared))
        events.append(outcome.event)
    assert events == ["duplicate", "new"]


def test_an_overdue_recheck_waits_for_a_worker(redis_client: redis.Redis, keys: Keys, clock: Clock) -> None:
    """With a short step ([1s]) a re-check stays scheduled while no worker serves it: publishing
    later stories does not trim it, and the schedule outlives the step (a day's grace)."""
    store = StoryStore(redis_client, keys, DedupSettings(recheck=(timedelta(seconds=1),)), clock=clock)
    record = make_record("https://harbour.example/bridge")
    outcome = store.publish(record, fingerprints(record))
    clock.now += 30  # no worker for half a minute; other stories are published meanwhile
    other = make_record("https://harbour.example/ferry", text=OTHER_TEXT)
    store.publish(other, fingerprints(other))
    assert redis_client.pttl(keys.recheck) > 3600 * 1000
    assert (outcome.story_id, record["url"], "harbour-news") in store.recheck_due(int(clock.now))
