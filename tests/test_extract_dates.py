"""URL dates and the rules that choose a page's ``published`` and ``modified`` (parsing: test_dates.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from newsmon.crawler.extraction.dates import (
    CLOCK_SKEW,
    DateCandidate,
    UrlDate,
    candidate,
    choose_modified,
    choose_published,
    date_from_url,
    localize_naive,
    url_candidate,
)

NOW = datetime(2024, 3, 20, 12, 0, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://x.example/news/2024/01/28/storm-hits-coast", UrlDate(date(2024, 1, 28), day=True)),
        ("https://x.example/2024/jan/28/storm", UrlDate(date(2024, 1, 28), day=True)),
        ("https://x.example/politique/2024-01-28/tempete", UrlDate(date(2024, 1, 28), day=True)),
        ("https://x.example/story/storm-20240128-abc", UrlDate(date(2024, 1, 28), day=True)),
        ("https://x.example/blog/2024/01/storm-hits-coast", UrlDate(date(2024, 1, 1), day=False)),
    ],
)
def test_date_from_url(url: str, expected: UrlDate) -> None:
    """Dates in URL paths are found in their usual spellings, month-only ones marked as such."""
    assert date_from_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://x.example/news/storm-hits-coast-14848175",
        "https://x.example/news/2024/13/45/storm",
        "https://x.example/news/storm?date=2024/01/28",
        "https://2024-01-28.example/news/storm",
    ],
)
def test_date_from_url_ignores_ids_queries_and_hosts(url: str) -> None:
    """Numeric article ids, impossible dates, query strings and host names are not URL dates."""
    assert date_from_url(url) is None


def test_precedence_follows_candidate_order() -> None:
    """With no URL date, the first candidate (highest-ranked source) wins."""
    candidates = [
        DateCandidate(utc(2024, 3, 14, 8, 30), "jsonld"),
        DateCandidate(utc(2024, 3, 13, 7, 0), "opengraph"),
        DateCandidate(utc(2024, 3, 12), "feed"),
    ]
    chosen = choose_published(candidates, None, NOW)
    assert chosen is not None
    assert (chosen.value, chosen.source) == (utc(2024, 3, 14, 8, 30), "jsonld")


def test_future_dates_are_dropped() -> None:
    """A candidate later than now plus the clock skew is skipped in favour of the next one."""
    candidates = [
        DateCandidate(NOW + CLOCK_SKEW + timedelta(minutes=1), "jsonld"),
        DateCandidate(NOW - timedelta(hours=2), "opengraph"),
    ]
    chosen = choose_published(candidates, None, NOW)
    assert chosen is not None
    assert chosen.source == "opengraph"


def test_small_clock_skew_is_tolerated() -> None:
    """A candidate a few minutes ahead of now (a publisher's fast clock) is kept."""
    ahead = DateCandidate(NOW + timedelta(minutes=5), "jsonld")
    assert choose_published([ahead], None, NOW) == ahead


def test_only_future_dates_give_none() -> None:
    """When every candidate is in the future there is no publication date."""
    assert choose_published([DateCandidate(NOW + timedelta(days=3), "jsonld")], None, NOW) is None


def test_url_date_demotes_contradicting_candidate() -> None:
    """A markup date days away from the URL day loses to a lower-ranked candidate that agrees with the URL."""
    url_date = UrlDate(date(2024, 1, 28), day=True)
    candidates = [
        DateCandidate(utc(2024, 3, 1, 10, 0), "jsonld"),  # a re-render date, five weeks later
        DateCandidate(utc(2024, 1, 28, 6, 45), "time"),
        url_candidate(url_date),
    ]
    chosen = choose_published([c for c in candidates if c], url_date, NOW)
    assert chosen is not None
    assert (chosen.value, chosen.source) == (utc(2024, 1, 28, 6, 45), "time")


def test_url_date_wins_when_every_candidate_contradicts_it() -> None:
    """With only contradicting markup dates, the URL day itself (midnight UTC) is the publication date."""
    url_date = UrlDate(date(2024, 1, 28), day=True)
    candidates = [DateCandidate(utc(2024, 3, 1, 10, 0), "jsonld"), url_candidate(url_date)]
    chosen = choose_published([c for c in candidates if c], url_date, NOW)
    assert chosen is not None
    assert (chosen.value, chosen.source) == (utc(2024, 1, 28), "url")


def test_url_date_tolerates_one_day_for_time_zones() -> None:
    """A markup date on the day after the URL day (a late-evening story west of UTC) still agrees."""
    url_date = UrlDate(date(2024, 1, 28), day=True)
    candidates = [DateCandidate(utc(2024, 1, 29, 3, 10), "jsonld"), url_candidate(url_date)]
    chosen = choose_published([c for c in candidates if c], url_date, NOW)
    assert chosen is not None
    assert chosen.source == "jsonld"


def test_month_only_url_demotes_but_never_wins() -> None:
    """A month-only URL date reorders candidates, and when none agrees the first candidate still wins."""
    url_date = UrlDate(date(2024, 1, 1), day=False)
    agreeing = DateCandidate(utc(2024, 1, 20), "feed")
    contradicting = DateCandidate(utc(2023, 6, 2), "jsonld")
    assert choose_published([contradicting, agreeing], url_date, NOW) == agreeing
    assert choose_published([contradicting], url_date, NOW) == contradicting


def test_bare_day_is_refined_by_same_day_time() -> None:
    """A winning date without a time takes the time of a lower-ranked candidate on the same day."""
    candidates = [
        DateCandidate(utc(2024, 3, 14), "jsonld", has_time=False),
        DateCandidate(utc(2024, 3, 14, 8, 30), "time"),
    ]
    chosen = choose_published(candidates, None, NOW)
    assert chosen is not None
    assert (chosen.value, chosen.source) == (utc(2024, 3, 14, 8, 30), "time")


def test_bare_day_is_not_refined_by_other_day() -> None:
    """A time on another day does not replace a bare winning day."""
    bare = DateCandidate(utc(2024, 3, 14), "jsonld", has_time=False)
    chosen = choose_published([bare, DateCandidate(utc(2024, 3, 12, 8, 30), "time")], None, NOW)
    assert chosen == bare


def test_modified_before_published_is_dropped() -> None:
    """A modification date earlier than the publication date is skipped for the next candidate."""
    published = DateCandidate(utc(2024, 3, 14, 8, 30), "jsonld")
    candidates = [DateCandidate(utc(2024, 3, 13), "jsonld"), DateCandidate(utc(2024, 3, 15), "opengraph")]
    chosen = choose_modified(candidates, published, NOW)
    assert chosen is not None
    assert chosen.source == "opengraph"


def test_modified_in_future_is_dropped() -> None:
    """A modification date in the future is not reported."""
    assert choose_modified([DateCandidate(NOW + timedelta(days=1), "jsonld")], None, NOW) is None


def test_url_candidate_needs_a_full_date() -> None:
    """Only a URL with a day gives a date candidate."""
    assert url_candidate(UrlDate(date(2024, 1, 1), day=False)) is None
    assert url_candidate(UrlDate(date(2024, 1, 28), day=True)) == DateCandidate(utc(2024, 1, 28), "url", has_time=False)


def test_year_or_month_alone_is_no_candidate() -> None:
    """A W3C partial date (``2024``, ``2024-02``) cannot date an article; a full day can."""
    assert candidate("2024", "jsonld") is None
    assert candidate("2024-02", "meta") is None
    assert candidate("2024-02-05", "meta") == DateCandidate(utc(2024, 2, 5), "meta", has_time=False)


def test_naive_time_takes_the_offset_of_an_agreeing_candidate() -> None:
    """A naive JSON-LD time borrows the offset of a page candidate that shows the same wall time."""
    naive, zoned = candidate("2024-03-14T09:30:00", "jsonld"), candidate("2024-03-14T09:30:00+01:00", "opengraph")
    assert naive is not None
    assert zoned is not None
    assert [c.value for c in localize_naive([naive, zoned])] == [utc(2024, 3, 14, 8, 30)] * 2


def test_naive_time_ignores_a_candidate_of_another_wall_time() -> None:
    """A candidate with an offset but another wall time lends nothing: the naive time stays UTC."""
    naive, other = candidate("2024-03-14T09:30:00", "jsonld"), candidate("2024-03-14T11:00:00+01:00", "opengraph")
    assert naive is not None
    assert other is not None
    assert localize_naive([naive, other])[0].value == utc(2024, 3, 14, 9, 30)


def test_naive_time_takes_the_source_timezone() -> None:
    """Without an agreeing candidate, the source's IANA zone localizes a naive time (summer time included)."""
    naive = candidate("2024-07-01T09:30:00", "jsonld")
    assert naive is not None
    assert localize_naive([naive], "Europe/Paris")[0].value == utc(2024, 7, 1, 7, 30)


def test_time_with_an_offset_ignores_the_source_timezone() -> None:
    """A time written with its offset is never moved by the source's zone."""
    zoned = candidate("2024-07-01T09:30:00Z", "jsonld")
    assert zoned is not None
    assert localize_naive([zoned], "Europe/Paris")[0].value == utc(2024, 7, 1, 9, 30)
