"""The hostile outlets: one misbehaviour each, on an address of its own (127.0.0.30, .31, ...).

Each outlet serves a plain ``/robots.txt`` unless its case is about robots.txt, and ``/a/<n>``
article pages that newsmon's extraction accepts. ``CASES`` names every outlet with the
behaviour newsmon must show; ``tests/test_hostile.py`` asserts it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from email.utils import format_datetime

from tests.hostile import content
from tests.hostile.server import Exchange, Handler, Outlet

RSS = "application/rss+xml; charset=utf-8"
XML = "application/xml; charset=utf-8"
HTML = "text/html; charset=utf-8"
FIRST_HOST = 30

#: outlet -> the behaviour newsmon must show (the test of the same name asserts it).
CASES: dict[str, str] = {
    "healthy": "served normally: its three articles are published while the others misbehave",
    "drip": "feed sent one byte a second: cut off at fetch.timeout, the source fails",
    "silent": "connection accepted, never answered: cut off at fetch.timeout",
    "headers-hang": "headers sent, then nothing: cut off at fetch.timeout",
    "reset": "connection reset mid-body: the document fails at once",
    "short-body": "Content-Length longer than the body: data loss is an error, not a short feed",
    "bad-chunked": "broken chunked encoding: the document fails",
    "gzip-bomb": "256 MB of zeros gzipped: decompression stops at fetch.max_size",
    "brotli-bomb": "256 MB of zeros brotli-compressed: decompression stops at fetch.max_size",
    "ratelimited": "429 with Retry-After seconds: host blocked in Redis, request deferred, source not failed",
    "unavailable": "503 with a Retry-After date: the same",
    "brief-429": "429 with Retry-After: 1: waited out inside the crawl, then published",
    "storm": "every answer a 5xx: retried fetch.retries times, the source fails, nobody else notices",
    "robots-down": "robots.txt answers 503: nothing else is fetched from the host (RFC 9309)",
    "redirect-loop": "two URLs redirecting to each other: stops at fetch.max_redirects",
    "redirect-chain": "25 redirect hops: stops at fetch.max_redirects",
    "redirect-private": "redirects to 169.254.169.254 and 10.0.0.1: refused by the address guard",
    "meta-refresh": "pages refreshing to a new URL forever: stops at fetch.max_redirects",
    "huge-page": "50 MB article pages, with and without Content-Length: cut at fetch.max_size",
    "huge-feed": "a feed of 100,000 items: fetch.max_items_per_feed of them are taken",
    "laughs": "billion laughs in a feed and a sitemap: entities are not expanded",
    "xxe": "external entities (file and http) in a feed and a sitemap: never resolved",
    "charset": "header and XML declaration say UTF-8, bytes are windows-1252: read as windows-1252",
    "self-index": "a sitemap index that lists itself (and a cycle): each sitemap read once",
    "trap": "a section page full of calendars, repeating paths and endless URLs: none followed",
    "html-feed": "an HTML page served as the feed: the source fails with a clear message",
    "polite": "robots.txt with Disallow and Crawl-delay: 1: obeyed",
    "non-html": "an article that is a PDF: skipped, not an error",
    "stale": "feed items and sitemap entries older than fetch.max_age: skipped",
    "home": "only a home page with a feed link: the feed is discovered",
    "home-robots": "a home page without a feed link: the sitemaps of robots.txt are read",
    "robots-option": "robots_sitemaps: true: the sitemaps robots.txt lists are read besides the feed",
}


# -- handler factories -------------------------------------------------------------------------
def body(make: Callable[[Exchange], bytes], content_type: str = RSS, status: int = 200,
         headers: dict[str, str] | None = None) -> Handler:
    async def handler(ex: Exchange) -> None:
        await ex.respond(status, make(ex), content_type, headers)
    return handler


def static(data: bytes, content_type: str = RSS, status: int = 200, headers: dict[str, str] | None = None) -> Handler:
    return body(lambda ex: data, content_type, status, headers)


def redirect(target: Callable[[Exchange], str], status: int = 302) -> Handler:
    async def handler(ex: Exchange) -> None:
        await ex.respond(status, b"", None, {"Location": target(ex)})
    return handler


ROBOTS_OK = static(b"User-agent: *\nAllow: /\n", "text/plain")


async def article(ex: Exchange) -> None:
    """``/a/<n>``: an article published ten minutes ago."""
    n = int("".join(c for c in ex.path.rsplit("/", 1)[-1] if c.isdigit()) or 0)
    seed = hash((ex.base_url, ex.path)) & 0xFFFFFF  # a different story on every outlet
    page = content.article_html(f"Ferry timetable story {seed} number {n} for the harbour",
                                content.now_utc() - timedelta(minutes=10), seed)
    await ex.respond(200, page)


def feed_of(*paths: str, age: timedelta = timedelta(minutes=20)) -> Handler:
    """An RSS feed linking to ``paths`` of the same outlet, all ``age`` old."""
    def make(ex: Exchange) -> bytes:
        when = content.now_utc() - age
        return content.rss([(f"Story {p}", ex.base_url + p, when) for p in paths])
    return body(make)


def _outlet(name: str, index: int, routes: list[tuple[str, Handler]], robots: Handler | None = ROBOTS_OK) -> Outlet:
    base: list[tuple[str, Handler]] = [("/robots.txt", robots)] if robots is not None else []
    return Outlet(name=name, host=f"127.0.0.{FIRST_HOST + index}", routes=[*base, *routes, ("/a/*", article)])


# -- protocol-level misbehaviour ---------------------------------------------------------------
async def drip(ex: Exchange) -> None:
    """One byte a second of a 10 kB feed, until the client gives up."""
    data = content.rss([("x", ex.base_url + "/a/1", None)]) * 40
    if not await ex.write(ex.head(200, {"Content-Type": RSS}, length=len(data))):
        return
    for byte in data:
        if not await ex.write(bytes([byte])):
            return
        if await ex.wait_for_hang_up(1.0):
            return


async def silent(ex: Exchange) -> None:
    await ex.wait_for_hang_up()


async def headers_then_hang(ex: Exchange) -> None:
    if await ex.write(ex.head(200, {"Content-Type": RSS}, length=5000)):
        await ex.wait_for_hang_up()


async def reset_mid_body(ex: Exchange) -> None:
    data = content.rss([("x", ex.base_url + "/a/1", None)]) * 20
    await ex.write(ex.head(200, {"Content-Type": RSS}, length=len(data)) + data[: len(data) // 3])
    await asyncio.sleep(0.1)  # let the first part leave before the RST
    ex.reset()


async def short_body(ex: Exchange) -> None:
    data = content.rss([("Story", ex.base_url + "/a/1", content.now_utc())])
    await ex.write(ex.head(200, {"Content-Type": RSS}, length=len(data) + 5000) + data)
    # Then a normal close (FIN): the client has fewer bytes than announced.


async def bad_chunked(ex: Exchange) -> None:
    head = ex.head(200, {"Content-Type": RSS, "Transfer-Encoding": "chunked"})
    await ex.write(head + b"5\r\n<?xml\r\nzz\r\nthis is not a chunk size\r\n")


def bomb(data: Callable[[], bytes], encoding: str) -> Handler:
    async def handler(ex: Exchange) -> None:
        await ex.respond(200, data(), RSS, {"Content-Encoding": encoding})
    return handler


async def stream_50mb(ex: Exchange) -> None:
    """50 MB of HTML, close-delimited (no Content-Length)."""
    if not await ex.write(ex.head(200, {"Content-Type": HTML})):
        return
    chunk = b"<p>" + b"padding " * 8000 + b"</p>\n"
    total = 0
    while total < 50 * 1024 * 1024:
        if not await ex.write(chunk):
            return
        total += len(chunk)


async def declared_50mb(ex: Exchange) -> None:
    """A Content-Length of 50 MB, then the bytes, as long as the client reads."""
    if not await ex.write(ex.head(200, {"Content-Type": HTML}, length=50 * 1024 * 1024)):
        return
    chunk = b" " * 65536
    for _ in range(50 * 16):
        if not await ex.write(chunk):
            return


# -- the catalogue -----------------------------------------------------------------------------
def _rate_limited(status: int, retry_after: Callable[[], str]) -> Handler:
    async def handler(ex: Exchange) -> None:
        await ex.respond(status, b"slow down", "text/plain", {"Retry-After": retry_after()})
    return handler


def _brief_429() -> Handler:
    served = {"n": 0}

    async def handler(ex: Exchange) -> None:
        served["n"] += 1
        if served["n"] == 1:
            await ex.respond(429, b"one moment", "text/plain", {"Retry-After": "1"})
        else:
            await feed_of("/a/71")(ex)
    return handler


def _storm() -> Handler:
    codes = [500, 502, 503]
    served = {"n": 0}

    async def handler(ex: Exchange) -> None:
        served["n"] += 1
        await ex.respond(codes[served["n"] % 3], b"<html><body>oops</body></html>")
    return handler


def _refresh(ex: Exchange) -> bytes:
    n = int(ex.path.rsplit("/", 1)[-1] or 0)
    return (f'<html><head><meta http-equiv="refresh" content="0; url=/refresh/{n + 1}"></head>'
            f"<body>moved</body></html>").encode()


CHARSET_TITLE = "Caf\u00e9 cr\u00e8me \u00e0 Z\u00fcrich : la travers\u00e9e r\u00e9organis\u00e9e"


def _charset_feed(ex: Exchange) -> bytes:
    text = ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Caf\u00e9 Z\u00fcrich'
            f"</title><item><title>Caf\u00e9 na\u00efve \u2013 d\u00e9j\u00e0 vu</title><link>{ex.base_url}/a/81</link>"
            f"<pubDate>{format_datetime(content.now_utc())}</pubDate></item></channel></rss>\n")
    return text.encode("cp1252")


async def _charset_article(ex: Exchange) -> None:
    page = content.french_article_html(CHARSET_TITLE, content.now_utc())
    await ex.respond(200, page.encode("cp1252"), "text/html; charset=utf-8")


def _trap_page(ex: Exchange) -> bytes:
    base = ex.base_url
    links = [f"{base}/news/2025/06/10/ferry-timetable-changes-announced-{n}" for n in (91, 92)]
    links += [f"{base}/events/calendar?month=2025-{m:02d}" for m in range(1, 13)]
    links += [f"{base}/archive/2025/01/2024/12/2023/11/story-{n}" for n in range(5)]
    links += [f"{base}/a/b/a/b/a/b/deep-link-{n}" for n in range(5)]
    links += [f"{base}/news/{'/'.join(['x' + str(i) for i in range(20)])}/endless-{n}" for n in range(5)]
    links += [f"{base}/news/2025/06/10/{'very-long-slug-' * 200}{n}" for n in range(3)]
    anchors = "".join(f'<li><a href="{href}">A headline about the harbour ferry number {i}</a></li>'
                      for i, href in enumerate(links))
    return f"<html><body><h1>World</h1><ul>{anchors}</ul></body></html>".encode()


def _stale_feed(ex: Exchange) -> bytes:
    now = content.now_utc()
    return content.rss([("Old", ex.base_url + "/a/101", now - timedelta(days=30)),
                        ("Fresh", ex.base_url + "/a/102", now - timedelta(minutes=30))])


def _stale_sitemap(ex: Exchange) -> bytes:
    now = content.now_utc()
    return content.sitemap([(ex.base_url + "/a/103", now - timedelta(days=40)),
                            (ex.base_url + "/a/104", now - timedelta(hours=1))], news=True)


def build_outlets() -> list[Outlet]:
    """Every outlet of :data:`CASES`, in that order."""
    laughs_rss, laughs_map = content.billion_laughs("rss"), content.billion_laughs("urlset")
    routes: dict[str, list[tuple[str, Handler]]] = {
        "healthy": [("/feed.xml", feed_of("/a/1", "/a/2", "/a/3"))],
        "drip": [("/feed.xml", drip)],
        "silent": [("/feed.xml", silent)],
        "headers-hang": [("/feed.xml", headers_then_hang)],
        "reset": [("/feed.xml", reset_mid_body)],
        "short-body": [("/feed.xml", short_body)],
        "bad-chunked": [("/feed.xml", bad_chunked)],
        "gzip-bomb": [("/feed.xml", bomb(content.gzip_bomb, "gzip"))],
        "brotli-bomb": [("/feed.xml", bomb(content.brotli_bomb, "br"))],
        "ratelimited": [("/feed.xml", _rate_limited(429, lambda: "3600"))],
        "unavailable": [("/feed.xml", _rate_limited(
            503, lambda: format_datetime(content.now_utc() + timedelta(hours=2), usegmt=True)))],
        "brief-429": [("/feed.xml", _brief_429())],
        "storm": [("/feed.xml", _storm()), ("/a/*", _storm())],
        "robots-down": [("/feed.xml", feed_of("/a/1"))],
        "redirect-loop": [("/feed.xml", redirect(lambda ex: "/loop-b")), ("/loop-b", redirect(lambda ex: "/feed.xml"))],
        "redirect-chain": [("/feed.xml", redirect(lambda ex: "/hop/1")),
                           ("/hop/*", redirect(lambda ex: (f"/hop/{int(ex.path.rsplit('/', 1)[1]) + 1}"
                                                           if int(ex.path.rsplit("/", 1)[1]) < 25 else "/real.xml"))),
                           ("/real.xml", feed_of("/a/1"))],
        "redirect-private": [("/feed.xml", redirect(lambda ex: "http://169.254.169.254/latest/meta-data/")),
                             ("/feed2.xml", redirect(lambda ex: "http://10.0.0.1/feed.xml")),
                             ("/feed3.xml", redirect(lambda ex: "http://[::ffff:192.168.0.1]/feed.xml"))],
        "meta-refresh": [("/feed.xml", feed_of("/refresh/0")), ("/refresh/*", body(_refresh, HTML))],
        "huge-page": [("/feed.xml", feed_of("/big/stream", "/big/declared")),
                      ("/big/stream", stream_50mb), ("/big/declared", declared_50mb)],
        "huge-feed": [("/feed.xml", body(lambda ex: content.huge_feed(ex.base_url, 100_000, content.now_utc())))],
        "laughs": [("/feed.xml", static(laughs_rss)), ("/sitemap.xml", static(laughs_map, XML))],
        "xxe": [("/feed.xml", body(lambda ex: content.xxe("rss", ex.base_url))),
                ("/sitemap.xml", body(lambda ex: content.xxe("urlset", ex.base_url), XML)),
                ("/canary*", static(b"root:x:0:0:canary", "text/plain"))],
        "charset": [("/feed.xml", body(_charset_feed)), ("/a/81", _charset_article)],
        "self-index": [("/sitemap.xml", body(lambda ex: content.sitemap_index(
                           [ex.base_url + "/sitemap.xml", ex.base_url + "/sitemap-b.xml"]), XML)),
                       ("/sitemap-b.xml", body(lambda ex: content.sitemap_index(
                           [ex.base_url + "/sitemap.xml", ex.base_url + "/sitemap-c.xml"]), XML)),
                       ("/sitemap-c.xml", body(lambda ex: content.sitemap(
                           [(ex.base_url + "/a/61", content.now_utc())]), XML))],
        "trap": [("/section/", body(_trap_page, HTML)), ("/news/*", article)],
        "html-feed": [("/feed.xml", static(b"<!DOCTYPE html><html><body>Welcome!</body></html>", HTML))],
        "polite": [("/feed.xml", feed_of("/private/a1", "/a/2", "/a/3", "/a/4"))],
        "non-html": [("/feed.xml", feed_of("/a/doc")),
                     ("/a/doc", static(b"%PDF-1.4 not really", "application/pdf"))],
        "stale": [("/feed.xml", body(_stale_feed)), ("/sitemap.xml", body(_stale_sitemap, XML))],
        "home": [("/", static(b'<html><head><link rel="alternate" type="application/rss+xml" href="/feed.xml">'
                              b"</head><body>Home</body></html>", HTML)), ("/feed.xml", feed_of("/a/41"))],
        "home-robots": [("/", static(b"<html><body>Home, no feed here</body></html>", HTML)),
                        ("/news-sitemap.xml", body(lambda ex: content.sitemap(
                            [(ex.base_url + "/a/51", content.now_utc())], news=True), XML))],
        "robots-option": [("/feed.xml", feed_of("/a/111")),
                          ("/news-sitemap.xml", body(lambda ex: content.sitemap(
                              [(ex.base_url + "/a/112", content.now_utc())], news=True), XML))],
    }
    robots: dict[str, Handler | None] = {
        "storm": static(b"gone", "text/plain", status=404),
        "robots-down": static(b"down", "text/plain", status=503),
        "polite": static(b"User-agent: *\nDisallow: /private/\nCrawl-delay: 1\n", "text/plain"),
        "home-robots": body(lambda ex: f"User-agent: *\nAllow: /\nSitemap: {ex.base_url}/news-sitemap.xml\n".encode(),
                            "text/plain"),
        "robots-option": body(lambda ex: f"Sitemap: {ex.base_url}/news-sitemap.xml\n".encode(), "text/plain"),
    }
    assert list(routes) == list(CASES)
    return [_outlet(name, i, r, robots.get(name, ROBOTS_OK)) for i, (name, r) in enumerate(routes.items())]


def source_of(outlet: Outlet) -> dict[str, object]:
    """The newsmon source for an outlet (as YAML-ready data)."""
    name = outlet.name
    paths = {route for route, _ in outlet.routes}
    source: dict[str, object] = {"name": name}
    if name.startswith("home"):
        source["home"] = outlet.url("/")
    elif name == "trap":
        source["pages"] = [outlet.url("/section/")]
    elif name == "redirect-private":
        source["feeds"] = [outlet.url(p) for p in ("/feed.xml", "/feed2.xml", "/feed3.xml")]
    else:
        if "/feed.xml" in paths:
            source["feeds"] = [outlet.url("/feed.xml")]
        if "/sitemap.xml" in paths:
            source["sitemaps"] = [outlet.url("/sitemap.xml")]
    if name == "robots-option":
        source["robots_sitemaps"] = True
    return source


# -- outlets whose case spans two polls ---------------------------------------------------------
#: outlet -> what the second poll must show (``tests/test_hostile_polls.py``).
POLL_CASES: dict[str, str] = {
    "honest": "declares <ttl>90</ttl>, answers If-None-Match with 304: the second poll reads nothing",
    "liar-etag": "a new ETag on every answer for the same bytes: the body hash says unchanged",
    "liar-stale": "the same ETag and Last-Modified while the feed changes, conditionals ignored: new item found",
    "blocked": "429 Retry-After 3600: the second poll sends the host nothing at all",
    "deferred-article": "its article answered 429 Retry-After 3600: not seen, fetched once the block is over",
    "failing": "its feed is HTML: fails twice, backs off (newsmon status shows until when)",
    "degraded": "its feed is malformed but readable, and unchanged at the second poll: status shows degraded",
}
POLL_FIRST_HOST = 80


async def _honest(ex: Exchange) -> None:
    etag = '"v1"'
    if ex.header("If-None-Match") == etag:
        await ex.respond(304, b"", None, {"ETag": etag})
        return
    feed = content.rss([("Honest", ex.base_url + "/a/301", content.now_utc())], extra_channel="<ttl>90</ttl>")
    await ex.respond(200, feed, RSS, {"ETag": etag})


async def _liar_etag(ex: Exchange) -> None:
    ex.state["served"] = ex.state.get("served", 0) + 1
    data = ex.state.setdefault("body", content.rss([("Liar", ex.base_url + "/a/311", content.now_utc())]))
    await ex.respond(200, data, RSS, {"ETag": f'"v{ex.state["served"]}"'})


async def _liar_stale(ex: Exchange) -> None:
    items = [("Stale one", ex.base_url + "/a/321", content.now_utc() - timedelta(minutes=30))]
    if ex.state.get("second"):
        items.insert(0, ("Stale two", ex.base_url + "/a/322", content.now_utc()))
    await ex.respond(200, content.rss(items), RSS,
                     {"ETag": '"forever"', "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"})


async def _deferred_article(ex: Exchange) -> None:
    if ex.state.get("open"):
        await article(ex)
    else:
        await ex.respond(429, b"later", "text/plain", {"Retry-After": "3600"})


def build_poll_outlets() -> list[Outlet]:
    routes: dict[str, list[tuple[str, Handler]]] = {
        "honest": [("/feed.xml", _honest)],
        "liar-etag": [("/feed.xml", _liar_etag)],
        "liar-stale": [("/feed.xml", _liar_stale)],
        "blocked": [("/feed.xml", _rate_limited(429, lambda: "3600"))],
        "deferred-article": [("/feed.xml", feed_of("/a/331")), ("/a/331", _deferred_article)],
        "failing": [("/feed.xml", static(b"<!DOCTYPE html><html><body>Welcome!</body></html>", HTML))],
        # The same bytes on every poll: the second poll finds it unchanged, and still degraded.
        "degraded": [("/feed.xml", body(lambda ex: ex.state.setdefault("body", content.rss(
            [("Broken", ex.base_url + "/a/341", content.now_utc())]).replace(b"</channel>", b""))))],
    }
    assert list(routes) == list(POLL_CASES)
    return [Outlet(name=name, host=f"127.0.0.{POLL_FIRST_HOST + i}", routes=[("/robots.txt", ROBOTS_OK), *r,
                                                                             ("/a/*", article)])
            for i, (name, r) in enumerate(routes.items())]
