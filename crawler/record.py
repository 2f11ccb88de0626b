"""An extracted article as the record the feed carries (see the README's record fields).

Shared by the extract pipeline and ``newsmon extract``, so that both say the same thing about a
page. Imports neither Scrapy nor Redis; the publisher adds the dedup fields (``event``,
``duplicate_of``, ``cluster_id``, ``revision``, ``changes``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from newsmon.crawler.fingerprint import story_id
from newsmon.crawler.urls import InvalidURL, canonicalize, choose_canonical, clean_url

if TYPE_CHECKING:
    from newsmon.crawler.extraction import Article  # trafilatura: imported where pages are extracted

#: The ``schema_version`` of every record; raised when a field changes meaning or goes away.
SCHEMA_VERSION = 1


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, as every time in a record."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def story_key(fetched_url: str, declared: str | None, tracking: Sequence[str]) -> tuple[str, str]:
    """The story's key (the strict canonical form its ``id`` derives from) and the URL to show.

    The shown URL is the page's declared canonical when it was accepted as the key, else the
    fetched URL, only lightly cleaned so that it still opens.
    """
    key = choose_canonical(fetched_url, [declared], tracking)
    shown = fetched_url
    if declared:
        try:
            if canonicalize(declared, tracking) == key:
                shown = declared
        except InvalidURL:
            pass
    return key, clean_url(shown, tracking)


def article_record(
    article: Article,
    *,
    url: str,
    key: str,
    canonical_url: str,
    source: str | None,
    fetched_at: datetime,
    via: dict[str, str] | None,
    topic: dict[str, Any] | None = None,
    record_id: str | None = None,
) -> dict[str, Any]:
    """The record of ``article`` fetched at ``url`` (``record_id`` defaults to the key's id)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "id": record_id or story_id(key),
        "url": url,
        "canonical_url": canonical_url,
        "source": source,
        "title": article.title,
        "text": article.text,
        "description": article.description,
        "language": article.language,
        "published": iso(article.published),
        "published_from": article.published_from,
        "modified": iso(article.modified),
        "authors": list(article.authors),
        "image": article.image,
        "tags": list(article.tags),
        "sitename": article.sitename,
        "access": article.access,
        "fetched_at": iso(fetched_at),
        "discovered_via": via,
        "topic": topic,
    }


#: The ``schema_version`` of dropped-story stubs (``newsmon topic why``, ``topic replay``).
STUB_SCHEMA_VERSION = 1
_LEAD = 400  # characters of text kept as the lead when the page has no description


def dropped_stub(record: Mapping[str, Any], verdict: Mapping[str, Any], urls: Sequence[str],
                 reason: str, dropped_at: datetime) -> dict[str, Any]:
    """The compact trace of a story the topic dropped: who, what it was about, and why.

    Never the article text: a lead (the description, else the text's first characters) only.
    """
    lead = record.get("description") or (record.get("text") or "")[:_LEAD]
    return {
        "schema_version": STUB_SCHEMA_VERSION,
        "id": record["id"],
        "url": record["url"],
        "urls": list(urls),
        "source": record.get("source"),
        "title": record.get("title"),
        "lead": lead,
        "language": record.get("language"),
        "topic": verdict.get("name"),
        "score": verdict.get("score"),
        "groups": verdict.get("groups", {}),
        "missed": verdict.get("missed", []),
        "excluded": verdict.get("excluded", []),
        "reason": reason,
        "dropped_at": iso(dropped_at),
    }
