"""Values that travel between discovery, extraction and the pipelines.

These are plain frozen dataclasses so that every stage can be tested without Scrapy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Entry:
    """One article link found by discovery (a feed item, a sitemap ``<url>``, a section link).

    ``url`` is absolute and as found (not canonicalized). ``published`` is timezone-aware UTC.
    """

    url: str
    title: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    summary: str | None = None
    language: str | None = None
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    image: str | None = None


@dataclass(frozen=True, slots=True)
class Discovery:
    """What one feed, sitemap or section page yielded.

    ``sitemaps`` lists child sitemaps of a sitemap index; ``degraded`` is true when the document
    was malformed and only part of it could be read; ``ttl`` is the refresh period the document
    declares (RSS ``ttl``, ``sy:updatePeriod``/``sy:updateFrequency``), if any.
    """

    kind: str
    entries: list[Entry] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)
    degraded: bool = False
    ttl: timedelta | None = None
    title: str | None = None


class DiscoveryError(ValueError):
    """The document is not a feed or sitemap at all (HTML, JSON error page, empty body)."""


@dataclass(frozen=True, slots=True)
class Page:
    """A downloaded article page, on its way through the pipelines (and, pickled, to the
    extraction pool: so it lives here, away from Scrapy)."""

    source: str
    url: str  # after redirects
    listed_url: str  # the URL as discovery found it
    body: bytes
    entry: Entry | None
    via_kind: str  # "feed", "sitemap", "page" or "recheck"
    via_url: str
    fetched_at: datetime
    story_id: str | None = None  # set when re-checking a published story
