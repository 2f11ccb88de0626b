"""Sitemaps (XML ``urlset``/``sitemapindex``, gzipped or not, or plain text) and robots.txt lines.

Google News (``news:``) and image (``image:``) extensions fill the entry's title, dates, language,
tags and image. As sitemaps.org allows, a "sitemap" that turns out to be an RSS or Atom feed is
read as one (``kind`` is then the feed's).

A cut ``<loc>`` is not a URL. An entry is dropped when its ``<loc>`` holds anything but text (a
stray element or an undefined entity reference inside it, which only a malformed or invalid
document has: the text before it is a URL cut short, often the address of a section,
``https://x.example/news/``), or when a degraded document ends inside it (a truncated body: the
last ``<loc>`` has no closing tag). Only the cut entry is dropped, never its neighbours.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from newsmon.crawler.discovery.dates import aware_now, parse_date
from newsmon.crawler.discovery.feeds import parse_feed
from newsmon.crawler.discovery.headers import DocumentHeaders
from newsmon.crawler.discovery.text import (
    MAX_TITLE_LENGTH,
    check_limit,
    clean_html,
    collapse,
    newest_first,
    resolve_url,
    unique,
)
from newsmon.crawler.discovery.xml import (
    DEFAULT_MAX_SIZE,
    ends_inside,
    iter_xml,
    local_name,
    sniff,
    text_of,
    xml_base,
)
from newsmon.crawler.items import Discovery, DiscoveryError, Entry

logger = logging.getLogger(__name__)


#: Default cap on entries (and child sitemaps) kept, newest first.
DEFAULT_MAX_ITEMS = 1000
# Google reads the first 500 KiB of a robots.txt; so do we.
_MAX_ROBOTS = 500 * 1024
_FEED_ROOTS = frozenset({"rss", "RDF", "feed"})
# A body with no "<?xml" this early and not starting with "<" is a text sitemap.
_XML_WINDOW = 4096


@dataclass(slots=True)
class _RawUrl:
    url: str
    updated: datetime | None = None
    published: datetime | None = None
    title: str | None = None
    language: str | None = None
    keywords: str | None = None
    image: str | None = None

    def sort_date(self) -> datetime | None:
        return self.published or self.updated


def parse_sitemap(
    body: bytes,
    url: str,
    *,
    max_items: int = DEFAULT_MAX_ITEMS,
    now: datetime | None = None,
    max_size: int = DEFAULT_MAX_SIZE,
    headers: Mapping[str, str] | DocumentHeaders | None = None,
) -> Discovery:
    """Read a sitemap.

    Args:
        body: the body as received; gzip (``.xml.gz``) is undone here, under ``max_size``.
        url: the sitemap's URL; relative locations resolve against it.
        max_items: keep this many entries (or child sitemaps), newest first.
        now: the current time, used to drop dates from the future; defaults to the clock.
        max_size: cap on the decompressed size of a gzipped body.
        headers: the response headers (charset, ``Content-Location``; see :class:`DocumentHeaders`).

    Returns:
        ``kind="urlset"`` with entries (a plain-text sitemap is a urlset too), or
        ``kind="sitemapindex"`` with child sitemap URLs; an RSS/Atom feed given as a sitemap is
        parsed as a feed.

    Raises:
        DiscoveryError: the body is not a sitemap (HTML, JSON, text without URLs, empty).
    """
    check_limit("max_items", max_items)
    now = aware_now(now)
    hints = DocumentHeaders.of(headers)
    url = hints.base(url)
    data, problems, head = sniff(body, max_size, "sitemap")
    if head.startswith((b"<!doctype html", b"<html")):
        raise DiscoveryError("not a sitemap: got an HTML page")
    if head.startswith((b"{", b"[")):
        raise DiscoveryError("not a sitemap: got JSON")
    if not head.startswith(b"<") and b"<?xml" not in data[:_XML_WINDOW]:
        discovery, more_problems = _parse_text(data, max_items)
    else:
        parsed, more_problems = _parse_xml(data, url, max_items=max_items, now=now, charset=hints.charset)
        if parsed is None:
            return parse_feed(body, url, max_items=max_items, now=now, max_size=max_size, headers=hints)
        discovery = parsed
    problems += more_problems
    if problems:
        logger.info("Sitemap %s is malformed, read what could be read: %s", url, "; ".join(problems))
        discovery = dataclasses.replace(discovery, degraded=True)
    return discovery


def _parse_xml(
    data: bytes, url: str, *, max_items: int, now: datetime, charset: str | None = None
) -> tuple[Discovery | None, list[str]]:
    """Read an XML sitemap; ``None`` when the document is a feed."""
    stream = iter_xml(data, ("{*}url", "{*}sitemap"), classify=_sitemap_kind, charset=charset)
    cut_at_end = ends_inside(stream.prepared, b"loc")

    def children() -> Iterator[_RawUrl]:
        # One entry is held back until the next one is read: the last one is dropped if the
        # document ends inside its <loc>.
        held: _RawUrl | None = None
        for raw in read_children():
            if held is not None:
                yield held
            held = raw
        if held is not None and not (cut_at_end and stream.degraded):
            yield held
        elif held is not None:
            stream.problems.append(f"the last <loc> is cut short, {held.url} dropped")

    def read_children() -> Iterator[_RawUrl]:
        for element in stream:
            parent = element.getparent()
            # Only <url> in a urlset and <sitemap> in an index, as direct children of the root
            # (an RSS channel's <image><url> is not an entry).
            expected = "url" if stream.kind == "urlset" else "sitemap"
            if local_name(element.tag) != expected or parent is None or parent.getparent() is not None:
                continue
            raw = _read_url(element, url, now)
            if raw is not None:
                yield raw

    newest = newest_first(children(), _RawUrl.sort_date, max_items)
    kind = stream.kind
    if stream.root is None or kind is None:  # the kind is known whenever the root is
        raise DiscoveryError("not a sitemap: no XML element could be read")
    if kind == "feed":
        return None, []
    if kind == "sitemapindex":
        return Discovery(kind=kind, sitemaps=list(unique(raw.url for raw in newest))), stream.problems
    entries = []
    seen: set[str] = set()
    for raw in newest:
        if raw.url not in seen:
            seen.add(raw.url)
            entries.append(
                Entry(
                    url=raw.url,
                    title=clean_html(raw.title, MAX_TITLE_LENGTH),
                    published=raw.published,
                    updated=raw.updated,
                    language=raw.language,
                    tags=unique(collapse(tag) for tag in (raw.keywords or "").split(",")),
                    image=raw.image,
                )
            )
    return Discovery(kind=kind, entries=entries), stream.problems


def _sitemap_kind(root: etree._Element) -> str:
    name = local_name(root.tag)
    if name in {"urlset", "sitemapindex"}:
        return name
    if name in _FEED_ROOTS:
        return "feed"
    if name.lower() == "html":
        raise DiscoveryError("not a sitemap: got an HTML page")
    raise DiscoveryError(f"not a sitemap: unexpected root element <{name}>")


def _read_url(element: etree._Element, sitemap_url: str, now: datetime) -> _RawUrl | None:
    """One ``<url>`` or ``<sitemap>``; ``None`` without a usable ``<loc>`` (or with a cut one)."""
    loc = lastmod = None
    news = image = None
    for child in element:
        name = local_name(child.tag)
        if name == "loc":
            if len(child):
                logger.debug("Sitemap %s: <loc> %r is cut by markup inside it, dropped", sitemap_url, child.text)
                return None
            loc = loc or child.text
        elif name == "lastmod":
            lastmod = lastmod or child.text
        elif name == "news" and news is None:
            news = child
        elif name == "image" and image is None:
            image = child
    base = xml_base(element, sitemap_url)
    url = resolve_url(base, loc)
    if url is None:
        return None
    raw = _RawUrl(url=url, updated=parse_date(lastmod, now))
    if news is not None:
        _read_news(news, raw, now)
    if image is not None:
        for child in image:
            if local_name(child.tag) == "loc":
                raw.image = resolve_url(base, child.text)
                break
    return raw


def _read_news(news: etree._Element, raw: _RawUrl, now: datetime) -> None:
    for child in news:
        name = local_name(child.tag)
        if name == "publication_date":
            raw.published = parse_date(child.text, now)
        elif name == "title":
            raw.title = text_of(child)
        elif name == "keywords":
            raw.keywords = child.text
        elif name == "publication":
            for field in child:
                if local_name(field.tag) == "language":
                    raw.language = collapse(field.text)


def _parse_text(data: bytes, max_items: int) -> tuple[Discovery, list[str]]:
    """A text sitemap: one absolute URL per line, in document order (there are no dates)."""
    entries: list[Entry] = []
    seen: set[str] = set()
    skipped = 0
    for line in data.decode("utf-8-sig", "replace").splitlines():
        candidate = line.strip()
        if not candidate:
            continue
        is_url = candidate[:8].lower().startswith(("http://", "https://")) and " " not in candidate
        url = resolve_url(candidate, candidate) if is_url else None
        if url is None:
            skipped += 1
        elif url not in seen:
            seen.add(url)
            entries.append(Entry(url=url))
            if len(entries) >= max_items:
                break
    if not entries:
        raise DiscoveryError("not a sitemap: no URLs in the text body")
    problems = [f"{skipped} lines are not URLs"] if skipped else []
    return Discovery(kind="urlset", entries=entries), problems


def robots_sitemaps(robots_txt: str, base_url: str) -> list[str]:
    """The ``Sitemap:`` URLs a robots.txt declares, absolute, deduplicated, in file order.

    ``Sitemap:`` lines apply whatever user-agent group they sit in. Relative URLs (not allowed,
    but seen) resolve against ``base_url``; non-http(s) ones are dropped.
    """
    found: list[str] = []
    for line in robots_txt[:_MAX_ROBOTS].lstrip("\ufeff").splitlines():
        field, sep, value = line.partition(":")
        if not sep or field.strip().lower() not in {"sitemap", "site-map"}:
            continue
        tokens = value.split()
        url = resolve_url(base_url, tokens[0]) if tokens and not tokens[0].startswith("#") else None
        if url is not None:
            found.append(url)
    return list(unique(found))
