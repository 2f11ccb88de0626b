"""Date parsing: the one reader of dates for feeds, sitemaps and pages, into aware UTC.

Feeds, sitemaps and page markup write the same handful of grammars, so one reader serves all
three and a string means the same instant wherever it is found:

* ISO 8601 / W3C-DTF (Atom, JSON Feed, sitemaps, JSON-LD, ``<time datetime>``), with or without
  offset, fractions, a lower-case ``t``/``z``, a trailing named zone, and the W3C partial forms
  ``2024`` and ``2024-02``; compact ``YYYYMMDD[THHMM[SS]]``; Unix timestamps (seconds or
  milliseconds);
* RFC 822/2822 (RSS ``pubDate``, some meta tags), read by tokens rather than one strict pattern,
  because real feeds drop seconds, use two-digit years, named zones (``EST``, ``CEST``), ``GMT+1``,
  asctime's year-after-time order and day and month names in other languages;
* written dates in running text (``Publié le 7 octobre 2023``, ``Nov. 19, 2019, 8:38 p.m.``).

Month names are read in English, French, German, Spanish, Portuguese, Italian, Dutch and the
Scandinavian languages (day names in any of them are skipped). A value with an offset or a known
zone name is converted to UTC: fixed abbreviations (``EST``, ``CEST``) at their offset, the
generic North American ones (``ET``, ``CT``, ``MT``, ``PT``, ``AT``, ``AKT``, ``HT``) and IANA
names (``America/New_York``) at the offset their zone had on that date. A value without any zone
is taken as UTC; a date field whose zone is a name we do not know (capital letters after the
time, ``16:31 XYZ``) cannot be placed in time and reads as nothing: a guess would be hours off.
(In running text, a capitalized word after the time is just a word: ``10:30 AFP``.)
Dates before :data:`EARLIEST` are parsing accidents or placeholders and read as
nothing. Nothing here raises on bad input. Which date a page or feed *keeps* is decided by its
caller (:mod:`newsmon.crawler.extraction.dates`, :mod:`newsmon.crawler.discovery.dates`).
"""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_tz
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)  # before the web news era: a parsing accident
MAX_LENGTH = 200  # characters read, after collapsing whitespace

# fmt: off
_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    # English, French, German, Spanish, Portuguese, Italian, with their usual abbreviations.
    1: ("jan", "january", "janv", "janvier", "januar", "jänner", "ene", "enero", "janeiro", "gen", "gennaio"),
    2: ("feb", "february", "févr", "fevr", "février", "fevrier", "fév", "fev", "februar", "febrero",
        "fevereiro", "febbraio"),
    3: ("mar", "march", "mars", "märz", "marz", "mär", "marzo", "março", "marco"),
    4: ("apr", "april", "avr", "avril", "abr", "abril", "aprile"),
    5: ("may", "mai", "mayo", "maio", "mag", "maggio"),
    6: ("jun", "june", "juin", "juni", "junio", "junho", "giu", "giugno"),
    7: ("jul", "july", "juil", "juillet", "juli", "julio", "julho", "lug", "luglio"),
    8: ("aug", "august", "août", "aout", "aoû", "agosto", "ago"),
    9: ("sep", "sept", "september", "septembre", "septiembre", "setembro", "set", "settembre"),
    10: ("oct", "october", "octobre", "okt", "oktober", "octubre", "outubro", "out", "ott", "ottobre"),
    11: ("nov", "november", "novembre", "noviembre", "novembro"),
    12: ("dec", "december", "déc", "décembre", "decembre", "dez", "dezember", "dic", "diciembre",
         "dezembro", "dicembre"),
}
# Dutch, Swedish, Danish and Norwegian names the list above does not already hold.
_MORE_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    1: ("januari",), 2: ("februari",), 3: ("maart", "mrt", "marts"), 5: ("mei", "maj"),
    8: ("augustus", "augusti"), 10: ("okt",), 12: ("desember", "des"),
}
_MONTHS = {name: number for table in (_MONTH_NAMES, _MORE_MONTH_NAMES) for number, names in table.items()
           for name in names}

