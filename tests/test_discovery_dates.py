"""Dates as feeds and sitemaps write them: RFC 822 with its quirks, ISO 8601, other languages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newsmon.crawler.discovery.dates import parse_date


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mon, 05 Feb 2024 10:00:00 +0000", _utc(2024, 2, 5, 10)),
        ("Mon, 05 Feb 2024 10:00:00 GMT", _utc(2024, 2, 5, 10)),
        ("Mon, 5 Feb 2024 10:00:00 -0500", _utc(2024, 2, 5, 15)),
        ("Mon, 05 Feb 2024 10:00:00 +01:00", _utc(2024, 2, 5, 9)),
        ("Mon, 05 Feb 2024 10:00 GMT", _utc(2024, 2, 5, 10)),
        ("Mon, 05 Feb 2024 10:00:00 EST", _utc(2024, 2, 5, 15)),
        ("Mon, 05 Aug 2024 10:00:00 PDT", _utc(2024, 8, 5, 17)),
        ("Mon, 05 Feb 2024 10:00:00 CET", _utc(2024, 2, 5, 9)),
        ("Mon, 05 Feb 2024 10:00:00 +0530 (IST)", _utc(2024, 2, 5, 4, 30)),
        ("Mon, 05 Feb 24 10:00:00 GMT", _utc(2024, 2, 5, 10)),
        ("Fri, 31 Dec 99 23:00:00 GMT", _utc(1999, 12, 31, 23)),
        ("Monday, 05-Feb-24 10:00:00 GMT", _utc(2024, 2, 5, 10)),
        ("05 Feb 2024 10:00:00 Z", _utc(2024, 2, 5, 10)),
        ("Mon,05 February 2024 10:00:00 UT", _utc(2024, 2, 5, 10)),
        ("Mon, 05 Feb 2024 10:00:00 GMT+1", _utc(2024, 2, 5, 9)),
        ("Mon, 05 Feb 2024 10:00:00", _utc(2024, 2, 5, 10)),
        ("Mon, 05 Feb 2024", _utc(2024, 2, 5)),
        ("Mon, 05 Feb 2024 10:00:00 XYZ", _utc(2024, 2, 5, 10)),
        ("Sat, 31 Dec 2016 23:59:60 +0000", _utc(2016, 12, 31, 23, 59, 59)),
        ("Mon, 05 Feb 2024 24:00:00 GMT", _utc(2024, 2, 6)),
        ("Wed Jun 10 04:00:00 2003", _utc(2003, 6, 10, 4)),
        ("Wed Jun 10 04:00:00 EDT 2003", _utc(2003, 6, 10, 8)),
        ("February 5, 2024 3:15 PM", _utc(2024, 2, 5, 15, 15)),
        ("lun., 05 févr. 2024 10:00:00 +0100", _utc(2024, 2, 5, 9)),
        ("mar., 06 févr. 2024 10:00:00 +0100", _utc(2024, 2, 6, 9)),
        ("Mardi, 13 Août 2024 08:15:00 CEST", _utc(2024, 8, 13, 6, 15)),
        ("jeudi 1er février 2024 à 10h30", _utc(2024, 2, 1, 10, 30)),
        ("Di, 05 Mär 2024 10:00:00 MEZ", _utc(2024, 3, 5, 9)),
        ("mié, 07 dic 2023 10:00:00 +0100", _utc(2023, 12, 7, 9)),
        ("2024-02-05T10:00:00Z", _utc(2024, 2, 5, 10)),
        ("2024-02-05t10:00:00z", _utc(2024, 2, 5, 10)),
        ("2024-02-05T10:00:00+01:00", _utc(2024, 2, 5, 9)),
        ("2024-02-05T10:00:00-0530", _utc(2024, 2, 5, 15, 30)),
        ("2024-02-05T10:00:00.1234567+00:00", _utc(2024, 2, 5, 10, 0, 0, 123456)),
        ("2024-02-05T10:00+01:00", _utc(2024, 2, 5, 9)),
        ("2024-02-05 10:00:00", _utc(2024, 2, 5, 10)),
        ("20240205T100000Z", _utc(2024, 2, 5, 10)),
        ("2024-02-05", _utc(2024, 2, 5)),
        ("2024-02", _utc(2024, 2, 1)),
        ("2024", _utc(2024, 1, 1)),
        ("  \n 2024-02-05T10:00:00Z \t", _utc(2024, 2, 5, 10)),
    ],
)
def test_readable_dates(text: str, expected: datetime) -> None:
    """Each real-world form reads to the right instant, as an aware UTC datetime."""
    parsed = parse_date(text)
    assert parsed == expected
    assert parsed is not None
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "yesterday",
        "1707127200",
        "Mon, 31 Feb 2024 10:00:00 GMT",
        "Mon, 05 Feb 2024 25:00:00 GMT",
        "Mon, 05 Feb 2024 10:00:00 +9999",
        "2024-13-01",
        "2024-13",
        "0000-01-01",
        "Sat, 01 Jan 0001 00:00:00 +0100",
        "9999-12-31T23:59:59-14:00",
        "05/02/2024",
        "x" * 10_000,
    ],
)
def test_unreadable_dates_give_none(text: str | None) -> None:
    """Garbage, impossible dates and overflowing offsets give None, never an exception."""
    assert parse_date(text) is None


def test_far_future_date_is_dropped() -> None:
    """A date more than a day after ``now`` is a CMS bug and reads as None."""
    now = _utc(2024, 2, 5, 12)
    assert parse_date("2030-01-01T00:00:00Z", now) is None
    assert parse_date("2024-02-06T06:00:00Z", now) == _utc(2024, 2, 6, 6)
