"""Story deduplication across outlets and over time, through real crawls."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis

from newsmon.scheduler.jobs import JobQueue
from newsmon.scheduler.keys import Keys
from tests.helpers import records, run_newsmon, wait_for, write_config
from tests.newsroom import Newsroom

pytestmark = pytest.mark.slow


@pytest.fixture
def room() -> Newsroom:
    with Newsroom() as newsroom:
        yield newsroom


def _crawl(config: Path) -> dict:
    result = run_newsmon("--config", str(config), "crawl", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_syndicated_copy_on_another_outlet_is_linked_to_the_first(
    room: Newsroom, redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """A wire story republished by another outlet under another headline, with a credit line
    added, is published as a duplicate of the first copy, in the same cluster."""
    original = next(a for a in room.articles_of("wire-en") if a.on_topic)
    config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix)
    _crawl(config)
    copy = room.publish("gazette-en", title="Jordan: more US troops arrive after base attack",
                        paragraphs=[*original.paragraphs, "This report was distributed by the Wire news service."],
                        on_topic=True)
    _crawl(config)
    by_url = {r["canonical_url"]: r for r in records(redis_client, keys)}
    first, second = by_url[original.canonical_url], by_url[copy.canonical_url]
    assert first["event"] == "new"
    assert second["event"] == "duplicate"
    assert second["duplicate_of"] == first["id"]
    assert second["cluster_id"] == first["cluster_id"] == first["id"]


def test_a_distinct_story_on_the_same_topic_is_not_merged(
    room: Newsroom, redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """Another story on the same topic, from another outlet, is a new story of its own."""
    config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix)
    _crawl(config)
    article = room.publish("journal-fr")  # a reserve story: on-topic, new text
    _crawl(config)
    record = next(r for r in records(redis_client, keys) if r["canonical_url"] == article.canonical_url)
    assert record["event"] == "new"
    assert record["duplicate_of"] is None


def test_a_revised_article_is_published_as_an_update_on_recheck(
    room: Newsroom, redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """With re-checks on, an article whose text changed after publication is published again as
    `updated` with revision 2 and what changed; an unchanged one publishes nothing."""
    config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix,
                          dedup={"recheck": ["1s"]}, only=["wire-en"])
    _crawl(config)
    target = room.articles_of("wire-en")[0]
    room.revise(target.url, paragraphs=[*target.paragraphs, "Update: the Pentagon later confirmed the figures."])
    # Re-checks ride along with poll jobs: once they are due, a worker serves one poll job.
    assert redis_client.zcard(keys.recheck) == len(room.articles_of("wire-en"))
    wait_for(lambda: redis_client.zcount(keys.recheck, "-inf", time.time()) == redis_client.zcard(keys.recheck),
             timeout=10, what="the re-checks to fall due")
    JobQueue(redis_client, keys, timedelta(minutes=1)).enqueue("wire-en")
    result = run_newsmon("--config", str(config), "--log-level", "DEBUG", "worker", "--burst")
    assert result.returncode == 0, result.stderr
    updates = [r for r in records(redis_client, keys) if r["event"] == "updated"]
    assert [u["canonical_url"] for u in updates] == [target.canonical_url], result.stderr[-4000:]
    assert updates[0]["revision"] == 2
    assert "text" in updates[0]["changes"]
    assert updates[0]["id"] == next(r["id"] for r in records(redis_client, keys)
                                    if r["canonical_url"] == target.canonical_url and r["event"] == "new")
