"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1) read into a :class:`Discovery`.

The ``version`` may be the URL form (``https://jsonfeed.org/version/1``, ``.../1.1``) or, as some
generators write it, the bare number (``"1"``, ``"1.0"``, ``"1.1"``); a bare number alone is what
any API might answer, so the two fields the spec requires, ``title`` and ``items``, must come
with it. Every value is checked for its type: a hostile feed can put a list where a string belongs, and
that must cost an item, not the whole feed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from newsmon.crawler.discovery.dates import parse_date
from newsmon.crawler.discovery.text import (
    MAX_SUMMARY_LENGTH,
    MAX_TITLE_LENGTH,
    author_name,
    clean_html,
    clean_title,
    collapse,
    newest_first,
    resolve_url,
    unique,
)
from newsmon.crawler.items import Discovery, DiscoveryError, Entry

logger = logging.getLogger(__name__)

_VERSION_MARK = "jsonfeed.org/version/"
_BARE_VERSIONS = frozenset({"1", "1.0", "1.1"})


def parse_json_feed(
    data: bytes, url: str, *, max_items: int, now: datetime | None, charset: str | None = None
) -> Discovery:
    """Read a JSON Feed; see :func:`newsmon.crawler.discovery.feeds.parse_feed` for the contract.

    Raises:
        DiscoveryError: invalid JSON, or JSON without a jsonfeed.org ``version``.
    """
    try:
        document = json.loads(_decode(data, charset))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise DiscoveryError(f"not a feed: invalid JSON ({exc})") from exc
    if not isinstance(document, dict) or not _is_json_feed(document):
        raise DiscoveryError("not a feed: JSON document is not a JSON Feed (no jsonfeed.org version)")

    items = document.get("items")
    if not isinstance(items, list):
        items = None
    degraded = items is None or not all(isinstance(item, dict) for item in items)
    if degraded:
        logger.info("JSON Feed %s is malformed: items missing or not all objects", url)
    dated = ((item, _item_date(item, now)) for item in _items_with_url(items or [], url))
    newest = newest_first(dated, lambda pair: pair[1], max_items)

    feed_authors = _authors(document)
    feed_language = collapse(_string(document.get("language")))
    entries = []
    seen: set[str] = set()
    for item, _date in newest:
        entry = _entry(item, url, now, feed_authors, feed_language)
        if entry is not None and entry.url not in seen:
            seen.add(entry.url)
            entries.append(entry)
    return Discovery(
        kind="jsonfeed",
        entries=entries,
        degraded=degraded,
        title=clean_html(_string(document.get("title")), MAX_TITLE_LENGTH),
    )


def _is_json_feed(document: dict[str, Any]) -> bool:
    version = document.get("version")
    if not isinstance(version, str):
        return False
    if _VERSION_MARK in version:
        return True
    return (version.strip() in _BARE_VERSIONS and isinstance(document.get("title"), str)
            and isinstance(document.get("items"), list))


def _decode(data: bytes, charset: str | None) -> str | bytes:
    """JSON is UTF-8 (RFC 8259); a declared other charset is honoured, invalid bytes replaced."""
    if charset:
        try:
            return data.decode(charset, "replace")
        except LookupError:
            logger.debug("Unknown charset %r on a JSON Feed, reading UTF-8", charset)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data  # UTF-16 with a BOM: json.loads detects it
    return data.decode("utf-8-sig", "replace")


def _items_with_url(items: list[Any], url: str) -> Iterator[dict[str, Any]]:
    for item in items:
        if isinstance(item, dict) and _item_url(item, url):
            yield item


def _item_url(item: dict[str, Any], feed_url: str) -> str | None:
    return resolve_url(feed_url, _string(item.get("url"))) or resolve_url(feed_url, _string(item.get("external_url")))


def _item_date(item: dict[str, Any], now: datetime | None) -> datetime | None:
    return parse_date(_string(item.get("date_published")), now) or parse_date(_string(item.get("date_modified")), now)


def _entry(
    item: dict[str, Any],
    feed_url: str,
    now: datetime | None,
    feed_authors: tuple[str, ...],
    feed_language: str | None,
) -> Entry | None:
    url = _item_url(item, feed_url)
    if url is None:
        return None
    tags = item.get("tags")
    return Entry(
        url=url,
        title=clean_title(_string(item.get("title")), None),
        published=parse_date(_string(item.get("date_published")), now),
        updated=parse_date(_string(item.get("date_modified")), now),
        summary=clean_html(_string(item.get("summary")))
        or collapse(_string(item.get("content_text")), MAX_SUMMARY_LENGTH)
        or clean_html(_string(item.get("content_html"))),
        language=collapse(_string(item.get("language"))) or feed_language,
        authors=_authors(item) or feed_authors,
        tags=unique(collapse(tag) for tag in tags if isinstance(tag, str)) if isinstance(tags, list) else (),
        image=resolve_url(feed_url, _string(item.get("image")))
        or resolve_url(feed_url, _string(item.get("banner_image"))),
    )


def _authors(holder: dict[str, Any]) -> tuple[str, ...]:
    """``authors`` (1.1) or ``author`` (1.0) names."""
    authors = holder.get("authors")
    if not isinstance(authors, list):
        authors = [holder.get("author")]
    return unique(author_name(_string(author.get("name"))) for author in authors if isinstance(author, dict))


def _string(value: object) -> str | None:
    return value if isinstance(value, str) else None
