"""A page's dates: the candidates it offers and the precedence rules that pick ``published`` and ``modified``.

Strings are read by :mod:`newsmon.crawler.dates`, the parser feeds and sitemaps use too, so a
date means the same instant in a feed item and on its page. Every date newsmon emits is a
timezone-aware UTC :class:`~datetime.datetime`:

* a value with an offset (``+01:00``, ``Z``, ``GMT``, ``CEST``) is converted to UTC;
* a naive time of day (no offset) takes the offset of another candidate of the page that shows
  the same wall-clock time with one (a JSON-LD local time next to an OpenGraph time with its
  offset), else the source's ``timezone`` setting (an IANA name), else it is taken as UTC: the
  error is then bounded by a day, which the URL-date check below tolerates;
* a date without a time is midnight UTC, and remembered as such (``has_time`` False), so that a
  candidate of the same day that carries a time can refine it;
* a year or a month alone (``2024``, ``2024-02``) is no candidate: it cannot date an article.

Precedence (``choose_published``): candidates arrive in source order (selector, JSON-LD, OpenGraph,
other meta tags, microdata, ``<time>``, feed, URL, htmldate). Candidates later than ``now`` plus
:data:`CLOCK_SKEW` are dropped. When the URL carries a full date, a candidate more than
:data:`URL_DAY_TOLERANCE` away from it is demoted behind every candidate that agrees with it, and
when none agrees the URL date itself wins: URL dates are fixed when the slug is first published,
while markup dates are sometimes the render time or the last edit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from lxml.html import HtmlElement

from newsmon.crawler.dates import localize, month_number, read_date, to_utc
from newsmon.crawler.extraction.adapter import htmldate_guess
from newsmon.crawler.extraction.selectors import select
from newsmon.crawler.items import Entry
from newsmon.settings.model import SelectorOverrides

if TYPE_CHECKING:
    # Only a type here; importing it at run time would be circular (the readers build candidates).
    from newsmon.crawler.extraction.metadata import PageMetadata

CLOCK_SKEW = timedelta(minutes=15)  # a published date later than now + this is rejected
URL_DAY_TOLERANCE = timedelta(days=1)  # time zones put a URL day up to a day from the UTC day
# URL dates: /2024/01/28/, /2024/jan/28/, /2024-01-28/ or -20240128- in the path, /2024/01/
_URL_YMD = re.compile(
    r"(?<![\d])((?:19|20)\d\d)[/_-](0?[1-9]|1[0-2]|[a-z]{3})[/_-](0?[1-9]|[12]\d|3[01])(?![\d])",
    re.IGNORECASE,
)
_URL_COMPACT = re.compile(r"(?<![\d])((?:19|20)\d\d)(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?![\d])")
_URL_YM = re.compile(r"/((?:19|20)\d\d)/(0?[1-9]|1[0-2])/")


#: Every value ``published_from`` can take, in precedence order (the record schema lists them).
DATE_SOURCES = ("selector", "jsonld", "opengraph", "meta", "microdata", "time", "feed", "url", "htmldate")


@dataclass(frozen=True, slots=True)
class DateCandidate:
    """A date found in one source. ``value`` is aware UTC; ``has_time`` is False for a bare day."""

    value: datetime
    source: str
    has_time: bool = True
    # a time of day written without an offset (read as UTC until localized), and the offset a
    # value was written with; how it was written, not which instant it is, so not compared
    naive: bool = field(default=False, compare=False)
    utc_offset: timedelta | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class UrlDate:
    """A date found in a URL path; ``day`` is False when the URL only gives year and month."""

    value: date
    day: bool


def date_from_url(url: str) -> UrlDate | None:
    """The publication date a URL path carries (``/2024/01/28/``, ``/2024/jan/28/``, ``-20240128-``).

    Only the path is read (query strings hold too many unrelated numbers). Returns None when the
    path has no plausible date.
    """
    path = re.sub(r"^[a-z][a-z0-9+.-]*://[^/]*", "", url, flags=re.IGNORECASE).split("?", 1)[0]
    for match in _URL_YMD.finditer(path):
        year, month_part, day = match.groups()
        month = int(month_part) if month_part.isdigit() else month_number(month_part)
        if month is None:
            continue
        try:
            return UrlDate(date(int(year), month, int(day)), day=True)
        except ValueError:
            continue
    for compact in _URL_COMPACT.finditer(path):
        try:
            return UrlDate(date(int(compact.group(1)), int(compact.group(2)), int(compact.group(3))), day=True)
        except ValueError:
            continue
    month_only = _URL_YM.search(path)
    if month_only:
        return UrlDate(date(int(month_only.group(1)), int(month_only.group(2)), 1), day=False)
    return None


def agrees_with_url(candidate: DateCandidate, url_date: UrlDate) -> bool:
    """Whether a candidate is compatible with the date in the URL (see module docstring)."""
    day = candidate.value.date()
    if url_date.day:
        return abs(day - url_date.value) <= URL_DAY_TOLERANCE
    first = url_date.value - URL_DAY_TOLERANCE
    following = (url_date.value.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first <= day < following + URL_DAY_TOLERANCE


def choose_published(candidates: list[DateCandidate], url_date: UrlDate | None, now: datetime) -> DateCandidate | None:
    """Pick the publication date among candidates given in precedence order.

    The URL date, when the caller found a full one, is one of the candidates (source ``"url"``).
    Rules, in order: drop candidates after ``now + CLOCK_SKEW``; when the URL has a date, move
    the candidates that agree with it ahead of those that do not (so a URL day beats markup dates
    that all contradict it); a chosen bare day is refined by the first later candidate of the same
    day that has a time.
    """
    limit = now + CLOCK_SKEW
    usable = [c for c in candidates if c.value <= limit]
    if url_date is not None:
        agreeing = [c for c in usable if agrees_with_url(c, url_date)]
        usable = agreeing + [c for c in usable if not agrees_with_url(c, url_date)]
    if not usable:
        return None
    chosen = usable[0]
    if not chosen.has_time:
        for other in usable[1:]:
            if other.has_time and other.value.date() == chosen.value.date():
                return other
    return chosen


def candidate(value: str | None, source: str) -> DateCandidate | None:
    """``value`` read as a date candidate of ``source``; None when it is no date or names no day."""
    parsed = read_date(value)
    if parsed is None or not parsed.has_day:
        return None
    return DateCandidate(parsed.value, source, parsed.has_time, parsed.naive, parsed.utc_offset)


def localize_naive(candidates: list[DateCandidate], zone: str | None = None) -> list[DateCandidate]:
    """Give naive times of day an offset: the one of a candidate on the page that shows the same
    wall-clock time with an offset (JSON-LD ``2024-03-14T09:30:00`` next to OpenGraph
    ``2024-03-14T09:30:00+01:00``), else the source's IANA ``zone``; otherwise they stay UTC."""
    offsets = [
        (c.value + c.utc_offset, c.utc_offset) for c in candidates if c.utc_offset is not None and c.has_time
    ]
    resolved = []
    for found in candidates:
        localized = found
        if found.naive:
            wall = found.value.replace(tzinfo=None)
            agreeing = next((offset for local, offset in offsets if local.replace(tzinfo=None) == wall), None)
            if agreeing is not None:
                localized = replace(found, value=found.value - agreeing, naive=False, utc_offset=agreeing)
            elif zone and (zoned := localize(wall, zone)) is not None:
                localized = replace(found, value=zoned, naive=False)
        resolved.append(localized)
    return resolved


