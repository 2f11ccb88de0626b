"""Dates as feeds and sitemaps really write them, read into aware UTC datetimes.

Two grammars cover nearly everything: ISO 8601/W3C-DTF (Atom, JSON Feed, sitemaps, ``dc:date``)
and RFC 822/2822 (RSS ``pubDate``). The RFC 822 reader is token based rather than one strict
pattern, because real feeds drop seconds, use two-digit years, named zones (``EST``, ``CEST``),
month-first orders, ``GMT+1`` and French, German, Spanish or Italian day and month names.
Anything unreadable gives ``None``; nothing here raises.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_tz
from functools import lru_cache

# A date this far past "now" is a CMS bug (or a lie that would pin an item on top); ignore it.
FUTURE_TOLERANCE = timedelta(days=1)

# fmt: off
_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    1: ("jan", "january", "janv", "janvier", "januar", "jänner", "ene", "enero", "gen", "gennaio"),
    2: ("feb", "february", "févr", "fevr", "février", "fevrier", "fév", "fev", "februar", "febrero",
        "febbraio"),
    3: ("mar", "march", "mars", "märz", "marz", "mär", "marzo"),
    4: ("apr", "april", "avr", "avril", "abr", "abril", "aprile"),
    5: ("may", "mai", "mayo", "mag", "maggio"),
    6: ("jun", "june", "juin", "juni", "junio", "giu", "giugno"),
    7: ("jul", "july", "juil", "juillet", "juli", "julio", "lug", "luglio"),
    8: ("aug", "august", "août", "aout", "aoû", "agosto", "ago"),
    9: ("sep", "sept", "september", "septembre", "septiembre", "set", "settembre"),
    10: ("oct", "october", "octobre", "okt", "oktober", "octubre", "ott", "ottobre"),
    11: ("nov", "november", "novembre", "noviembre"),
    12: ("dec", "december", "déc", "décembre", "decembre", "dez", "dezember", "dic", "diciembre",
         "dicembre"),
}
_MONTHS = {name: number for number, names in _MONTH_NAMES.items() for name in names}

# Offsets in minutes. Ambiguous abbreviations take the reading most common in news feeds
# (IST = India, BST = British Summer Time). Unknown names are read as UTC.
_ZONES = {
    "ut": 0, "utc": 0, "gmt": 0, "z": 0, "wet": 0,
    "est": -300, "edt": -240, "cst": -360, "cdt": -300, "mst": -420, "mdt": -360,
    "pst": -480, "pdt": -420, "akst": -540, "akdt": -480, "hst": -600, "ast": -240, "adt": -180,
    "nst": -210, "ndt": -150, "brt": -180, "art": -180,
    # Canadian French: heure normale / avancée de l'Est, du Centre, des Rocheuses, du Pacifique.
    "hne": -300, "hae": -240, "hnc": -360, "hac": -300, "hnr": -420, "har": -360,
    "hnp": -480, "hap": -420,
    "bst": 60, "west": 60, "cet": 60, "met": 60, "mez": 60, "mesz": 120, "wat": 60, "cest": 120, "mest": 120,
    "eet": 120, "cat": 120, "sast": 120, "eest": 180, "msk": 180, "eat": 180, "ist": 330,
    "ict": 420, "wib": 420, "hkt": 480, "sgt": 480, "pht": 480, "awst": 480,
    "jst": 540, "kst": 540, "acst": 570, "acdt": 630, "aest": 600, "aedt": 660,
    "nzst": 720, "nzdt": 780,
}
# fmt: on

# The form RFC 822 feeds use nine times out of ten, read without the general tokenizer.
_RFC822_COMMON = re.compile(
    r"(?:[A-Za-z]{3}, )?(\d{1,2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) (?:([+-])(\d{2})(\d{2})|GMT|UTC|UT|Z)"
)
_ISO_START = re.compile(r"\d{4}")
_W3C_PARTIAL = re.compile(r"(\d{4})(?:-(\d{2}))?")
_TIME = re.compile(r"(?<!\d)(\d{1,2})[:h](\d{2})(?::(\d{2}))?(?:[.,]\d+)?(?:\s*([ap])\.?m\b\.?)?", re.IGNORECASE)
_NUMERIC_ZONE = re.compile(r"(?:^|[\s(a-z])([+-])(\d{1,2})(?::?(\d{2}))?\b")
_WORD = re.compile(r"[^\W\d_]+")
_NUMBER = re.compile(r"\d+")


def parse_date(value: str | None, now: datetime | None = None) -> datetime | None:
    """Read an RFC 822 or ISO 8601 date into an aware UTC datetime.

    Args:
        value: the text of a date element; surrounding whitespace is ignored.
        now: the current time; dates more than :data:`FUTURE_TOLERANCE` after it are dropped.
            ``None`` skips that check.

    Returns:
        The instant in UTC (a date without a zone is taken as UTC), or ``None`` when the text
        is not a date this module can read or is implausibly far in the future.
    """
    if not value:
        return None
    parsed = _parse_cached(value.strip()[:100])
    if parsed is not None and now is not None and parsed > now + FUTURE_TOLERANCE:
        return None
    return parsed


def aware_now(now: datetime | None) -> datetime:
    """``now`` as an aware datetime (a naive one is taken as UTC), or the current time."""
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


@lru_cache(maxsize=4096)
def _parse_cached(value: str) -> datetime | None:
    # Sitemaps and feeds repeat the same timestamp often; the cache makes that nearly free.
    if not value:
        return None
    if _ISO_START.match(value):
        parsed = _parse_iso(value)
        if parsed is not None:
            return parsed
    return _parse_rfc822(value)


def _parse_iso(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.upper())
    except ValueError:
        match = _W3C_PARTIAL.fullmatch(value)
        if match is None:
            return None
        try:
            parsed = datetime(int(match[1]), int(match[2] or 1), 1)
        except ValueError:
            return None
    return _to_utc(parsed)


def _to_utc(parsed: datetime) -> datetime | None:
    try:
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _parse_rfc822_common(match: re.Match[str]) -> datetime | None:
    month = _MONTHS.get(match[2].lower())
    if month is None:
        return None
    offset = 0
    if match[7]:
        offset = int(match[8]) * 60 + int(match[9])
        offset = -offset if match[7] == "-" else offset
    try:
        zone = timezone(timedelta(minutes=offset))
        second = min(int(match[6]), 59)
        local = datetime(int(match[3]), month, int(match[1]), int(match[4]), int(match[5]), second, tzinfo=zone)
    except ValueError:
        return None
    return _to_utc(local)


def _parse_rfc822(value: str) -> datetime | None:
    common = _RFC822_COMMON.fullmatch(value)
    parsed = _parse_rfc822_common(common) if common else None
    if parsed is not None:
        return parsed
    text = value.lower()
    hour = minute = second = 0
    date_part, zone_part = text, ""
    time_match = _TIME.search(text)
    if time_match:
        hour, minute, second = int(time_match[1]), int(time_match[2]), int(time_match[3] or 0)
        if time_match[4] == "p" and hour < 12:
            hour += 12
        elif time_match[4] == "a" and hour == 12:
            hour = 0
        date_part, zone_part = text[: time_match.start()], text[time_match.end() :]

    # The last month word wins: French "mar." (mardi) may come first as the day name.
    months = [_MONTHS[word] for word in _WORD.findall(date_part) if word in _MONTHS]
    numbers = _NUMBER.findall(date_part)
    if len(numbers) == 1:
        # asctime and date(1) put the year after the time: "Wed Jun 10 04:00:00 EST 2003".
        year_after = _NUMBER.search(zone_part)
        if year_after:
            numbers.append(year_after[0])
            zone_part = zone_part[: year_after.start()] + zone_part[year_after.end() :]
    if not months or len(numbers) != 2:
        return _parse_fallback(value)
    day_text, year_text = numbers if len(numbers[0]) <= 2 else reversed(numbers)
    year = _full_year(year_text)
    zone_minutes = _zone_offset(zone_part)
    if year is None or zone_minutes is None or len(day_text) > 2 or hour > 24 or minute > 59:
        return None
    try:
        local = datetime(year, months[-1], int(day_text), 0, minute, min(second, 59))
    except ValueError:
        return None
    # Hour 24 is the next midnight; a leap second reads as :59.
    local += timedelta(hours=hour)
    return _to_utc(local.replace(tzinfo=timezone(timedelta(minutes=zone_minutes))))


def _full_year(text: str) -> int | None:
    if len(text) == 2:
        # RFC 2822 section 4.3: 00-49 are 2000-2049, 50-99 are 1950-1999.
        year = int(text)
        return year + (2000 if year < 50 else 1900)
    if len(text) == 4:
        return int(text)
    return None


def _zone_offset(zone_part: str) -> int | None:
    """Minutes east of UTC named after the time; unknown or missing zones read as UTC."""
    numeric = _NUMERIC_ZONE.search(zone_part)
    if numeric:
        hours, minutes = int(numeric[2]), int(numeric[3] or 0)
        if hours > 14 or minutes > 59:
            return None
        offset = hours * 60 + minutes
        return -offset if numeric[1] == "-" else offset
    for word in _WORD.findall(zone_part):
        if word in _ZONES:
            return _ZONES[word]
    # RFC 2822 says military one-letter zones are unreliable and reads them as -0000.
    return 0


def _parse_fallback(value: str) -> datetime | None:
    """Let the standard library try forms the token reader does not know."""
    try:
        fields = parsedate_tz(value)
    except (ValueError, IndexError, TypeError):
        return None
    if fields is None:
        return None
    year, month, day, hour, minute, second, *_rest, offset = fields
    try:
        naive = datetime(year, month, day, hour, minute, min(second, 59))
    except (ValueError, OverflowError):
        return None
    return _to_utc(naive.replace(tzinfo=timezone(timedelta(seconds=offset or 0))))
