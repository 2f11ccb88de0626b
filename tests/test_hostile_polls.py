"""What a second poll of the hostile web shows: caches, blocks, validators, back-off, status.

Two ``newsmon crawl`` runs over ``tests.hostile.outlets.POLL_CASES`` and the healthy outlet on
one Redis prefix, the outlets changing in between as the cases need; then ``newsmon status``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from newsmon.crawler.politeness import backoff_delay
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.redis_conn import connect
from newsmon.scheduler.status import DEFAULT_INTERVAL
from tests.helpers import delete_keys
from tests.hostile import CrawlResult, HostileWeb, crawl, newsmon, source_of, write_config
from tests.hostile.outlets import build_outlets, build_poll_outlets
from tests.hostile.server import Hit


@dataclass
class TwoPolls:
    web: HostileWeb
    first: CrawlResult
    second: CrawlResult
    first_hits: list[Hit]
    second_hits: list[Hit]
    status: dict[str, dict[str, object]]
    status_text: str
    client: redis.Redis
    keys: Keys

    def second_paths(self, outlet: str) -> list[str]:
        return [h.path for h in self.second_hits if h.outlet == outlet]


@pytest.fixture(scope="module")
def polls(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoPolls]:
    """Poll twice, changing the outlets in between, then read ``newsmon status``."""
    keys = Keys(f"newsmon-test-{uuid.uuid4().hex[:12]}")
    client = connect(redis_url)
    directory = tmp_path_factory.mktemp("polls")
    healthy = next(o for o in build_outlets() if o.name == "healthy")
    try:
        with HostileWeb([healthy, *build_poll_outlets()]) as web:
            config: Path = write_config(directory, [source_of(o) for o in web.outlets.values()], redis_url,
                                        keys.prefix)
            first = crawl(config)
            first_hits = web.requests()
            web.clear()
            # Between the polls: the stale liar's feed gains an item (same validators); the
            # deferred article's block runs out and the article is there.
            web.outlet("liar-stale").state["second"] = True
            web.outlet("deferred-article").state["open"] = True
            client.delete(keys.host_block(web.outlet("deferred-article").host))
            second = crawl(config)
            second_hits = web.requests()
            status = json.loads(newsmon(config, "status", "--json").stdout)
            text = newsmon(config, "status").stdout
            yield TwoPolls(web, first, second, first_hits, second_hits,
                           {row["name"]: row for row in status["sources"]}, text, client, keys)
    finally:
        delete_keys(client, keys)
        client.close()


def test_robots_txt_is_fetched_once_across_polls(polls: TwoPolls) -> None:
    """Each host's robots.txt is fetched by the first poll only: the second reads it from Redis."""
    first = Counter(h.outlet for h in polls.first_hits if h.path == "/robots.txt")
    assert first == Counter(dict.fromkeys(polls.web.outlets, 1))
    assert not [h for h in polls.second_hits if h.path == "/robots.txt"]


def test_an_honest_304_is_not_read_again(polls: TwoPolls) -> None:
    """A server honouring If-None-Match answers 304 the second time; nothing is parsed or fetched."""
    (hit,) = [h for h in polls.second_hits if h.outlet == "honest"]
    assert hit.headers.get("if-none-match") == '"v1"'
    assert hit.status == 304
    assert polls.second["honest"]["documents_unchanged"] == 1


def test_a_new_etag_for_the_same_bytes_is_not_reparsed(polls: TwoPolls) -> None:
    """A server minting a new ETag for unchanged bytes: the body hash marks the feed unchanged."""
    assert polls.second["liar-etag"]["documents_unchanged"] == 1
    assert polls.second["liar-etag"]["documents_read"] == 0


def test_stale_validators_do_not_hide_new_items(polls: TwoPolls) -> None:
    """Same ETag and Last-Modified on a changed feed, conditionals ignored: the new item is found."""
    (hit,) = [h for h in polls.second_hits if h.outlet == "liar-stale" and h.path == "/feed.xml"]
    assert hit.headers.get("if-none-match") == '"forever"'
    assert polls.second["liar-stale"]["published"] == 1
    assert polls.second_paths("liar-stale") == ["/feed.xml", "/a/322"]


def test_a_retry_after_block_outlives_the_crawl(polls: TwoPolls) -> None:
    """A host that answered 429 Retry-After: 3600 is sent nothing at all by the next poll."""
    assert [h.path for h in polls.first_hits if h.outlet == "blocked"] == ["/robots.txt", "/feed.xml"]
    assert polls.second_paths("blocked") == []
    assert polls.status["blocked"]["state"] == "deferred"
    assert not polls.second["blocked"]["failed"]


def test_a_deferred_article_is_fetched_after_the_block(polls: TwoPolls) -> None:
    """An article deferred by Retry-After is not marked seen: the next poll re-reads the feed and gets it."""
    assert polls.first["deferred-article"]["errors"] == 0
    assert polls.first["deferred-article"]["published"] == 0
    assert polls.second_paths("deferred-article") == ["/feed.xml", "/a/331"]
    assert polls.second["deferred-article"]["published"] == 1


def test_status_shows_backoff_until_when(polls: TwoPolls) -> None:
    """A source that failed twice is in back-off for interval x 2^2, and newsmon status says until when."""
    row = polls.status["failing"]
    assert row["shown_state"] == "backoff"
    assert row["consecutive_failures"] == 2
    expected = float(row["last_poll"]) + backoff_delay(DEFAULT_INTERVAL, 2)  # type: ignore[arg-type]
    assert row["backoff_until"] == pytest.approx(expected, abs=1)
    assert float(row["backoff_until"]) > time.time()  # type: ignore[arg-type]
    assert "backoff until" in polls.status_text


def test_status_shows_degraded_feeds(polls: TwoPolls) -> None:
    """A malformed feed read in part shows as degraded in newsmon status, also once it is unchanged."""
    assert polls.second["degraded"]["documents_unchanged"] == 1
    assert polls.status["degraded"]["shown_state"] == "degraded"
    assert "degraded: a feed or sitemap was malformed" in polls.status_text
    assert polls.first["degraded"]["published"] == 1


def test_healthy_sources_are_ok_in_status(polls: TwoPolls) -> None:
    """The healthy outlet reads ok, with no back-off."""
    row = polls.status["healthy"]
    assert (row["shown_state"], row["backoff_until"], row["consecutive_failures"]) == ("ok", None, 0)


def test_the_declared_ttl_and_publishing_rate_reach_the_state(polls: TwoPolls) -> None:
    """A feed's <ttl> and each source's rate of new entries are recorded for the adaptive interval."""
    assert polls.status["honest"]["declared_ttl"] == 90 * 60
    assert polls.status["healthy"]["new_per_hour"] == 0.0  # nothing new at the second poll
    assert polls.status["liar-stale"]["new_per_hour"] > 0  # type: ignore[operator]
