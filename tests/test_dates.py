"""The one date parser: every form feeds, sitemaps and pages write, and the same instant everywhere."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newsmon.crawler.dates import ParsedDate, parse_date, read_date
from newsmon.crawler.discovery import parse_feed
from newsmon.crawler.extraction import extract

NOW = datetime(2024, 6, 1, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


# (text, instant, has_time). Sections: RFC 822 as feeds write it, other languages, ISO 8601 and its
# relatives, written dates in running text, and the strings the two former parsers read differently.
READABLE = [
    # RFC 822/2822 and its real-world quirks
    ("Mon, 05 Feb 2024 10:00:00 +0000", utc(2024, 2, 5, 10), True),
    ("Mon, 05 Feb 2024 10:00:00 GMT", utc(2024, 2, 5, 10), True),
    ("Mon, 5 Feb 2024 10:00:00 -0500", utc(2024, 2, 5, 15), True),
    ("Mon, 05 Feb 2024 10:00:00 +01:00", utc(2024, 2, 5, 9), True),
    ("Mon, 05 Feb 2024 10:00 GMT", utc(2024, 2, 5, 10), True),
    ("Mon, 05 Feb 2024 10:00:00 EST", utc(2024, 2, 5, 15), True),
    ("Mon, 05 Aug 2024 10:00:00 PDT", utc(2024, 8, 5, 17), True),
    ("Mon, 05 Feb 2024 10:00:00 CET", utc(2024, 2, 5, 9), True),
    ("Mon, 05 Feb 2024 10:00:00 +0530 (IST)", utc(2024, 2, 5, 4, 30), True),
    ("Mon, 05 Feb 24 10:00:00 GMT", utc(2024, 2, 5, 10), True),
    ("Fri, 31 Dec 99 23:00:00 GMT", utc(1999, 12, 31, 23), True),
    ("Monday, 05-Feb-24 10:00:00 GMT", utc(2024, 2, 5, 10), True),
    ("05 Feb 2024 10:00:00 Z", utc(2024, 2, 5, 10), True),
    ("Mon,05 February 2024 10:00:00 UT", utc(2024, 2, 5, 10), True),
    ("Mon, 05 Feb 2024 10:00:00 GMT+1", utc(2024, 2, 5, 9), True),
    ("Mon, 05 Feb 2024 10:00:00", utc(2024, 2, 5, 10), True),
    ("Mon, 05 Feb 2024", utc(2024, 2, 5), False),
    ("Sat, 31 Dec 2016 23:59:60 +0000", utc(2016, 12, 31, 23, 59, 59), True),
    ("Mon, 05 Feb 2024 24:00:00 GMT", utc(2024, 2, 6), True),
    ("Wed Jun 10 04:00:00 2003", utc(2003, 6, 10, 4), True),
    ("Wed Jun 10 04:00:00 EDT 2003", utc(2003, 6, 10, 8), True),
    ("February 5, 2024 3:15 PM", utc(2024, 2, 5, 15, 15), True),
    ("Thu, 14 Mar 2024 08:30:00 GMT", utc(2024, 3, 14, 8, 30), True),
    ("Thu, 14 Mar 2024 09:30:00 +0100", utc(2024, 3, 14, 8, 30), True),
    # day and month names in other languages
    ("lun., 05 févr. 2024 10:00:00 +0100", utc(2024, 2, 5, 9), True),
    ("mar., 06 févr. 2024 10:00:00 +0100", utc(2024, 2, 6, 9), True),
    ("Mardi, 13 Août 2024 08:15:00 CEST", utc(2024, 8, 13, 6, 15), True),
    ("jeudi 1er février 2024 à 10h30", utc(2024, 2, 1, 10, 30), True),
    ("Di, 05 Mär 2024 10:00:00 MEZ", utc(2024, 3, 5, 9), True),
    ("mié, 07 dic 2023 10:00:00 +0100", utc(2023, 12, 7, 9), True),
    # ISO 8601 / W3C-DTF, compact forms and Unix timestamps
    ("2024-02-05T10:00:00Z", utc(2024, 2, 5, 10), True),
    ("2024-02-05t10:00:00z", utc(2024, 2, 5, 10), True),
    ("2024-02-05T10:00:00+01:00", utc(2024, 2, 5, 9), True),
    ("2024-02-05T10:00:00-0530", utc(2024, 2, 5, 15, 30), True),
    ("2024-02-05T10:00:00.1234567+00:00", utc(2024, 2, 5, 10, 0, 0, 123456), True),
    ("2024-02-05T10:00+01:00", utc(2024, 2, 5, 9), True),
    ("2024-02-05 10:00:00", utc(2024, 2, 5, 10), True),
    ("2024-02-05", utc(2024, 2, 5), False),
    ("  \n 2024-02-05T10:00:00Z \t", utc(2024, 2, 5, 10), True),
    ("2024-03-14T09:30:00+01:00", utc(2024, 3, 14, 8, 30), True),
    ("2024-03-14T08:30:00Z", utc(2024, 3, 14, 8, 30), True),
    ("2024-03-14T08:30:00.250Z", utc(2024, 3, 14, 8, 30, 0, 250000), True),
    ("2024-03-14T03:30:00-0500", utc(2024, 3, 14, 8, 30), True),
    ("2024-03-14T08:30:00", utc(2024, 3, 14, 8, 30), True),
    ("2024-03-14 08:30:00", utc(2024, 3, 14, 8, 30), True),
    ("2024-03-14 09:30:00 +01:00", utc(2024, 3, 14, 8, 30), True),
    ("2024-03-14", utc(2024, 3, 14), False),
    ("20240205T100000Z", utc(2024, 2, 5, 10), True),
    ("20240314", utc(2024, 3, 14), False),
    ("20240314T083000", utc(2024, 3, 14, 8, 30), True),
    ("1710405000", utc(2024, 3, 14, 8, 30), True),
    ("1710405000000", utc(2024, 3, 14, 8, 30), True),
    # written dates, alone or in running text
    ("March 14, 2024", utc(2024, 3, 14), False),
    ("Mar. 14, 2024, 8:30 p.m.", utc(2024, 3, 14, 20, 30), True),
    ("14 March 2024 08:30", utc(2024, 3, 14, 8, 30), True),
    ("14 mars 2024 à 08h30", utc(2024, 3, 14, 8, 30), True),
    ("jeudi 14 mars 2024", utc(2024, 3, 14), False),
    ("Publié le 7 octobre 2023", utc(2023, 10, 7), False),
    ("1er avril 2023", utc(2023, 4, 1), False),
    # read differently by the former feed and page parsers; one answer now
    ("Mon, 05 Feb 2024 10:00:00 CEST", utc(2024, 2, 5, 8), True),  # pages ignored CEST
    ("2024-03-14T08:30:00 CEST", utc(2024, 3, 14, 6, 30), True),  # pages ignored it, feeds read nothing
    ("November 19, 2019, 07:47 PM EST", utc(2019, 11, 20, 0, 47), True),  # pages ignored EST
    ("Mon, 05 Feb 2024 3:15 PM", utc(2024, 2, 5, 15, 15), True),  # pages read 03:15
    ("05 Feb 2024 10.30 CET", utc(2024, 2, 5, 9, 30), True),  # pages: no time; feeds: no CET
    ("5 de fevereiro de 2024 às 10h30", utc(2024, 2, 5, 10, 30), True),  # Portuguese: pages only
    ("05 março 2024 10:00:00 +0100", utc(2024, 3, 5, 9), True),  # feeds: no Portuguese; pages: no offset
    ("Seg, 05 fev 2024 10:00:00 -0300", utc(2024, 2, 5, 13), True),  # pages ignored the offset
    ("5 gen 2024 10:00", utc(2024, 1, 5, 10), True),  # Italian abbreviation: feeds only
    ("20240205T1000+01:00", utc(2024, 2, 5, 9), True),  # compact with offset: feeds only
    ("1707127200", utc(2024, 2, 5, 10), True),  # Unix time: pages only
]

UNREADABLE = [
    "Mon, 05 Feb 2024 10:00:00 XYZ",  # an unknown zone: hours off if guessed as UTC
    "2024-02-05T10:00:00 QQT",
    None,
    "",
    "   ",
    "yesterday",
    "soon",
    "Mon, 31 Feb 2024 10:00:00 GMT",
    "Mon, 05 Feb 2024 25:00:00 GMT",
    "Mon, 05 Feb 2024 10:00:00 +9999",  # pages read 10:00Z, ignoring the impossible offset
    "2024-13-01",
    "2024-13",
    "2024-13-45",
    "32 March 2024",
    "0000-01-01",
    "0001-01-01T00:00:00Z",  # feeds read year 1
    "1970-01-01",  # feeds read the epoch placeholder
    "Sat, 01 Jan 0001 00:00:00 +0100",  # pages read 2000-12-31T23:00Z
    "9999-12-31T23:59:59-14:00",
    "05/02/2024",
    "x" * 10_000,
]


@pytest.mark.parametrize(("text", "expected", "has_time"), READABLE)
def test_readable_dates(text: str, expected: datetime, has_time: bool) -> None:
    """Each real-world form reads to the right instant in aware UTC, remembering whether a time was given."""
    parsed = read_date(text)
    assert parsed == ParsedDate(expected, has_time)
    assert parsed.value.tzinfo is UTC
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", UNREADABLE)
def test_unreadable_dates_give_none(text: str | None) -> None:
    """Garbage, impossible dates, overflowing offsets and placeholder years give None, never an exception."""
    assert read_date(text) is None
    assert parse_date(text) is None


@pytest.mark.parametrize(("text", "expected"), [("2024-02", utc(2024, 2, 1)), ("2024", utc(2024, 1, 1))])
def test_w3c_partial_dates_name_no_day(text: str, expected: datetime) -> None:
    """Sitemap dates with only a year or a month read as their first day, flagged as naming no day."""
    assert read_date(text) == ParsedDate(expected, has_time=False, has_day=False)


def test_naive_value_is_taken_as_utc() -> None:
    """A date and time without an offset is read as UTC, not as the machine's local time."""
    assert parse_date("2024-03-14T08:30:00") == datetime(2024, 3, 14, 8, 30, tzinfo=UTC)


