"""The feed rule on top of the shared date parser: a date far in the future is dropped (parsing: test_dates.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from newsmon.crawler.discovery.dates import parse_date


def _utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def test_far_future_date_is_dropped() -> None:
    """A date more than a day after ``now`` is a CMS bug and reads as None."""
    now = _utc(2024, 2, 5, 12)
    assert parse_date("2030-01-01T00:00:00Z", now) is None
    assert parse_date("2024-02-06T06:00:00Z", now) == _utc(2024, 2, 6, 6)
