"""Finding and checking a source's feeds and sitemaps once, outside the daemon (``newsmon sources``).

:func:`discover` takes a home page or a feed URL: a feed is taken as it is; a home page's feeds
are found by autodiscovery (``<link rel="alternate">``, then feed-like links) and its sitemaps
from the ``Sitemap:`` lines of its robots.txt. Each is fetched and read once, with the crawl's
fetch policy (user agent, timeout, size limit, address guard); only those that read are kept.
:func:`preview` reads a configured source's feeds and sitemaps the same way and lists the
articles a poll would go on to fetch. Neither writes anything, to Redis or elsewhere.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

from newsmon.crawler.discovery.feeds import parse_feed
from newsmon.crawler.discovery.pages import find_feed_links
from newsmon.crawler.discovery.sitemaps import parse_sitemap, robots_sitemaps
from newsmon.crawler.items import Discovery, DiscoveryError, Entry
from newsmon.crawler.standalone import FetchError, fetch_page
from newsmon.settings.model import Config, Source

logger = logging.getLogger(__name__)

#: At most this many feeds a home page announces are checked (the first ones are the main feeds).
MAX_FEEDS = 5


@dataclass
class Document:
    """One feed or sitemap, read once: its entries, or why it could not be read."""

    url: str
    kind: str  # "feed" or "sitemap"
    discovery: Discovery | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.discovery is not None


@dataclass
class Found:
    """What :func:`discover` found behind a URL."""

    url: str
    home: str | None = None
    feeds: list[Document] = field(default_factory=list)
    sitemaps: list[Document] = field(default_factory=list)
    title: str | None = None
    language: str | None = None

    @property
    def usable(self) -> list[Document]:
        return [d for d in (*self.feeds, *self.sitemaps) if d.ok]


def read(url: str, kind: str, config: Config) -> Document:
    """Fetch and read one feed or sitemap."""
    try:
        body, final = fetch_page(url, config)
    except FetchError as exc:
        return Document(url, kind, error=str(exc))
    try:
        if kind == "feed":
            found = parse_feed(body, final, max_items=config.fetch.max_items_per_feed,
                               max_size=config.fetch.max_size)
        else:
            found = parse_sitemap(body, final, max_size=config.fetch.max_size)
    except DiscoveryError as exc:
        return Document(url, kind, error=str(exc))
    return Document(url, kind, discovery=found)


def discover(url: str, config: Config) -> Found:
    """The feeds and sitemaps behind ``url`` (a feed, or a home page), each read once.

    Raises:
        FetchError: ``url`` itself cannot be fetched.
    """
    body, final = fetch_page(url, config)
    try:
        feed = parse_feed(body, final, max_items=config.fetch.max_items_per_feed, max_size=config.fetch.max_size)
    except DiscoveryError:
        feed = None
    if feed is not None:
        entries = feed.entries
        return Found(url, feeds=[Document(url, "feed", discovery=feed)], title=feed.title,
                     language=next((e.language for e in entries if e.language), None))
    found = Found(url, home=final, title=_html_title(body), language=_html_language(body))
    for link in find_feed_links(body, final)[:MAX_FEEDS]:
        found.feeds.append(read(link, "feed", config))
    origin = f"{urlsplit(final).scheme}://{urlsplit(final).netloc}"
    try:
        robots, robots_url = fetch_page(urljoin(origin, "/robots.txt"), config)
    except FetchError as exc:
        logger.debug("%s/robots.txt: %s", origin, exc)
    else:
        for sitemap in robots_sitemaps(robots.decode("utf-8", "replace"), robots_url):
            found.sitemaps.append(read(sitemap, "sitemap", config))
    return found


def preview(source: Source, config: Config, *, now: datetime | None = None) -> tuple[list[Document], list[Entry]]:
    """Read ``source``'s feeds and sitemaps once; return them and the articles a poll would fetch:
    the entries within ``fetch.max_age``, newest first, each URL once."""
    now = now or datetime.now(UTC)
    documents = [read(u, "feed", config) for u in source.feeds]
    documents += [read(u, "sitemap", config) for u in source.sitemaps]
    seen: set[str] = set()
    entries: list[Entry] = []
    for document in documents:
        for entry in document.discovery.entries if document.discovery else ():
            when = entry.published or entry.updated
            if entry.url in seen or (when is not None and now - when > config.fetch.max_age):
                continue
            seen.add(entry.url)
            entries.append(entry)
    entries.sort(key=lambda e: e.published or e.updated or datetime.min.replace(tzinfo=UTC), reverse=True)
    return documents, entries


def suggest_name(url: str, taken: Sequence[str]) -> str:
    """A source name from ``url``'s host (``www.lemonde.fr`` -> ``lemonde-fr``), unique among ``taken``."""
    host = (urlsplit(url).hostname or "source").removeprefix("www.")
    base = re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-") or "source"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_LANG = re.compile(rb"<html[^>]*\blang\s*=\s*[\"']?([A-Za-z]{2,3})", re.IGNORECASE)


def _html_title(body: bytes) -> str | None:
    match = _TITLE.search(body[:65536])
    return " ".join(match.group(1).decode("utf-8", "replace").split()) or None if match else None


def _html_language(body: bytes) -> str | None:
    match = _LANG.search(body[:65536])
    return match.group(1).decode().lower() if match else None