AGREEMENT = [
    "Mon, 05 Feb 2024 10:00:00 CEST",
    "Mon, 05 Feb 2024 10:00:00 EST",
    "2024-02-05T10:00:00+01:00",
    "lun., 05 févr. 2024 10:00:00 +0100",
    "Seg, 05 fev 2024 10:00:00 -0300",
    "05 março 2024 10:00:00 +0100",
    "1707127200",
]


def _feed_date(text: str) -> datetime | None:
    item = f"<item><title>T</title><link>https://news.example/a</link><pubDate>{text}</pubDate></item>"
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{item}</channel></rss>'
    return parse_feed(body.encode(), "https://news.example/feed.xml", now=NOW).entries[0].published


def _page_date(text: str) -> datetime | None:
    paragraphs = "".join(
        f"<p>Paragraph {n}: the council met on Monday to discuss the bridge, the budget and the "
        "library, and residents asked questions for most of the evening.</p>"
        for n in range(4)
    )
    html = (
        f'<html lang="en"><head><title>Council meets</title>'
        f'<meta property="article:published_time" content="{text}"></head>'
        f"<body><article><h1>Council meets</h1>{paragraphs}</article></body></html>"
    )
    article = extract(html, "https://news.example/council-meets", now=NOW)
    assert article.published_from == "opengraph"
    return article.published


