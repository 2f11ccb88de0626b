"""HTML pages as discovery sources: feed autodiscovery and article links on section pages."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from urllib.parse import SplitResult, urldefrag, urlsplit

import lxml.html
from lxml import etree
from w3lib.encoding import html_to_unicode

from newsmon.crawler.discovery.links import (
    is_crawl_trap,
    is_file,
    is_navigation,
    looks_like_article,
    path_segments,
)
from newsmon.crawler.discovery.text import check_limit, collapse, resolve_url
from newsmon.crawler.items import Entry
from newsmon.crawler.urls import site

# Types that announce a feed in <link rel="alternate">. application/json is JSON Feed 1.0's.
_FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/x-rss+xml",
        "application/x-atom+xml",
        "application/feed+json",
        "application/json",
    }
)
_FEED_PATH_ENDINGS = ("/feed", "/rss", "/atom", ".rss", ".atom")
_FEED_PATH_WORDS = ("rss", "feed", "atom")
# WordPress announces a comments feed on every page and its REST API as application/json.
_NOT_ARTICLE_FEEDS = re.compile(r"/comments/|/wp-json/|oembed", re.IGNORECASE)


def _utf8_or_cp1252(body: bytes) -> str:
    """Encoding for a page that declares none: UTF-8 if it decodes, else windows-1252."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def parse_html(html: bytes | str) -> etree._Element | None:
    """Parse a page with libxml2's HTML parser (no network); ``None`` for an empty document.

    Bytes are decoded by BOM, then ``<meta charset>``, then UTF-8, then windows-1252.
    """
    if isinstance(html, bytes):
        _encoding, html = html_to_unicode(None, html, auto_detect_fun=_utf8_or_cp1252)
    if not html.strip():
        return None
    parser = lxml.html.HTMLParser(
        encoding="utf-8", no_network=True, remove_comments=True, remove_pis=True, huge_tree=False
    )
    try:
        return lxml.html.document_fromstring(html.encode("utf-8", "replace"), parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError):
        return None


def _base_url(root: etree._Element, url: str) -> str:
    """The page URL, or the document's ``<base href>`` resolved against it."""
    base = next(root.iter("base"), None)
    resolved = None if base is None else resolve_url(url, base.get("href"))
    return resolved or url


def find_feed_links(html: bytes | str, url: str) -> list[str]:
    """Feeds a page announces, absolute and deduplicated, in document order.

    ``<link rel="alternate">`` with a feed type first; when there is none, same-site ``<a href>``
    that look like feeds (``/feed``, ``/rss``, ``.rss``, ``rss.xml``...). Comment feeds and the
    WordPress REST API are left out.
    """
    root = parse_html(html)
    if root is None:
        return []
    base = _base_url(root, url)
    announced = list(dict.fromkeys(_announced_feeds(root, base)))
    if announced:
        return announced
    page_site = _site(urlsplit(url))
    found: dict[str, None] = {}
    for anchor in root.iter("a"):
        href = resolve_url(base, anchor.get("href"))
        if href is None or _NOT_ARTICLE_FEEDS.search(href):
            continue
        parts = urlsplit(href)
        path = parts.path.lower().rstrip("/")
        looks_like_feed = path.endswith(_FEED_PATH_ENDINGS) or (
            path.endswith(".xml") and any(word in path for word in _FEED_PATH_WORDS)
        )
        if looks_like_feed and _site(parts) == page_site:
            found[urldefrag(href).url] = None
    return list(found)


def _announced_feeds(root: etree._Element, base: str) -> Iterator[str]:
    for link in root.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        media_type = (link.get("type") or "").partition(";")[0].strip().lower()
        if "alternate" not in rels or media_type not in _FEED_TYPES:
            continue
        href = resolve_url(base, link.get("href"))
        if href is not None and not _NOT_ARTICLE_FEEDS.search(href):
            yield href


def find_article_links(
    html: bytes | str,
    url: str,
    *,
    allow: Sequence[str] = (),
    deny: Sequence[str] = (),
    max_links: int = 500,
) -> list[Entry]:
    """Article links on a section or listing page, in document order, titled by their text.

    Kept: http(s) links on the page's registered domain (an IP or single-label host, with its
    port, is its own site), not the page itself, not files, not crawl traps, not inside
    ``<nav>``. Then ``allow`` (if given) replaces the default article heuristics
    (:func:`links.looks_like_article` and :func:`links.is_navigation`); ``deny`` always
    applies. Fragments are dropped, so ``/a#comments`` and ``/a`` are one link.

    Args:
        html: the page.
        url: the page's URL (after redirects).
        allow: regular expressions searched in the absolute URL; one must match.
        deny: regular expressions searched in the absolute URL; none may match.
        max_links: stop after this many distinct links.

    Raises:
        ValueError: an ``allow``/``deny`` pattern is not a valid regular expression.
    """
    check_limit("max_links", max_links)
    allow_patterns = _compile("allow", allow)
    deny_patterns = _compile("deny", deny)
    root = parse_html(html)
    if root is None:
        return []
    base = _base_url(root, url)
    page = urldefrag(url).url
    page_site = _site(urlsplit(url))
    in_navigation = set(root.xpath("//nav//a | //*[@role='navigation']//a"))
    titles: dict[str, str | None] = {}
    rejected: set[str] = {page}
    for anchor in root.iter("a"):
        if anchor in in_navigation:
            continue
        href = resolve_url(base, anchor.get("href"))
        if href is None:
            continue
        href = urldefrag(href).url
        if href in titles:
            # The headline link usually carries more text than the picture link next to it.
            title = _anchor_text(anchor)
            if title and len(title) > len(titles[href] or ""):
                titles[href] = title
        elif href not in rejected and len(titles) < max_links:
            if _keep(href, page_site, allow_patterns, deny_patterns):
                titles[href] = _anchor_text(anchor)
            else:
                rejected.add(href)
    return [Entry(url=href, title=title) for href, title in titles.items()]


def _keep(href: str, page_site: str, allow: list[re.Pattern[str]], deny: list[re.Pattern[str]]) -> bool:
    parts = urlsplit(href)
    if _site(parts) != page_site or is_file(parts):
        return False
    segments = path_segments(parts)
    if is_crawl_trap(parts, segments) or any(pattern.search(href) for pattern in deny):
        return False
    if allow:
        return any(pattern.search(href) for pattern in allow)
    return not is_navigation(parts, segments) and looks_like_article(parts, segments)


def _site(parts: SplitResult) -> str:
    try:
        port = parts.port
    except ValueError:  # a port out of range or not a number
        return ""
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal, bracketed again for site()
        host = f"[{host}]"
    return site(host if port is None else f"{host}:{port}")


def _anchor_text(anchor: etree._Element) -> str | None:
    text = collapse(" ".join(anchor.itertext()))
    if text:
        return text
    if anchor.get("title"):
        return collapse(anchor.get("title"))
    image = next(anchor.iter("img"), None)
    return None if image is None else collapse(image.get("alt"))


def _compile(name: str, patterns: Sequence[str]) -> list[re.Pattern[str]]:
    if isinstance(patterns, str):
        patterns = (patterns,)
    compiled = []
    for index, pattern in enumerate(patterns):
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise ValueError(f"{name}[{index}]: invalid regular expression {pattern!r}: {exc}") from exc
    return compiled
