"""The hostile web in one crawl: every outlet misbehaves its own way, each ends as it must.

One ``newsmon crawl`` (a subprocess, the code path users run) polls every outlet of
``tests.hostile.CASES`` at once, with fetch.timeout 3s, fetch.retries 1 and fetch.max_size
16 MiB; each test then reads what it proves from the crawl's JSON summary, the server's
request log and Redis.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from newsmon.crawler.urls import canonicalize
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.redis_conn import connect
from newsmon.scheduler.store import StoryStore
from newsmon.settings.loader import load_config
from tests.helpers import delete_keys
from tests.hostile import CASES, CrawlResult, HostileWeb, build_outlets, crawl, source_of, write_config
from tests.hostile.outlets import CHARSET_TITLE
from tests.hostile.run import FETCH

TIMEOUT = 3.0
MAX_SIZE = 16 * 1024 * 1024
MAX_REDIRECTS = 5  # the default


@dataclass
class Hostile:
    web: HostileWeb
    result: CrawlResult
    client: redis.Redis
    keys: Keys
    config: Path

    def state(self, source: str) -> dict[str, str]:
        raw: dict[bytes, bytes] = self.client.hgetall(self.keys.source_state(source))
        return {k.decode(): v.decode() for k, v in raw.items()}

    def records(self, source: str) -> list[dict[str, object]]:
        entries: list[tuple[bytes, dict[bytes, bytes]]] = self.client.xrange(self.keys.articles)
        records = [json.loads(fields[b"record"]) for _, fields in entries]
        return [r for r in records if r["source"] == source]

    def paths(self, outlet: str) -> list[str]:
        return [hit.path for hit in self.web.requests(outlet)]


@pytest.fixture(scope="module")
def hostile(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    """Every hostile outlet, polled once together."""
    keys = Keys(f"newsmon-test-{uuid.uuid4().hex[:12]}")
    client = connect(redis_url)
    directory = tmp_path_factory.mktemp("hostile")
    try:
        with HostileWeb(build_outlets()) as web:
            config = write_config(directory, [source_of(o) for o in web.outlets.values()], redis_url, keys.prefix)
            yield Hostile(web, crawl(config), client, keys, config)
    finally:
        delete_keys(client, keys)
        client.close()


def _error(h: Hostile, source: str) -> str:
    return " | ".join(h.result[source]["last_errors"])


def test_the_crawl_ends_and_reports_every_outlet(hostile: Hostile) -> None:
    """The crawl exits 0 (some sources are fine) and reports every hostile outlet."""
    assert hostile.result.code == 0, hostile.result.log
    assert set(hostile.result.sources) == set(CASES)


def test_healthy_outlet_is_published_while_others_misbehave(hostile: Hostile) -> None:
    """The healthy outlet's three articles are published in the same crawl as every attack."""
    assert hostile.result["healthy"]["published"] == 3
    assert hostile.result["healthy"]["errors"] == 0
    assert len(hostile.records("healthy")) == 3


@pytest.mark.parametrize("outlet", ["drip", "silent", "headers-hang"])
def test_stalled_transfers_are_cut_off_at_the_timeout(hostile: Hostile, outlet: str) -> None:
    """Drip, never-answer and headers-then-hang: newsmon hangs up at fetch.timeout, does not retry
    (a timeout would hold the crawl again), and the source fails."""
    assert hostile.result[outlet]["failed"]
    assert f"took longer than {TIMEOUT} seconds" in _error(hostile, outlet)
    feeds = hostile.web.requests(outlet, "/feed.xml")
    assert len(feeds) == 1
    for hit in feeds:
        # The server would have gone on for PATIENCE seconds; the client hung up first (how long
        # each case holds a crawl is measured by bench/fetch.py).
        assert hit.client_hung_up


@pytest.mark.parametrize("outlet", ["reset", "short-body", "bad-chunked"])
def test_broken_transfers_fail_the_document(hostile: Hostile, outlet: str) -> None:
    """A reset, a body shorter than its Content-Length or broken chunking is an error, not a short feed."""
    assert hostile.result[outlet]["failed"]
    assert hostile.result[outlet]["documents_read"] == 0
    assert re.search(r"DataLoss|ConnectionLost|Connection was closed", _error(hostile, outlet))


@pytest.mark.parametrize("outlet", ["gzip-bomb", "brotli-bomb"])
def test_decompression_bombs_stop_at_max_size(hostile: Hostile, outlet: str) -> None:
    """256 MB of compressed zeros are decompressed no further than fetch.max_size."""
    error = _error(hostile, outlet)
    assert hostile.result[outlet]["failed"]
    match = re.search(r"(\d+) B decompressed so far", error)
    assert match is not None, error
    assert MAX_SIZE < int(match[1]) <= MAX_SIZE + 1024 * 1024


