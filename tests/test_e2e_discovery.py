"""End to end: ``newsmon crawl`` reads six feeds a strict parser would lose, and publishes every article.

A loopback web (``tests.hostile.server``) serves one outlet per feed defect, two undated articles
each, so the record's ``published`` can only come from the feed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

import pytest
import redis

from newsmon.scheduler.keys import Keys
from newsmon.scheduler.redis_conn import connect
from tests.helpers import delete_keys
from tests.hostile import CrawlResult, HostileWeb, crawl, write_config
from tests.hostile.content import now_utc, paragraphs
from tests.hostile.outlets import ROBOTS_OK, Exchange, Handler
from tests.hostile.server import Outlet

FIRST_HOST = 120
RSS = "application/rss+xml; charset=utf-8"


def _undated_article(ex: Exchange) -> bytes:
    seed = hash((ex.base_url, ex.path)) & 0xFFFFFF
    title = f"Harbour ferry timetable story {seed}"
    body = "".join(f"<p>{escape(p)}</p>\n" for p in paragraphs(seed))
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>'
            f"<body><main><article><h1>{title}</h1>{body}</article></main></body></html>").encode()


async def _article(ex: Exchange) -> None:
    await ex.respond(200, _undated_article(ex))


def _when(index: int) -> datetime:
    """The feed date of an article: whole minutes, a few minutes old."""
    return (now_utc() - timedelta(minutes=20 + index)).replace(second=0)


def _rss(items: str, namespaces: str = "", channel: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"{namespaces}><channel><title>T</title>'
            f"{channel}{items}</channel></rss>").encode()


def _rfc822(when: datetime) -> str:
    return when.strftime("%a, %d %b %Y %H:%M:%S +0000")


def _unclosed_before(ex: Exchange) -> bytes:
    items = "".join(f"<item><title>Story {n}</title><link>{ex.base_url}/a/{n}</link>"
                    f"<pubDate>{_rfc822(_when(n))}</pubDate></item>" for n in (1, 2))
    return _rss(items, channel="<category>News<image/>")


def _malformed_items(ex: Exchange) -> bytes:
    first = (f"<item><title>Story <b>one</title><link>{ex.base_url}/a/1</link>"
             f"<pubDate>{_rfc822(_when(1))}</pubDate></item>")
    last = f"<item><title>Story two</title><link>{ex.base_url}/a/2</link><pubDate>{_rfc822(_when(2))}</pubDate></it"
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{first}{last}'.encode()


def _atom_in_xhtml(ex: Exchange) -> bytes:
    entries = "".join(f'<entry><title>Story {n}</title><link href="{ex.base_url}/a/{n}"/><id>urn:{n}</id>'
                      f"<published>{_when(n).isoformat()}</published></entry>" for n in (1, 2))
    return (f'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title></head><body>'
            f'<feed xmlns="http://www.w3.org/2005/Atom"><title>F</title>{entries}</feed></body></html>').encode()


def _json_feed_1_0(ex: Exchange) -> bytes:
    items = [{"id": str(n), "url": f"{ex.base_url}/a/{n}", "title": f"Story {n}",
              "date_published": _when(n).isoformat()} for n in (1, 2)]
    return json.dumps({"version": "https://jsonfeed.org/version/1", "title": "J", "items": items}).encode()


def _pubdate_in_et(ex: Exchange) -> bytes:
    eastern = ZoneInfo("America/New_York")
    items = "".join(f"<item><title>Story {n}</title><link>{ex.base_url}/a/{n}</link>"
                    f"<pubDate>{_when(n).astimezone(eastern).strftime('%a, %d %b %Y %H:%M:%S')} ET</pubDate></item>"
                    for n in (1, 2))
    return _rss(items)


def _dcterms_issued(ex: Exchange) -> bytes:
    items = "".join(f"<item><title>Story {n}</title><link>{ex.base_url}/a/{n}</link>"
                    f"<dcterms:issued>{_when(n).isoformat()}</dcterms:issued></item>" for n in (1, 2))
    return _rss(items, ' xmlns:dcterms="http://purl.org/dc/terms/"')


FEEDS = {
    "unclosed-before-items": (_unclosed_before, RSS),
    "malformed-items": (_malformed_items, RSS),
    "atom-in-xhtml": (_atom_in_xhtml, "application/xhtml+xml; charset=utf-8"),
    "json-feed-1-0": (_json_feed_1_0, "application/feed+json"),
    "pubdate-in-et": (_pubdate_in_et, RSS),
    "dcterms-issued": (_dcterms_issued, RSS),
}


def _feed_handler(make: object, content_type: str) -> Handler:
    async def handler(ex: Exchange) -> None:
        await ex.respond(200, make(ex), content_type)  # type: ignore[operator]
    return handler


def _outlets() -> list[Outlet]:
    return [Outlet(name=name, host=f"127.0.0.{FIRST_HOST + index}",
                   routes=[("/robots.txt", ROBOTS_OK), ("/feed.xml", _feed_handler(*FEEDS[name])), ("/a/*", _article)])
            for index, name in enumerate(FEEDS)]


class Crawled:
    def __init__(self, result: CrawlResult, records: list[dict[str, object]]) -> None:
        self.result = result
        self.records = records


@pytest.fixture(scope="module")
def crawled(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    """The six outlets, polled once."""
    keys = Keys(f"newsmon-test-{uuid.uuid4().hex[:12]}")
    client: redis.Redis = connect(redis_url)
    try:
        with HostileWeb(_outlets()) as web:
            sources = [{"name": o.name, "feeds": [o.url("/feed.xml")]} for o in web.outlets.values()]
            config = write_config(tmp_path_factory.mktemp("discovery"), sources, redis_url, keys.prefix)
            result = crawl(config)
            entries = client.xrange(keys.articles)
            yield Crawled(result, [json.loads(fields[b"record"]) for _, fields in entries])
    finally:
        delete_keys(client, keys)
        client.close()


def test_all_twelve_articles_are_published(crawled: Crawled) -> None:
    """Each of the six defective feeds gives its two articles; all 12 are published."""
    published = sorted((r["source"], str(r["url"]).rsplit("/", 1)[1]) for r in crawled.records)
    assert published == sorted((name, str(n)) for name in FEEDS for n in (1, 2)), crawled.result.log[-3000:]


def test_published_is_the_feed_date_to_the_minute(crawled: Crawled) -> None:
    """Undated pages take the feed's date, right to the minute (ET at New York's offset, dcterms:issued...)."""
    for record in crawled.records:
        n = int(str(record["url"]).rsplit("/", 1)[1])
        published = datetime.fromisoformat(str(record["published"]))
        assert abs(published - _when(n)) < timedelta(minutes=2), (record["source"], record["published"])
        assert published.second == 0, (record["source"], record["published"])
