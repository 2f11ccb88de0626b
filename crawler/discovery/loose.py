"""The tolerant second reading of a malformed feed, by feedparser (the one module importing it).

libxml2's recovery keeps the text of a broken feed but not always its shape: an unclosed element
before the items (``<category>News<image/>``) nests every ``<item>`` inside it, and an unclosed
``<b>`` in a title can swallow the items after it. feedparser's loose parser reads a feed as a
stream of tags, whatever their nesting, which is what feed readers show their users. It is run
only when the fast path (:mod:`newsmon.crawler.discovery.xml`) found nothing or recovered a
malformed document; :mod:`newsmon.crawler.discovery.feeds` keeps the reading with more linked
entries.

Our guards hold on this path too:

* it reads :attr:`XmlStream.prepared <newsmon.crawler.discovery.xml.XmlStream.prepared>`:
  already gunzipped under the size cap, transcoded to UTF-8, HTML entities made numeric;
  at most :data:`MAX_LOOSE_SIZE` bytes of it;
* any DOCTYPE is removed first, so no entity is declared, let alone expanded (feedparser would
  keep only literal-text entities, but there is nothing to keep);
* the body is handed over as a stream (``io.BytesIO``): feedparser opens URLs and files only
  for a *string* argument, never for a stream, and its SAX parser runs with external general
  entities off; the base URL is passed as a header value, which it only joins, never fetches;
* HTML sanitizing and relative-URI rewriting inside content are off: we only read text, links
  and dates, and strip markup ourselves.

Dates are the raw strings feedparser found, read by :mod:`newsmon.crawler.dates` like every
other date, so ``16:31:00 ET`` means the same instant on both paths.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import feedparser

from newsmon.crawler.discovery.dates import parse_date
from newsmon.crawler.discovery.feed_items import RawItem, absolute_url
from newsmon.crawler.discovery.text import collapse, resolve_url

logger = logging.getLogger(__name__)

#: The tolerant parser is pure Python (about 1 MB/s): it reads at most this much of a document.
MAX_LOOSE_SIZE = 2 * 1024 * 1024

# Named references left after xml.py made the HTML ones numeric are undefined entities (the DTD
# is gone): they become U+FFFD, and a link holding one is cut, as sitemaps.py rules.
_UNDEFINED_ENTITY = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos);)[A-Za-z][\w.-]{0,31};")
_CUT = "\ufffd"
# An internal subset ends at "]>", so the pattern is linear whatever the subset holds.
_DOCTYPE = re.compile(rb"<!DOCTYPE[^\[>]*(?:\[.*?\]\s*)?>", re.IGNORECASE | re.DOTALL)
_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")
_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif")


@dataclass(slots=True)
class LooseFeed:
    """What the tolerant reading found: items (raw text, parsed dates) and channel fields."""

    kind: str
    items: list[RawItem] = field(default_factory=list)
    title: str | None = None
    language: str | None = None
    truncated: bool = False


def parse_loose(prepared: bytes, url: str, now: datetime) -> LooseFeed:
    """Read a prepared (UTF-8, repaired) feed document with feedparser's tolerant parsers."""
    truncated = len(prepared) > MAX_LOOSE_SIZE
    data = _DOCTYPE.sub(b"", prepared[:MAX_LOOSE_SIZE], count=1)
    data = _UNDEFINED_ENTITY.sub(_CUT.encode(), data)
    result = feedparser.parse(
        io.BytesIO(data),
        response_headers={"content-type": "application/xml; charset=utf-8", "content-location": url},
        resolve_relative_uris=False,
        sanitize_html=False,
    )
    feed = result.get("feed", {})
    version = str(result.get("version") or "")
    kind = "atom" if version.startswith("atom") else "rdf" if version in {"rss090", "rss10"} else "rss"
    items = [raw for raw in _items(result.get("entries", []), url, now) if raw.url]
    return LooseFeed(
        kind=kind,
        items=items,
        title=_string(feed.get("title")),
        language=collapse(_string(feed.get("language"))),
        truncated=truncated,
    )


def _items(entries: list[Any], url: str, now: datetime) -> Iterator[RawItem]:
    for entry in entries:
        base = url
        link = resolve_url(base, _string(entry.get("link")))
        if link is None:
            for candidate in entry.get("links", []):
                if candidate.get("rel", "alternate") == "alternate":
                    link = resolve_url(base, _string(candidate.get("href")))
                    if link:
                        break
        link = link or absolute_url(_string(entry.get("id")))
        if link is not None and (_CUT in link or "%EF%BF%BD" in link.upper()):
            continue
        title_detail = entry.get("title_detail") or {}
        content = entry.get("content") or [{}]
        yield RawItem(
            url=link,
            published=_date(entry, "published", now) or _date(entry, "created", now),
            updated=_date(entry, "updated", now),
            title=_string(entry.get("title")),
            title_html=_is_html(_string(title_detail.get("type"))),
            summary=_string(entry.get("summary")),
            content=_string(content[0].get("value")),
            authors=[name for name in _authors(entry) if name],
            tags=[tag for tag in (_string(t.get("term")) for t in entry.get("tags", [])) if tag],
            image=_image(entry, base),
            thumbnail=next((resolve_url(base, _string(t.get("url"))) for t in entry.get("media_thumbnail", [])), None),
            language=collapse(_string(title_detail.get("language"))),
        )


def _date(entry: Any, key: str, now: datetime) -> datetime | None:
    # dict.get: FeedParserDict.get("updated") falls back to "published", with a warning.
    return parse_date(_string(dict.get(entry, key)), now)


def _authors(entry: Any) -> Iterator[str | None]:
    authors = entry.get("authors") or []
    for author in authors:
        name = _string(author.get("name"))
        email = _string(author.get("email"))
        yield f"{name} <{email}>" if name and email else name or email
    if not authors:
        yield _string(entry.get("author"))


def _image(entry: Any, base: str) -> str | None:
    for media in (*entry.get("media_content", []), *entry.get("enclosures", [])):
        href = resolve_url(base, _string(media.get("url")) or _string(media.get("href")))
        kind = (_string(media.get("medium")) or _string(media.get("type")) or "").lower()
        if href and (kind == "image" or kind.startswith("image/")
                     or (not kind and href.lower().split("?", 1)[0].endswith(_IMAGE_EXTENSIONS))):
            return href
    return None


def _is_html(media_type: str | None) -> bool | None:
    if not media_type:
        return None
    return media_type.lower().startswith(_HTML_TYPES)


def _string(value: object) -> str | None:
    return value if isinstance(value, str) else None
