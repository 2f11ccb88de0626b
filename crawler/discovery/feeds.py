"""Feeds (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON Feed) read into a :class:`Discovery`.

The XML walk is a stream: each item is reduced to raw strings and two dates while its element is
alive, then freed; only the ``max_items`` newest raw items are kept (a heap), and only those pay
for HTML stripping. A 100,000-item feed therefore costs one libxml2 pass plus a few microseconds
per item, in memory bounded by ``max_items``.

When that fast path finds no entry, or had to recover a malformed document, the document is read
a second time by a tolerant parser (:mod:`newsmon.crawler.discovery.loose`) and the reading with
more linked entries is kept (the fast one on a tie). A feed wrapped in an HTML or XHTML page
(``<html><body><feed>``) is cut out of it and read, as a feed reader would.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Final

from lxml import etree

from newsmon.crawler.discovery import jsonfeed
from newsmon.crawler.discovery.dates import aware_now
from newsmon.crawler.discovery.feed_items import (
    ATOM_HANDLERS,
    RSS1,
    RSS_HANDLERS,
    RawItem,
    child_text,
    read_item,
)
from newsmon.crawler.discovery.headers import DocumentHeaders
from newsmon.crawler.discovery.loose import LooseFeed, parse_loose
from newsmon.crawler.discovery.text import (
    MAX_TITLE_LENGTH,
    author_name,
    check_limit,
    clean_html,
    clean_title,
    collapse,
    newest_first,
    unique,
)
from newsmon.crawler.discovery.xml import DEFAULT_MAX_SIZE, XML_LANG, XmlStream, iter_xml, local_name, sniff
from newsmon.crawler.items import Discovery, DiscoveryError, Entry

logger = logging.getLogger(__name__)

SY: Final = "http://purl.org/rss/1.0/modules/syndication/"
_SY_PERIODS = {
    "hourly": timedelta(hours=1),
    "daily": timedelta(days=1),
    "weekly": timedelta(weeks=1),
    "monthly": timedelta(days=30),
    "yearly": timedelta(days=365),
}
_MAX_TTL = timedelta(days=366)
_TTL_TAGS = frozenset({"ttl", f"{{{RSS1}}}ttl"})
_SY_PERIOD = f"{{{SY}}}updatePeriod"
_SY_FREQUENCY = f"{{{SY}}}updateFrequency"
_HTML_START = re.compile(rb"^(?:<\?xml[^>]{0,200}>\s*)?(?:<!--.*?-->\s*)*(?:<!doctype html|<html)", re.DOTALL)
_DECLARATION = re.compile(rb"^\s*<\?xml[^>]{0,200}\?>")
# The opening tag of a feed's root inside a page; "<feedback" and "<rssfeed" are not it.
_EMBEDDED_ROOT = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?(?:rss|feed|RDF))[\s>]")


def parse_feed(
    body: bytes,
    url: str,
    *,
    max_items: int = 200,
    now: datetime | None = None,
    max_size: int = DEFAULT_MAX_SIZE,
    headers: Mapping[str, str] | DocumentHeaders | None = None,
) -> Discovery:
    """Read an RSS, RDF, Atom or JSON feed.

    Args:
        body: the response body as received (gzip is undone here, under ``max_size``).
        url: the feed's URL; relative links resolve against it (and ``xml:base``), or against
            the ``Content-Location`` header when there is one.
        max_items: keep this many entries, the newest first.
        now: the current time, used to drop dates from the future; defaults to the clock.
        max_size: cap on the decompressed size of a gzipped body.
        headers: the response headers (see :class:`DocumentHeaders`): the ``Content-Type``
            charset and ``Content-Location``.

    Returns:
        The entries (each with an absolute http(s) URL), the feed title and declared ``ttl``;
        ``degraded`` is true when the document was malformed and only partly read.

    Raises:
        DiscoveryError: the body is not a feed (HTML, a sitemap, JSON that is not a JSON Feed,
            empty).
    """
    check_limit("max_items", max_items)
    now = aware_now(now)
    hints = DocumentHeaders.of(headers)
    url = hints.base(url)
    data, problems, head = sniff(body, max_size, "feed")
    if head.startswith((b"{", b"[")):
        discovery = jsonfeed.parse_json_feed(data, url, max_items=max_items, now=now, charset=hints.charset)
    else:
        if _HTML_START.match(head):
            data = _embedded_feed(data)
            problems.append("the feed is wrapped in an HTML page")
        discovery, xml_problems = _parse_xml_feed(data, url, max_items=max_items, now=now, charset=hints.charset)
        problems += xml_problems
    if problems:
        logger.info("Feed %s is malformed, read what could be read: %s", url, "; ".join(problems))
        discovery = dataclasses.replace(discovery, degraded=True)
    return discovery


def _embedded_feed(data: bytes) -> bytes:
    """The feed inside an HTML or XHTML page, from its root's opening to its closing tag.

    The XML declaration, if any, is kept for its encoding. A truncated page gives the feed up to
    its end (the XML reader recovers what it can).

    Raises:
        DiscoveryError: the page holds no ``<rss>``, ``<feed>`` or ``<rdf:RDF>`` element.
    """
    match = _EMBEDDED_ROOT.search(data)
    if match is None:
        raise DiscoveryError("not a feed: got an HTML page")
    end = data.rfind(b"</" + match[1] + b">")
    stop = end + len(match[1]) + 3 if end > match.start() else len(data)
    declaration = _DECLARATION.match(data)
    return (declaration[0] if declaration else b"") + data[match.start() : stop]


def _feed_kind(root: etree._Element) -> str:
    name = local_name(root.tag)
    if name == "rss":
        return "rss"
    if name == "RDF":
        return "rdf"
    if name == "feed":
        return "atom"
    if name.lower() == "html":
        raise DiscoveryError("not a feed: got an HTML page")
    if name in {"urlset", "sitemapindex"}:
        raise DiscoveryError(f"not a feed: got a sitemap (<{name}>)")
    raise DiscoveryError(f"not a feed: unexpected root element <{name}>")


def _parse_xml_feed(
    data: bytes, url: str, *, max_items: int, now: datetime, charset: str | None = None
) -> tuple[Discovery, list[str]]:
    stream = iter_xml(data, ("{*}item", "{*}entry"), classify=_feed_kind, charset=charset)

    def raw_items() -> Iterator[RawItem]:
        for element in stream:
            parent = element.getparent()
            if stream.kind == "atom":
                if local_name(element.tag) == "entry" and parent is not None and parent.getparent() is None:
                    raw = read_item(element, ATOM_HANDLERS, url, now)
                    if raw.url:
                        yield raw
            elif local_name(element.tag) == "item" and _is_rss_item_parent(parent):
                raw = read_item(element, RSS_HANDLERS, url, now)
                if raw.url:
                    yield raw

    try:
        newest = newest_first(raw_items(), RawItem.sort_date, max_items)
    except DiscoveryError as exc:
        if not str(exc).startswith("not a feed: unexpected root"):
            raise
        # A feed without its root (a bare <channel>) or with a misspelled one: a reader reads it.
        return _loose_or_raise(stream, url, max_items=max_items, now=now, error=exc)
    root, kind = stream.root, stream.kind
    if root is None or kind is None:  # the kind is known whenever the root is
        return _loose_or_raise(stream, url, max_items=max_items, now=now,
                               error=DiscoveryError("not a feed: no XML element could be read"))

    channel = _channel(root, kind)
    feed_language = _feed_language(root, channel)
    feed_authors = _atom_authors(channel) if kind == "atom" else ()
    title = clean_html(child_text(channel, "title"), MAX_TITLE_LENGTH)
    problems = stream.problems
    if not newest or stream.degraded:
        loose = _read_loosely(stream, url, now)
        if loose is not None and len(loose.items) > len(newest):
            problems = [*problems, f"read by the tolerant parser ({len(loose.items)} entries, {len(newest)} strictly)"]
            if loose.truncated:
                problems.append("only the start of the document was read by the tolerant parser")
            newest = newest_first(loose.items, RawItem.sort_date, max_items)
            feed_language = feed_language or loose.language
            title = title or clean_html(loose.title, MAX_TITLE_LENGTH)
    discovery = Discovery(
        kind=kind,
        entries=_entries(newest, feed_language, feed_authors),
        ttl=_ttl(channel),
        title=title,
    )
    return discovery, problems


def _read_loosely(stream: XmlStream, url: str, now: datetime) -> LooseFeed | None:
    if not stream.prepared:
        return None
    loose = parse_loose(stream.prepared, url, now)
    logger.debug("Feed %s read tolerantly: %d linked entries", url, len(loose.items))
    return loose


def _loose_or_raise(
    stream: XmlStream, url: str, *, max_items: int, now: datetime, error: DiscoveryError
) -> tuple[Discovery, list[str]]:
    loose = _read_loosely(stream, url, now)
    if loose is None or not loose.items:
        raise error
    newest = newest_first(loose.items, RawItem.sort_date, max_items)
    discovery = Discovery(
        kind=loose.kind,
        entries=_entries(newest, loose.language, ()),
        title=clean_html(loose.title, MAX_TITLE_LENGTH),
    )
    return discovery, [*stream.problems, f"{error}; read by the tolerant parser"]


def _entries(newest: list[RawItem], feed_language: str | None, feed_authors: tuple[str, ...]) -> list[Entry]:
    return _unique_urls(
        Entry(
            url=raw.url,
            title=clean_title(raw.title, raw.title_html),
            published=raw.published,
            updated=raw.updated,
            summary=clean_html(raw.summary) or clean_html(raw.content),
            language=raw.language or feed_language,
            authors=unique(author_name(author) for author in raw.authors) or feed_authors,
            tags=unique(collapse(tag) for tag in raw.tags),
            image=raw.image or raw.thumbnail,
        )
        for raw in newest
        if raw.url
    )


def _is_rss_item_parent(parent: etree._Element | None) -> bool:
    # Items live in <channel> (RSS 2.0) or directly under the root (RDF, some RSS 0.9x);
    # anything deeper is an item nested in an item, which no feed means.
    return parent is not None and (parent.getparent() is None or local_name(parent.tag) == "channel")


def _unique_urls(entries: Iterable[Entry]) -> list[Entry]:
    seen: set[str] = set()
    kept: list[Entry] = []
    for entry in entries:
        if entry.url not in seen:
            seen.add(entry.url)
            kept.append(entry)
    return kept


def _channel(root: etree._Element, kind: str) -> etree._Element:
    if kind == "atom":
        return root
    for child in root:
        if local_name(child.tag) == "channel":
            return child
    return root


def _feed_language(root: etree._Element, channel: etree._Element) -> str | None:
    return collapse(child_text(channel, "language")) or collapse(channel.get(XML_LANG)) or collapse(root.get(XML_LANG))


def _atom_authors(feed: etree._Element) -> tuple[str, ...]:
    return unique(author_name(child_text(child, "name")) for child in feed if local_name(child.tag) == "author")


def _ttl(channel: etree._Element) -> timedelta | None:
    """The refresh period the feed declares: RSS ``<ttl>`` first, else ``sy:updatePeriod``."""
    ttl_text = period_text = frequency_text = None
    for child in channel:
        tag = child.tag
        if tag in _TTL_TAGS:
            ttl_text = child.text
        elif tag == _SY_PERIOD:
            period_text = child.text
        elif tag == _SY_FREQUENCY:
            frequency_text = child.text
    minutes = _small_int(ttl_text)
    if minutes is not None:
        ttl = timedelta(minutes=minutes)
        return ttl if ttl <= _MAX_TTL else None
    if period_text is None and frequency_text is None:
        return None
    period = _SY_PERIODS.get((period_text or "daily").strip().lower())
    frequency = _small_int(frequency_text) if frequency_text is not None else 1
    if period is None or frequency is None:
        return None
    ttl = period / frequency
    return ttl if ttl >= timedelta(minutes=1) else None


def _small_int(text: str | None) -> int | None:
    """A positive integer of at most nine digits, else ``None``."""
    if text is None:
        return None
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        return None
    value = int(text)
    return value or None