@pytest.mark.parametrize("text", AGREEMENT)
def test_feeds_and_pages_read_the_same_instant(text: str) -> None:
    """A feed item's pubDate and a page's article:published_time with the same text give the same instant."""
    expected = parse_date(text)
    assert expected is not None
    assert _feed_date(text) == expected
    assert _page_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Fri, 09 Feb 2024 16:31:00 ET", utc(2024, 2, 9, 21, 31)),  # winter: EST
        ("Tue, 09 Jul 2024 16:31:00 ET", utc(2024, 7, 9, 20, 31)),  # summer: EDT
        ("Fri, 09 Feb 2024 16:31:00 CT", utc(2024, 2, 9, 22, 31)),
        ("Tue, 09 Jul 2024 16:31:00 CT", utc(2024, 7, 9, 21, 31)),
        ("Fri, 09 Feb 2024 16:31:00 MT", utc(2024, 2, 9, 23, 31)),
        ("Fri, 09 Feb 2024 16:31:00 PT", utc(2024, 2, 10, 0, 31)),
        ("Tue, 09 Jul 2024 16:31:00 PT", utc(2024, 7, 9, 23, 31)),
        ("Fri, 09 Feb 2024 16:31:00 AT", utc(2024, 2, 9, 20, 31)),
        ("Fri, 09 Feb 2024 16:31:00 AKST", utc(2024, 2, 10, 1, 31)),
        ("Fri, 09 Feb 2024 16:31:00 HST", utc(2024, 2, 10, 2, 31)),
        ("Fri, 09 Feb 2024 16:31:00 EDT", utc(2024, 2, 9, 20, 31)),
        ("2024-02-09T16:31:00 ET", utc(2024, 2, 9, 21, 31)),
        ("2024-07-09 16:31 America/New_York", utc(2024, 7, 9, 20, 31)),
        ("Fri, 09 Feb 2024 16:31:00 Europe/Paris", utc(2024, 2, 9, 15, 31)),
    ],
)
def test_named_zones_at_their_real_offset(text: str, expected: datetime) -> None:
    """US abbreviations, generic zones (ET: the New York offset on that date) and IANA names convert right."""
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sun Jul 15 01:16:00 +0000 2012", utc(2012, 7, 15, 1, 16)),
        ("Sun Jul 15 01:16:00 -0400 2012", utc(2012, 7, 15, 5, 16)),
        ("Sun Jul 15 01:16:00 EDT 2012", utc(2012, 7, 15, 5, 16)),
    ],
)
def test_asctime_with_a_zone(text: str, expected: datetime) -> None:
    """asctime (Twitter's form) with a numeric or named zone before the year is read."""
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Di, 06 Feb 2024 10:00:00 +0100", utc(2024, 2, 6, 9)),  # German
        ("mar., 06 févr. 2024 10:00:00 +0100", utc(2024, 2, 6, 9)),  # French
        ("mié, 06 feb 2024 10:00:00 +0100", utc(2024, 2, 6, 9)),  # Spanish
        ("ter, 06 fev 2024 10:00:00 -0300", utc(2024, 2, 6, 13)),  # Portuguese
        ("mer, 06 ott 2024 10:00:00 +0200", utc(2024, 10, 6, 8)),  # Italian
        ("di 5 mrt 2024 10:00 +0100", utc(2024, 3, 5, 9)),  # Dutch
        ("zo, 12 mei 2024 10:00:00 +0200", utc(2024, 5, 12, 8)),  # Dutch
        ("sön 12 maj 2024 10:00 +0200", utc(2024, 5, 12, 8)),  # Swedish
        ("17 desember 2024 10:00 +0100", utc(2024, 12, 17, 9)),  # Norwegian
    ],
)
def test_european_day_and_month_names(text: str, expected: datetime) -> None:
    """Day names are skipped and month names read in the common European languages."""
    assert parse_date(text) == expected


def test_a_capitalized_word_after_a_time_in_running_text_is_not_a_zone() -> None:
    """In written text "10:30 AFP" keeps its date: only date fields reject an unknown zone."""
    assert parse_date("Publié le 7 octobre 2023 à 10h30 AFP") == utc(2023, 10, 7, 10, 30)