@pytest.mark.parametrize(("outlet", "ttl"), [("ratelimited", 3600), ("unavailable", 7200)])
def test_retry_after_blocks_the_host_and_defers(hostile: Hostile, outlet: str, ttl: int) -> None:
    """429 (seconds) and 503 (HTTP-date) with Retry-After block the host in Redis; deferred, not failed."""
    assert not hostile.result[outlet]["failed"]
    assert hostile.result[outlet]["errors"] == 0
    assert hostile.state(outlet)["state"] == "deferred"
    host = hostile.web.outlet(outlet).host
    remaining = hostile.client.ttl(hostile.keys.host_block(host))
    assert ttl - 120 < remaining <= ttl
    # Scrapy's own retry (fetch.retries) did not hammer the host inside the block.
    assert hostile.paths(outlet) == ["/robots.txt", "/feed.xml"]


def test_a_short_retry_after_is_waited_out_inside_the_crawl(hostile: Hostile) -> None:
    """429 with Retry-After: 1: the feed is asked again once the second is over, and published."""
    feeds = hostile.web.requests("brief-429", "/feed.xml")
    assert [hit.status for hit in feeds] == [429, 200]
    assert feeds[1].started - feeds[0].started >= 0.9
    assert hostile.result["brief-429"]["published"] == 1


def test_a_5xx_storm_fails_one_source_only(hostile: Hostile) -> None:
    """An outlet answering only 5xx is retried fetch.retries times and fails; nobody else is affected."""
    assert hostile.result["storm"]["failed"]
    assert re.search(r"HTTP 50[023]", _error(hostile, "storm"))
    assert len(hostile.web.requests("storm", "/feed.xml")) == 1 + FETCH["retries"]
    assert hostile.result["healthy"]["published"] == 3


def test_robots_txt_5xx_means_nothing_is_fetched(hostile: Hostile) -> None:
    """robots.txt answering 503 disallows the whole host (RFC 9309): only robots.txt is asked for."""
    assert set(hostile.paths("robots-down")) == {"/robots.txt"}
    assert hostile.result["robots-down"]["failed"]
    assert "robots.txt could not be read (HTTP 503)" in _error(hostile, "robots-down")


@pytest.mark.parametrize("outlet", ["redirect-loop", "redirect-chain"])
def test_redirect_loops_and_chains_stop_at_max_redirects(hostile: Hostile, outlet: str) -> None:
    """A redirect loop and a 25-hop chain end after fetch.max_redirects hops."""
    assert hostile.result[outlet]["failed"]
    assert "max redirections reached" in _error(hostile, outlet)
    hops = [p for p in hostile.paths(outlet) if p != "/robots.txt"]
    assert len(hops) == MAX_REDIRECTS + 1
    assert "/real.xml" not in hops


def test_redirects_to_private_addresses_are_refused(hostile: Hostile) -> None:
    """Redirects to 169.254.169.254, 10.0.0.1 and IPv4-mapped 192.168.0.1 are refused at the hop."""
    report = hostile.result["redirect-private"]
    assert report["failed"]
    assert report["documents_failed"] == 3
    assert report["errors"] == 3
    errors = _error(hostile, "redirect-private")
    for address in ("169.254.169.254", "10.0.0.1", "::ffff:192.168.0.1"):
        assert f"{address} is a non-public address" in errors


def test_a_meta_refresh_loop_ends(hostile: Hostile) -> None:
    """Pages that refresh to a new URL forever stop at fetch.max_redirects; nothing is published."""
    refreshes = [p for p in hostile.paths("meta-refresh") if p.startswith("/refresh/")]
    assert len(refreshes) == MAX_REDIRECTS + 1
    assert hostile.result["meta-refresh"]["published"] == 0
    assert "max redirections reached" in _error(hostile, "meta-refresh")


def test_50_mb_pages_are_cut_at_max_size(hostile: Hostile) -> None:
    """A 50 MB page is dropped at its Content-Length or, streamed without one, at fetch.max_size."""
    assert hostile.result["huge-page"]["fetched"] == 0
    assert hostile.result["huge-page"]["errors"] == 2
    assert "larger than download max size" in _error(hostile, "huge-page")
    for path in ("/big/stream", "/big/declared"):
        (hit,) = hostile.web.requests("huge-page", path)
        assert hit.client_hung_up
        assert hit.sent < 50 * 1024 * 1024


def test_a_100000_item_feed_yields_max_items(hostile: Hostile) -> None:
    """A feed of 100,000 items is read, and fetch.max_items_per_feed of them are fetched."""
    assert hostile.result["huge-feed"]["entries"] == FETCH["max_items_per_feed"]
    articles = [p for p in hostile.paths("huge-feed") if p.startswith("/a/")]
    assert len(articles) == FETCH["max_items_per_feed"]


def test_billion_laughs_are_not_expanded(hostile: Hostile) -> None:
    """Entity bombs in a feed and a sitemap are read as malformed (degraded), never expanded:
    no expansion reaches a link, a record or an error, and nothing else is asked for.

    How much of the damaged document libxml2 recovers (a ``<loc>`` cut at the entity, or
    nothing) differs between its versions, so the count of entries is not the property."""
    report = hostile.result["laughs"]
    assert report["documents_read"] == 2
    assert hostile.state("laughs")["state"] == "degraded"
    assert set(hostile.paths("laughs")) == {"/robots.txt", "/feed.xml", "/sitemap.xml"}
    assert hostile.records("laughs") == []
    assert "lol" not in json.dumps(report)