def url_candidate(url_date: UrlDate | None) -> DateCandidate | None:
    """The URL date as a candidate: only a full date counts, at midnight UTC."""
    if url_date is None or not url_date.day:
        return None
    day = url_date.value
    return DateCandidate(datetime(day.year, day.month, day.day, tzinfo=UTC), "url", has_time=False)


def choose_modified(
    candidates: list[DateCandidate], published: DateCandidate | None, now: datetime
) -> DateCandidate | None:
    """Pick the last-modified date: the first candidate not in the future and not before ``published``."""
    limit = now + CLOCK_SKEW
    for candidate in candidates:
        if candidate.value > limit:
            continue
        if published is not None and candidate.value < published.value:
            continue
        return candidate
    return None


# --------------------------------------------------------------------------------------------
# a page's candidates


def page_dates(
    tree: HtmlElement,
    meta: PageMetadata,
    entry: Entry | None,
    *,
    selectors: SelectorOverrides | None,
    url: str,
    now: datetime,
    timezone: str | None = None,
) -> tuple[DateCandidate | None, DateCandidate | None]:
    """The chosen publication and modification dates of a page.

    Candidates come from the date selector, the metadata readers, the feed entry and the URL;
    htmldate is asked only when none of them has a date. Naive times of day are localized first
    (:func:`localize_naive`, with the source's ``timezone`` as the fallback zone).
    """
    candidates = _published_candidates(meta, entry, _selector_date(tree, selectors.date if selectors else None), url)
    every = localize_naive(candidates + list(meta.modified), timezone)
    candidates, modified_page = every[: len(candidates)], every[len(candidates) :]
    if not candidates:
        guess = _htmldate_candidate(tree, url, now)
        candidates = [guess] if guess else []
    published = choose_published(candidates, date_from_url(url), now)
    modified_candidates = modified_page
    if entry is not None and entry.updated is not None:
        modified_candidates.append(DateCandidate(to_utc(entry.updated), "feed"))
    return published, choose_modified(modified_candidates, published, now)


def _published_candidates(
    meta: PageMetadata, entry: Entry | None, selected: DateCandidate | None, url: str
) -> list[DateCandidate]:
    candidates = [selected] if selected else []
    candidates.extend(meta.published)
    if entry is not None and entry.published is not None:
        candidates.append(DateCandidate(to_utc(entry.published), "feed"))
    from_url = url_candidate(date_from_url(url))
    if from_url is not None:
        candidates.append(from_url)
    return candidates


def _htmldate_candidate(tree: HtmlElement, url: str, now: datetime) -> DateCandidate | None:
    """htmldate's guess, for pages without any structured or URL date."""
    guess = candidate(htmldate_guess(tree, url, now), "htmldate")
    return replace(guess, has_time=False) if guess else None


def _selector_date(tree: HtmlElement, selector: str | None) -> DateCandidate | None:
    if not selector:
        return None
    for element in select(tree, selector):
        for value in (element.get("datetime"), element.get("content"), element.text_content()):
            found = candidate(value, "selector")
            if found:
                return found
    return None
