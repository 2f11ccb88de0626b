"""Date parsing, normalization and the precedence rules that pick ``published`` and ``modified``.

Every date newsmon emits is a timezone-aware UTC :class:`~datetime.datetime`:

* a value with an offset (``+01:00``, ``Z``, ``GMT``) is converted to UTC;
* a naive value (no offset) is taken as UTC: pages rarely say which zone a bare time is in, and
  the error is bounded by a day, which the URL-date check below tolerates;
* a date without a time is midnight UTC, and remembered as such (``has_time`` False), so that a
  candidate of the same day that carries a time can refine it.

Precedence (``choose_published``): candidates arrive in source order (selector, JSON-LD, OpenGraph,
other meta tags, microdata, ``<time>``, feed, URL, htmldate). Candidates later than ``now`` plus
:data:`CLOCK_SKEW` are dropped. When the URL carries a full date, a candidate more than
:data:`URL_DAY_TOLERANCE` away from it is demoted behind every candidate that agrees with it, and
when none agrees the URL date itself wins: URL dates are fixed when the slug is first published,
while markup dates are sometimes the render time or the last edit.
"""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from lxml.html import HtmlElement

from newsmon.crawler.extraction.adapter import htmldate_guess
from newsmon.crawler.extraction.selectors import select
from newsmon.crawler.items import Entry
from newsmon.settings.model import SelectorOverrides

if TYPE_CHECKING:
    # Only a type here; importing it at run time would be circular (the readers build candidates).
    from newsmon.crawler.extraction.metadata import PageMetadata

CLOCK_SKEW = timedelta(minutes=15)  # a published date later than now + this is rejected
URL_DAY_TOLERANCE = timedelta(days=1)  # time zones put a URL day up to a day from the UTC day
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)  # before the web news era: a parsing accident

_MONTHS = {
    # English, French, German, Spanish, Portuguese, Italian; 3-letter prefixes are matched too.
    "jan": 1,
    "january": 1,
    "janvier": 1,
    "januar": 1,
    "enero": 1,
    "janeiro": 1,
    "gennaio": 1,
    "feb": 2,
    "february": 2,
    "février": 2,
    "fevrier": 2,
    "februar": 2,
    "febrero": 2,
    "fevereiro": 2,
    "febbraio": 2,
    "fév": 2,
    "fev": 2,
    "mar": 3,
    "march": 3,
    "mars": 3,
    "märz": 3,
    "marzo": 3,
    "março": 3,
    "marco": 3,
    "mär": 3,
    "apr": 4,
    "april": 4,
    "avril": 4,
    "abril": 4,
    "aprile": 4,
    "avr": 4,
    "abr": 4,
    "may": 5,
    "mai": 5,
    "mayo": 5,
    "maio": 5,
    "maggio": 5,
    "jun": 6,
    "june": 6,
    "juin": 6,
    "juni": 6,
    "junio": 6,
    "junho": 6,
    "giugno": 6,
    "jul": 7,
    "july": 7,
    "juillet": 7,
    "juli": 7,
    "julio": 7,
    "julho": 7,
    "luglio": 7,
    "juil": 7,
    "aug": 8,
    "august": 8,
    "août": 8,
    "aout": 8,
    "agosto": 8,
    "ago": 8,
    "sep": 9,
    "sept": 9,
    "september": 9,
    "septembre": 9,
    "septiembre": 9,
    "setembro": 9,
    "settembre": 9,
    "set": 9,
    "oct": 10,
    "october": 10,
    "octobre": 10,
    "oktober": 10,
    "octubre": 10,
    "outubro": 10,
    "ottobre": 10,
    "okt": 10,
    "out": 10,
    "ott": 10,
    "nov": 11,
    "november": 11,
    "novembre": 11,
    "noviembre": 11,
    "novembro": 11,
    "dec": 12,
    "december": 12,
    "décembre": 12,
    "decembre": 12,
    "dezember": 12,
    "diciembre": 12,
    "dezembro": 12,
    "dicembre": 12,
    "déc": 12,
    "dez": 12,
    "dic": 12,
}
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_TIME_RE = r"(?:\D{0,6}?(\d{1,2})[:h.](\d{2})(?::(\d{2}))?\s*([ap]\.?m\.?)?)?"
_TEXT_DAY_MONTH_YEAR = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th|er|º)?\.?\s+(?:de\s+)?({_MONTH_RE})\.?,?\s+(?:de\s+)?((?:19|20)\d\d)\b{_TIME_RE}",
    re.IGNORECASE,
)
_TEXT_MONTH_DAY_YEAR = re.compile(
    rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+((?:19|20)\d\d)\b{_TIME_RE}", re.IGNORECASE
)
_ISO_PREFIX = re.compile(r"^\s*((?:19|20)\d\d-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?)?)\s*(.*)$")
_OFFSET = re.compile(r"^(?:Z|UTC|GMT|([+-])(\d\d):?(\d\d)?)$", re.IGNORECASE)
_COMPACT = re.compile(r"^((?:19|20)\d\d)(\d\d)(\d\d)(?:T?(\d\d)(\d\d)(\d\d)?)?(Z)?$")
_EPOCH = re.compile(r"^\d{10}(?:\d{3})?$")

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


@dataclass(frozen=True, slots=True)
class UrlDate:
    """A date found in a URL path; ``day`` is False when the URL only gives year and month."""

    value: date
    day: bool


