"""`newsmon crawl` over the fixture newsroom: real processes, real Scrapy, real Redis."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import redis

from newsmon.scheduler.feed import validate_record
from newsmon.scheduler.keys import Keys
from tests.helpers import normalize_space, records, run_newsmon, write_config
from tests.newsroom import Newsroom

pytestmark = pytest.mark.slow


@pytest.fixture
def room() -> Newsroom:
    with Newsroom() as newsroom:
        yield newsroom


def _crawl(config: Path, *extra: str) -> dict:
    result = run_newsmon("--config", str(config), "crawl", "--json", *extra)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout)


def test_crawl_publishes_every_article_once_with_its_title_date_and_text(
    room: Newsroom, redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """Every article of every outlet is published once, with the right title, date and body;
    a second crawl publishes nothing."""
    config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix)
    summary = _crawl(config)
    published = records(redis_client, keys)

    by_url = {r["canonical_url"]: r for r in published}
    assert Counter(r["canonical_url"] for r in published).most_common(1)[0][1] == 1
    assert set(by_url) == {a.canonical_url for a in room.articles}
    for article in room.articles:
        record = by_url[article.canonical_url]
        assert record["title"] == article.title
        assert record["published"] == article.published.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert normalize_space(record["text"]) == normalize_space(" ".join(article.paragraphs))
        assert record["language"] == article.language
        assert record["source"] == article.outlet
        assert record["event"] == "new"
        validate_record(record)
    assert sum(s["published"] for s in summary["sources"]) == len(room.articles)

    again = _crawl(config)
    assert sum(s["published"] for s in again["sources"]) == 0
    assert len(records(redis_client, keys)) == len(published)


def test_second_crawl_asks_with_validators_and_fetches_no_article(
    room: Newsroom, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    """An unchanged poll sends the stored validators back and fetches no article page."""
    config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix)
    _crawl(config)
    room.reset_log()
    _crawl(config)
    log = room.requests()
    documents = [r for r in log if r["path"].endswith((".xml", ".xml.gz", "/monde/"))]
    assert documents
    assert all(r["status"] == 304 for r in documents), documents
    assert not [r for r in log if r["path"].endswith((".html", "/")) and r["path"] not in {"/", "/monde/"}]


def test_topic_keeps_on_topic_english_and_french_articles_only(
    room: Newsroom, redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """With a topic, on-topic articles in both languages are published with their matched terms;
    the others are not."""
    config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix, topic=True)
    _crawl(config)
    published = records(redis_client, keys)
    expected = {a.canonical_url for a in room.articles if a.on_topic}
    assert {r["canonical_url"] for r in published} == expected
    assert {r["language"] for r in published} == {"en", "fr"}
    for record in published:
        assert record["topic"]["matched"], record["canonical_url"]
        assert set(record["topic"]["groups"]) == {"us_military", "region"}


def test_url_variants_of_one_article_are_one_story(
    room: Newsroom, redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """An article listed with tracking parameters and a fragment, or under an AMP alias with the
    same rel=canonical, is published once under its canonical URL."""
    variants = [a for a in room.articles if a.feed_url != a.url or a.aliases]
    assert len(variants) >= 2
    config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix)
    _crawl(config)
    published = records(redis_client, keys)
    for article in variants:
        assert [r["canonical_url"] for r in published].count(article.canonical_url) == 1
    assert len(published) == len(room.articles)


def test_a_feed_that_is_not_xml_fails_its_source_and_the_others_go_on(
    room: Newsroom, redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """A source whose documents are not XML is marked failed with the reason; the others publish."""
    room.break_feed("gazette-en", "atom", "not-xml")
    room.break_feed("gazette-en", "sitemap", "not-xml")
    config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix)
    summary = {s["source"]: s for s in _crawl(config)["sources"]}
    assert summary["gazette-en"]["failed"]
    assert any("not a feed" in e or "not a sitemap" in e for e in summary["gazette-en"]["last_errors"])
    others = [a for a in room.articles if a.outlet != "gazette-en"]
    assert {r["canonical_url"] for r in records(redis_client, keys)} == {a.canonical_url for a in others}
    status = run_newsmon("--config", str(config), "status", "--json")
    state = {s["name"]: s["state"] for s in json.loads(status.stdout)["sources"]}
    assert state["gazette-en"] == "failed"
    assert state["wire-en"] == "ok"


def test_crawl_exits_1_when_every_source_failed(
    room: Newsroom, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    """When no source could be read, crawl says so and exits 1."""
    room.break_feed("wire-en", "rss", "500")
    room.break_feed("wire-en", "sitemap", "500")
    config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix, only=["wire-en"])
    result = run_newsmon("--config", str(config), "crawl")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED" in result.stdout
    assert "HTTP 500" in result.stdout


def test_crawl_one_source(
    room: Newsroom, redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """--source limits the crawl to the named sources."""
    config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix)
    summary = _crawl(config, "--source", "journal-fr")
    assert [s["source"] for s in summary["sources"]] == ["journal-fr"]
    assert {r["source"] for r in records(redis_client, keys)} == {"journal-fr"}