# Offsets in minutes. Ambiguous abbreviations take the reading most common in news feeds
# (IST = India, BST = British Summer Time, CST = US Central). Unknown names are rejected.
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
    "hast": -600, "hadt": -540, "hdt": -540, "sst": -660, "chst": 600, "pkt": 300, "npt": 345,
    "irst": 210, "gst": 240, "trt": 180, "myt": 480, "wita": 480, "wit": 540, "aet": 600,
}
# Names that stand for a zone's local time, summer or winter: the offset depends on the date.
_GENERIC_ZONES = {
    "et": "America/New_York", "ct": "America/Chicago", "mt": "America/Denver", "pt": "America/Los_Angeles",
    "at": "America/Halifax", "akt": "America/Anchorage", "ht": "Pacific/Honolulu",
}
# fmt: on

# ISO 8601 and its relatives
_ISO_PREFIX = re.compile(r"^(\d{4}-\d\d-\d\d(?:[Tt ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?)?)\s*(.*)$")
_ISO_OFFSET = re.compile(r"^(?:Z|UTC|GMT|([+-])(\d\d):?(\d\d)?)$", re.IGNORECASE)
_W3C_PARTIAL = re.compile(r"(\d{4})(?:-(\d{2}))?")
_COMPACT = re.compile(
    r"^((?:19|20)\d\d)(\d\d)(\d\d)(?:T?(\d\d)(\d\d)(\d\d)?(?:\s*(Z|[+-]\d\d:?\d\d))?|Z)?$", re.IGNORECASE
)
_EPOCH = re.compile(r"^\d{10}(?:\d{3})?$")

# RFC 822 and its relatives: the form feeds use nine times out of ten, then the token reader
_RFC822_COMMON = re.compile(
    r"(?:[A-Za-z]{3}, )?(\d{1,2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) (?:([+-])(\d{2})(\d{2})|GMT|UTC|UT|Z)"
)
_TIME = re.compile(r"(?<!\d)(\d{1,2})[:h](\d{2})(?::(\d{2}))?(?:[.,]\d+)?(?:\s*([ap])\.?m\b\.?)?", re.IGNORECASE)
_NUMERIC_ZONE = re.compile(r"(?:^|[\s(a-z])([+-])(\d{1,2})(?::?(\d{2}))?\b")
_WORD = re.compile(r"[^\W\d_]+")
# The year asctime and date(1) write after the time, never the digits of a "+0000" offset.
_YEAR_AFTER = re.compile(r"(?<![\d+-])(\d{4}|\d{2})(?![\d:])")
# A zone abbreviation is written in capitals; a lower-case word after a time ("Uhr") is not one.
_ZONE_LIKE = re.compile(r"^[A-Z]{1,5}$")
_IANA_ZONE = re.compile(r"\b([A-Z][A-Za-z]+(?:/[A-Z][A-Za-z_-]+){1,2})\b")
_NUMBER = re.compile(r"\d+")