def parse_date(text: str | None) -> tuple[datetime, bool] | None:
    """Parse a date as found in markup; return ``(aware UTC datetime, has_time)`` or None.

    Accepts ISO 8601 (with or without offset, fractions, ``Z``), RFC 2822 (feeds, some meta
    tags), compact ``YYYYMMDD[THHMMSS]``, Unix timestamps (seconds or milliseconds), and written
    dates such as ``19 November 2019 08:38`` or ``Nov. 19, 2019, 8:38 p.m.`` in the languages of
    :data:`_MONTHS`. Naive values are taken as UTC.
    """
    if not text:
        return None
    text = " ".join(text.split())[:200]
    if not text:
        return None
    parsed = _parse_iso(text) or _parse_compact(text) or _parse_epoch(text) or _parse_rfc2822(text)
    if parsed is None:
        parsed = _parse_written(text)
    if parsed is None:
        return None
    value, has_time = parsed
    if value < EARLIEST:
        return None
    return value, has_time


def _to_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _parse_iso(text: str) -> tuple[datetime, bool] | None:
    match = _ISO_PREFIX.match(text)
    if not match:
        return None
    stamp, rest = match.group(1).replace(",", "."), match.group(2).strip()
    has_time = len(stamp) > 10
    try:
        value = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if rest:
        offset = _OFFSET.match(rest)
        if offset and offset.group(1):
            try:
                value = datetime.fromisoformat(f"{stamp}{offset.group(1)}{offset.group(2)}:{offset.group(3) or '00'}")
            except ValueError:
                return None
        elif offset:
            value = value.replace(tzinfo=UTC)
        elif has_time:
            with suppress(ValueError):  # an offset the prefix pattern cut off, e.g. "+01:00"
                value = datetime.fromisoformat(f"{stamp}{rest.split()[0]}")
    return _to_utc(value), has_time


def _parse_compact(text: str) -> tuple[datetime, bool] | None:
    match = _COMPACT.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second, _zulu = match.groups()
    try:
        value = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), tzinfo=UTC
        )
    except ValueError:
        return None
    return value, hour is not None


def _parse_epoch(text: str) -> tuple[datetime, bool] | None:
    if not _EPOCH.match(text):
        return None
    seconds = int(text) / (1000 if len(text) == 13 else 1)
    try:
        return datetime.fromtimestamp(seconds, tz=UTC), True
    except (OverflowError, OSError, ValueError):
        return None


def _parse_rfc2822(text: str) -> tuple[datetime, bool] | None:
    if not re.match(r"^(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}", text):
        return None
    try:
        value = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return _to_utc(value), bool(re.search(r"\d:\d", text))


def _parse_written(text: str) -> tuple[datetime, bool] | None:
    match = _TEXT_DAY_MONTH_YEAR.search(text)
    if match:
        day, month_name, year = match.group(1), match.group(2), match.group(3)
        clock = match.groups()[3:]
    else:
        match = _TEXT_MONTH_DAY_YEAR.search(text)
        if not match:
            return None
        month_name, day, year = match.group(1), match.group(2), match.group(3)
        clock = match.groups()[3:]
    month = _MONTHS.get(month_name.lower().rstrip("."))
    if month is None:
        return None
    hour, minute, second, meridiem = clock
    h = int(hour) if hour else 0
    if meridiem and h < 12 and meridiem.lower().startswith("p"):
        h += 12
    elif meridiem and h == 12 and meridiem.lower().startswith("a"):
        h = 0
    try:
        value = datetime(int(year), month, int(day), h, int(minute or 0), int(second or 0), tzinfo=UTC)
    except ValueError:
        return None
    return value, hour is not None


def date_from_url(url: str) -> UrlDate | None:
    """The publication date a URL path carries (``/2024/01/28/``, ``/2024/jan/28/``, ``-20240128-``).

    Only the path is read (query strings hold too many unrelated numbers). Returns None when the
    path has no plausible date.
    """
    path = re.sub(r"^[a-z][a-z0-9+.-]*://[^/]*", "", url, flags=re.IGNORECASE).split("?", 1)[0]
    for match in _URL_YMD.finditer(path):
        year, month_part, day = match.groups()
        month = int(month_part) if month_part.isdigit() else _MONTHS.get(month_part.lower())
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
) -> tuple[DateCandidate | None, DateCandidate | None]:
    """The chosen publication and modification dates of a page.

    Candidates come from the date selector, the metadata readers, the feed entry and the URL;
    htmldate is asked only when none of them has a date.
    """
    candidates = _published_candidates(meta, entry, _selector_date(tree, selectors.date if selectors else None), url)
    if not candidates:
        guess = _htmldate_candidate(tree, url, now)
        candidates = [guess] if guess else []
    published = choose_published(candidates, date_from_url(url), now)
    modified_candidates = list(meta.modified)
    if entry is not None and entry.updated is not None:
        modified_candidates.append(DateCandidate(as_utc(entry.updated), "feed"))
    return published, choose_modified(modified_candidates, published, now)


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive value is taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _published_candidates(
    meta: PageMetadata, entry: Entry | None, selected: DateCandidate | None, url: str
) -> list[DateCandidate]:
    candidates = [selected] if selected else []
    candidates.extend(meta.published)
    if entry is not None and entry.published is not None:
        candidates.append(DateCandidate(as_utc(entry.published), "feed"))
    from_url = url_candidate(date_from_url(url))
    if from_url is not None:
        candidates.append(from_url)
    return candidates


def _htmldate_candidate(tree: HtmlElement, url: str, now: datetime) -> DateCandidate | None:
    """htmldate's guess, for pages without any structured or URL date."""
    parsed = parse_date(htmldate_guess(tree, url, now))
    return DateCandidate(parsed[0], "htmldate", has_time=False) if parsed else None


def _selector_date(tree: HtmlElement, selector: str | None) -> DateCandidate | None:
    if not selector:
        return None
    for element in select(tree, selector):
        for value in (element.get("datetime"), element.get("content"), element.text_content()):
            parsed = parse_date(value)
            if parsed:
                return DateCandidate(parsed[0], "selector", parsed[1])
    return None
