"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1) read into a :class:`Discovery`.

Every value is checked for its type: a hostile feed can put a list where a string belongs, and
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
    collapse,
    newest_first,
    resolve_url,
    unique,
)
from newsmon.crawler.items import Discovery, DiscoveryError, Entry

logger = logging.getLogger(__name__)

_VERSION_MARK = "jsonfeed.org/version/"


def parse_json_feed(data: bytes, url: str, *, max_items: int, now: datetime | None) -> Discovery:
    """Read a JSON Feed; see :func:`newsmon.crawler.discovery.feeds.parse_feed` for the contract.

    Raises:
        DiscoveryError: invalid JSON, or JSON without a jsonfeed.org ``version``.
    """
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise DiscoveryError(f"not a feed: invalid JSON ({exc})") from exc
    version = document.get("version") if isinstance(document, dict) else None
    if not isinstance(version, str) or _VERSION_MARK not in version:
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
        title=clean_html(_string(item.get("title")), MAX_TITLE_LENGTH),
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