def test_external_entities_are_never_resolved(hostile: Hostile) -> None:
    """XXE in a feed and a sitemap: the canary URL is never asked for and no file text leaks."""
    paths = hostile.paths("xxe")
    assert not [p for p in paths if p.startswith("/canary")]
    # "/a/9&file;&net;" is a link cut at an entity: dropped, never fetched as "/a/9" (sitemaps.py).
    assert [p for p in paths if p.startswith("/a/")] == []
    assert hostile.result["xxe"]["documents_read"] == 2
    for record in hostile.records("xxe"):
        assert "root:" not in json.dumps(record)


def test_a_windows_1252_page_served_as_utf8_is_read_right(hostile: Hostile) -> None:
    """Header and declaration say UTF-8, bytes are windows-1252: the feed and the page decode right."""
    assert hostile.result["charset"]["entries"] == 1
    (record,) = hostile.records("charset")
    assert record["title"] == CHARSET_TITLE
    assert "\ufffd" not in str(record["text"])
    assert "traversée" in str(record["text"])


def test_a_self_referencing_sitemap_index_is_read_once(hostile: Hostile) -> None:
    """A sitemap index listing itself, and a cycle through a second index, read each sitemap once."""
    sitemaps = [p for p in hostile.paths("self-index") if p.startswith("/sitemap")]
    assert sorted(sitemaps) == ["/sitemap-b.xml", "/sitemap-c.xml", "/sitemap.xml"]
    assert hostile.result["self-index"]["published"] == 1


def test_crawl_traps_on_a_section_page_are_not_followed(hostile: Hostile) -> None:
    """Calendars, repeating and endless paths, over-long URLs: only the two real articles are fetched."""
    fetched = [p for p in hostile.paths("trap") if p not in ("/robots.txt", "/section/")]
    assert sorted(fetched) == [f"/news/2025/06/10/ferry-timetable-changes-announced-{n}" for n in (91, 92)]
    assert hostile.result["trap"]["published"] == 2


def test_html_served_as_a_feed_fails_clearly(hostile: Hostile) -> None:
    """An HTML page where the feed should be fails the source with a message that says so."""
    assert hostile.result["html-feed"]["failed"]
    assert "not a feed: got an HTML page" in _error(hostile, "html-feed")


def test_robots_disallow_and_crawl_delay_are_obeyed(hostile: Hostile) -> None:
    """Disallow: /private/ is never fetched (and not an error), and the other articles are.

    The gaps Crawl-delay: 1 puts between the requests are measured by bench/politeness.py, not
    asserted here: a test never times the wall clock."""
    hits = hostile.web.requests("polite")
    assert "/private/a1" not in [h.path for h in hits]
    assert hostile.result["polite"]["errors"] == 0
    assert hostile.result["polite"]["published"] == 3


def test_non_html_articles_are_skipped_and_remembered(hostile: Hostile) -> None:
    """An article that is a PDF is counted as rejected, not as an error, and marked seen."""
    report = hostile.result["non-html"]
    assert (report["rejected"], report["fetched"], report["errors"]) == (1, 0, 0)
    config = load_config(hostile.config, env={})
    store = StoryStore(hostile.client, hostile.keys, config.dedup, config.feed)
    url = canonicalize(hostile.web.outlet("non-html").url("/a/doc"), config.dedup.tracking_params)
    assert store.unseen([url]) == []


def test_entries_older_than_max_age_are_skipped(hostile: Hostile) -> None:
    """Feed items and sitemap entries (lastmod, news:publication_date) older than fetch.max_age are skipped."""
    articles = sorted(p for p in hostile.paths("stale") if p.startswith("/a/"))
    assert articles == ["/a/102", "/a/104"]


def test_a_feed_is_discovered_from_the_home_page(hostile: Hostile) -> None:
    """A source with only a home page gets its feed from the page's <link rel=alternate>."""
    assert hostile.paths("home")[:3] == ["/robots.txt", "/", "/feed.xml"]
    assert hostile.result["home"]["published"] == 1


def test_robots_sitemaps_are_read_when_the_home_page_has_no_feed(hostile: Hostile) -> None:
    """No feed link on the home page: the Sitemap: lines of robots.txt (fetched once) are read."""
    paths = hostile.paths("home-robots")
    assert paths.count("/robots.txt") == 1
    assert "/news-sitemap.xml" in paths
    assert hostile.result["home-robots"]["published"] == 1


def test_robots_sitemaps_option_adds_the_listed_sitemaps(hostile: Hostile) -> None:
    """robots_sitemaps: true reads the Sitemap: lines of robots.txt besides the source's feed."""
    paths = hostile.paths("robots-option")
    assert paths.count("/robots.txt") == 1
    assert sorted(p for p in paths if p.startswith("/a/")) == ["/a/111", "/a/112"]
    assert hostile.result["robots-option"]["published"] == 2
