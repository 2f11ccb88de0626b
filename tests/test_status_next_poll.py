"""The next poll ``status`` shows is the first tick the scheduler's back-off lets through."""

from __future__ import annotations

from newsmon.scheduler.status import SourceStatus, failure_cause, next_poll_after_backoff


def test_a_tick_outside_the_backoff_is_the_next_poll() -> None:
    """Without a back-off, or one ending within half an interval of the tick, the tick stands."""
    assert next_poll_after_backoff(1000.0, None, 60.0) == 1000.0
    assert next_poll_after_backoff(1000.0, 1030.0, 60.0) == 1000.0
    assert next_poll_after_backoff(1000.0, 900.0, 60.0) == 1000.0


def test_ticks_inside_the_backoff_are_skipped() -> None:
    """Ticks more than half an interval before the back-off's end are skipped, as the scheduler does."""
    # Back-off until 1900, ticks every 60s from 1000: the first tick at or after 1870 is 1900.
    assert next_poll_after_backoff(1000.0, 1900.0, 60.0) == 1900.0
    assert next_poll_after_backoff(1000.0, 1915.0, 60.0) == 1900.0
    assert next_poll_after_backoff(1000.0, 1931.0, 60.0) == 1960.0


def test_a_source_never_scheduled_has_no_next_poll() -> None:
    """A source the scheduler never ticked (only crawled) has no expected poll."""
    row = SourceStatus(name="a", state="failed", last_poll=1.0, next_poll=None, polls=1, last_published=0,
                       published_total=0, errors_total=1, consecutive_failures=1, last_error="x",
                       backoff_until=5000.0, interval=60.0)
    assert row.expected_poll() is None


def test_the_commonest_cause_names_what_most_errors_share() -> None:
    """Resolution failures read as a missing network; other errors are quoted after their URL."""
    resolve = "http://a.invalid/feed: refused: cannot resolve a.invalid (Name or service not known)"
    assert failure_cause([resolve, resolve, "http://b/feed: HTTP 503"]) == (
        "no source could be resolved: is there a network?")
    assert failure_cause(["http://b/feed: HTTP 503", "http://c/feed: HTTP 503", resolve]) == (
        "commonest error: HTTP 503")