# Written dates inside longer text: "le 7 octobre 2023 à 10h30", "Nov. 19, 2019, 8:38 p.m."
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WRITTEN_TIME = r"(?:\D{0,6}?(\d{1,2})[:h.](\d{2})(?::(\d{2}))?\s*([ap]\.?m\.?)?)?"
_WRITTEN_DAY_MONTH_YEAR = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th|er|º)?\.?\s+(?:de\s+)?({_MONTH_RE})\.?,?\s+(?:de\s+)?((?:19|20)\d\d)\b{_WRITTEN_TIME}",
    re.IGNORECASE,
)
_WRITTEN_MONTH_DAY_YEAR = re.compile(
    rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+((?:19|20)\d\d)\b{_WRITTEN_TIME}", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class ParsedDate:
    """A date read from text: ``value`` is aware UTC; the flags say how much the text gave.

    ``has_day`` is False for the W3C partial forms (``2024``, ``2024-02``, read as the first day);
    ``has_time`` is False for a bare day (read as midnight UTC). ``naive`` is True for an ISO
    time of day written without an offset (read as UTC); ``utc_offset`` is the offset an ISO
    value was written with, so that a page's naive times can borrow it.
    """

    value: datetime
    has_time: bool = True
    has_day: bool = True
    # facts about how the text was written, not part of the instant's identity
    naive: bool = field(default=False, compare=False)
    utc_offset: timedelta | None = field(default=None, compare=False)


class _Rejected(Exception):
    """The text has the shape of a reader's grammar but is not a valid date (31 February, +9999)."""


def parse_date(text: str | None) -> datetime | None:
    """The instant a date string names, as an aware UTC datetime, or None (see :func:`read_date`)."""
    parsed = read_date(text)
    return parsed.value if parsed is not None else None


def read_date(text: str | None) -> ParsedDate | None:
    """Read a date in any grammar of this module; None when the text is not a plausible date."""
    if not text:
        return None
    text = " ".join(text.split())[:MAX_LENGTH]
    return _read_cached(text) if text else None


def month_number(name: str) -> int | None:
    """The month a name or abbreviation stands for in any language read here (``févr`` is 2)."""
    return _MONTHS.get(name.lower().rstrip("."))


def localize(wall: datetime, zone_name: str) -> datetime | None:
    """A naive wall-clock time in the IANA zone ``zone_name``, as aware UTC; None for an unknown zone."""
    zone = _zone_info(zone_name)
    return wall.replace(tzinfo=zone).astimezone(UTC) if zone is not None else None


def to_utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive value is taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@lru_cache(maxsize=4096)
def _read_cached(text: str) -> ParsedDate | None:
    # Sitemaps and feeds repeat the same timestamp often; the cache makes that nearly free.
    try:
        parsed = _read(text)
    except (_Rejected, OverflowError, ValueError):
        return None
    if parsed is None or parsed.value < EARLIEST:
        return None
    return parsed


def _read(text: str) -> ParsedDate | None:
    """Try each grammar, strictest first; a reader raises :class:`_Rejected` to stop the search."""
    for reader in (_read_iso, _read_w3c_partial, _read_compact, _read_epoch, _read_rfc822, _read_written):
        parsed = reader(text)
        if parsed is not None:
            return parsed
    return _read_with_email_utils(text)


_Zone = int | ZoneInfo  # minutes east of UTC, or a zone whose offset depends on the date


def _zoned(local: datetime, zone: _Zone) -> datetime:
    if isinstance(zone, ZoneInfo):
        return local.replace(tzinfo=zone).astimezone(UTC)
    return (local.replace(tzinfo=timezone(timedelta(minutes=zone)))).astimezone(UTC)


@lru_cache(maxsize=64)
def _zone_info(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _read_iso(text: str) -> ParsedDate | None:
    match = _ISO_PREFIX.match(text)
    if not match:
        return None
    stamp, rest = match.group(1).upper().replace(",", "."), match.group(2).strip()
    has_time = len(stamp) > 10
    try:
        value = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if rest:
        offset = _ISO_OFFSET.match(rest)
        first = rest.split()[0]
        if offset and offset.group(1):
            value = datetime.fromisoformat(f"{stamp}{offset.group(1)}{offset.group(2)}:{offset.group(3) or '00'}")
        elif offset:
            value = value.replace(tzinfo=UTC)
        elif has_time and _names_zone(first) and (zone := _zone_offset(first.lower(), first)) is not None:
            value = _zoned(value, zone)
        elif has_time and _ZONE_LIKE.match(first):
            raise _Rejected(text)  # an unknown zone name
        elif has_time:
            # An offset the prefix pattern cut off ("+01:00 (updated)"); other words are ignored.
            with suppress(ValueError):
                value = datetime.fromisoformat(f"{stamp}{first}")
    return ParsedDate(to_utc(value), has_time, naive=has_time and value.tzinfo is None, utc_offset=value.utcoffset())


def _read_w3c_partial(text: str) -> ParsedDate | None:
    match = _W3C_PARTIAL.fullmatch(text)
    if match is None:
        return None
    try:
        return ParsedDate(datetime(int(match[1]), int(match[2] or 1), 1, tzinfo=UTC), has_time=False, has_day=False)
    except ValueError as error:
        raise _Rejected(text) from error


def _read_compact(text: str) -> ParsedDate | None:
    match = _COMPACT.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        value = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
        minutes = _zone_offset(zone.lower()) if zone else 0
        if minutes is None:
            raise _Rejected(text)
        return ParsedDate(_zoned(value, minutes), hour is not None)
    except ValueError:
        return None


def _read_epoch(text: str) -> ParsedDate | None:
    if not _EPOCH.match(text):
        return None
    seconds = int(text) / (1000 if len(text) == 13 else 1)
    try:
        return ParsedDate(datetime.fromtimestamp(seconds, tz=UTC))
    except (OverflowError, OSError, ValueError) as error:
        raise _Rejected(text) from error


def _read_rfc822(text: str) -> ParsedDate | None:
    """RFC 822 and the looser forms feeds write: a month name, a day and a year, a time, a zone."""
    common = _RFC822_COMMON.fullmatch(text)
    parsed = _read_rfc822_common(common) if common else None
    if parsed is not None:
        return parsed
    lowered = text.lower()
    hour = minute = second = 0
    date_part, zone_part = lowered, ""
    time_match = _TIME.search(lowered)
    if time_match:
        hour, minute, second = int(time_match[1]), int(time_match[2]), int(time_match[3] or 0)
        if time_match[4] == "p" and hour < 12:
            hour += 12
        elif time_match[4] == "a" and hour == 12:
            hour = 0
        date_part, zone_part = lowered[: time_match.start()], lowered[time_match.end() :]
        # The same slice in the original case, where capitals tell a zone name from a word.
        original_zone = text[time_match.end() :] if len(lowered) == len(text) else zone_part
    else:
        original_zone = ""

    # The last month word wins: French "mar." (mardi) may come first as the day name.
    months = [_MONTHS[word] for word in _WORD.findall(date_part) if word in _MONTHS]
    numbers = _NUMBER.findall(date_part)
    if len(numbers) == 1:
        # asctime and date(1) put the year after the time: "Wed Jun 10 04:00:00 EST 2003".
        year_after = _YEAR_AFTER.search(zone_part)
        if year_after:
            numbers.append(year_after[0])
            zone_part = zone_part[: year_after.start()] + zone_part[year_after.end() :]
            original_zone = original_zone[: year_after.start()] + original_zone[year_after.end() :]
    if not months or len(numbers) != 2:
        return None
    day_text, year_text = numbers if len(numbers[0]) <= 2 else reversed(numbers)
    year = _full_year(year_text)
    # A date field ("Fri, 09 Feb 2024 16:31 XYZ") has at most a day name besides its numbers and
    # month; more words make it running text, where a capitalized word after the time is a word.
    is_field = sum(word not in _MONTHS for word in _WORD.findall(date_part)) <= 1
    zone_minutes = _zone_offset(zone_part, original_zone if is_field else "")
    if year is None or zone_minutes is None or len(day_text) > 2 or hour > 24 or minute > 59:
        raise _Rejected(text)
    try:
        local = datetime(year, months[-1], int(day_text), 0, minute, min(second, 59))
    except ValueError as error:
        raise _Rejected(text) from error
    # Hour 24 is the next midnight; a leap second reads as :59.
    local += timedelta(hours=hour)
    return ParsedDate(_zoned(local, zone_minutes), has_time=time_match is not None)


def _read_rfc822_common(match: re.Match[str]) -> ParsedDate | None:
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
        return None  # the token reader decides (and rejects an impossible day or offset)
    return ParsedDate(local.astimezone(UTC))


def _full_year(text: str) -> int | None:
    if len(text) == 2:
        # RFC 2822 section 4.3: 00-49 are 2000-2049, 50-99 are 1950-1999.
        year = int(text)
        return year + (2000 if year < 50 else 1900)
    if len(text) == 4:
        return int(text)
    return None


def _zone_offset(zone_part: str, original: str = "") -> _Zone | None:
    """The zone named after the time: minutes east of UTC or a :class:`ZoneInfo`.

    ``zone_part`` is lower-cased; ``original`` is the same text in its own case. No zone at all
    reads as UTC; ``None`` means an impossible offset or an unknown zone name.
    """
    numeric = _NUMERIC_ZONE.search(zone_part)
    if numeric:
        return _numeric_offset(numeric)
    iana = _IANA_ZONE.search(original)
    if iana:
        return _zone_info(iana[1])
    for word in _WORD.findall(zone_part):
        if word in _ZONES:
            return _ZONES[word]
        if word in _GENERIC_ZONES:
            return _zone_info(_GENERIC_ZONES[word])
    words = _WORD.findall(original)
    if words and _ZONE_LIKE.match(words[0]) and len(words[0]) > 1:
        return None  # a zone name we do not know: never guess UTC
    # RFC 2822 says military one-letter zones are unreliable and reads them as -0000.
    return 0


def _numeric_offset(numeric: re.Match[str]) -> int | None:
    hours, minutes = int(numeric[2]), int(numeric[3] or 0)
    if hours > 14 or minutes > 59:
        return None
    offset = hours * 60 + minutes
    return -offset if numeric[1] == "-" else offset


def _names_zone(word: str) -> bool:
    """Whether ``word`` alone (after an ISO time) is a zone we know."""
    lowered = word.lower()
    return lowered in _ZONES or lowered in _GENERIC_ZONES or _IANA_ZONE.fullmatch(word) is not None


def _read_written(text: str) -> ParsedDate | None:
    """A written date anywhere in running text; the time may follow within a few characters."""
    match = _WRITTEN_DAY_MONTH_YEAR.search(text)
    if match:
        day, month_name, year = match.group(1), match.group(2), match.group(3)
    else:
        match = _WRITTEN_MONTH_DAY_YEAR.search(text)
        if not match:
            return None
        month_name, day, year = match.group(1), match.group(2), match.group(3)
    month = month_number(month_name)
    if month is None:
        return None
    hour, minute, second, meridiem = match.groups()[3:]
    h = int(hour) if hour else 0
    if meridiem and h < 12 and meridiem.lower().startswith("p"):
        h += 12
    elif meridiem and h == 12 and meridiem.lower().startswith("a"):
        h = 0
    # A zone written right after the time counts, as in RFC 822 ("10.30 CET"). In running text
    # a capitalized word there may be anything ("10:30 AFP"), so an unknown one is not a zone.
    following = text[match.end() :].split(maxsplit=1)
    minutes = _zone_offset(following[0].lower()) if hour and following else 0
    try:
        value = datetime(int(year), month, int(day), h, int(minute or 0), int(second or 0))
    except ValueError as error:
        raise _Rejected(text) from error
    if minutes is None:
        raise _Rejected(text)
    return ParsedDate(_zoned(value, minutes), hour is not None)


def _read_with_email_utils(text: str) -> ParsedDate | None:
    """Let the standard library try the RFC 822 forms the token reader does not know."""
    try:
        fields = parsedate_tz(text)
    except (ValueError, IndexError, TypeError):
        return None
    if fields is None:
        return None
    year, month, day, hour, minute, second, *_rest, offset = fields
    try:
        local = datetime(year, month, day, hour, minute, min(second, 59))
    except (ValueError, OverflowError):
        return None
    return ParsedDate(_zoned(local, (offset or 0) // 60), has_time=bool(re.search(r"\d:\d", text)))


__all__ = ["EARLIEST", "ParsedDate", "localize", "month_number", "parse_date", "read_date", "to_utc"]
