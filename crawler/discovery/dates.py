"""Feed and sitemap dates: the shared parser plus the one rule feeds need, a future limit.

Strings are read by :mod:`newsmon.crawler.dates`, the parser pages use too, so a date means the
same instant in a feed item and on its page. What is particular to feeds is that a CMS bug (or a
publisher pinning an item on top) can date an item far in the future; such dates are dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newsmon.crawler import dates

# A date this far past "now" is a CMS bug (or a lie that would pin an item on top); ignore it.
FUTURE_TOLERANCE = timedelta(days=1)


def parse_date(value: str | None, now: datetime | None = None) -> datetime | None:
    """Read a feed or sitemap date into an aware UTC datetime.

    Args:
        value: the text of a date element (see :func:`newsmon.crawler.dates.read_date`).
        now: the current time; dates more than :data:`FUTURE_TOLERANCE` after it are dropped.
            ``None`` skips that check.

    Returns:
        The instant in UTC (a date without a zone is taken as UTC), or ``None`` when the text
        is not a date or is implausibly far in the future.
    """
    parsed = dates.parse_date(value)
    if parsed is not None and now is not None and parsed > now + FUTURE_TOLERANCE:
        return None
    return parsed


def aware_now(now: datetime | None) -> datetime:
    """``now`` as an aware datetime (a naive one is taken as UTC), or the current time."""
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)
