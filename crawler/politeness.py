"""Politeness policy as pure functions: no Scrapy, no Redis, no clock of their own.

- :func:`retry_after_seconds` reads a ``Retry-After`` header (RFC 9110 §10.2.3).
- :func:`backoff_delay` is how long a source whose poll failed entirely is left alone.
- :func:`update_rate` and :func:`adaptive_interval` set a source's poll interval from how often
  it really publishes.
- :func:`robots_outcome` maps a robots.txt fetch to what RFC 9309 says a crawler may do.

The middlewares, ``scheduler.status`` and ``scheduler.daemon`` apply them; tests drive them with
plain numbers.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

#: A source that keeps failing is polled at least this often (unless its interval is longer).
MAX_BACKOFF = 6 * 3600.0
#: ... and never left alone for more than this many intervals.
MAX_BACKOFF_INTERVALS = 24
#: Weight of the newest observation in the publishing-rate average (an EWMA).
RATE_WEIGHT = 0.3
#: The adaptive interval aims at this many new articles per poll.
NEW_PER_POLL = 1.0
#: The default ceiling of the adaptive interval, in configured intervals.
CEILING_INTERVALS = 4


def retry_after_seconds(value: str | bytes | None, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait: delta-seconds or an HTTP-date.

    Returns:
        The delay (0 for a date in the past), or None when the header is absent or unreadable.
    """
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" and obsolete zones parse naive; HTTP-dates are UTC
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def backoff_delay(interval: float, failures: int) -> float:
    """How long after a failed poll a source is polled again.

    ``interval x 2^failures`` (``failures`` counts the failed polls in a row, this one
    included), at most ``MAX_BACKOFF_INTERVALS`` intervals and at most ``MAX_BACKOFF``, but
    never less than one interval.
    """
    if failures <= 0:
        return interval
    cap = max(interval, min(MAX_BACKOFF, MAX_BACKOFF_INTERVALS * interval))
    return min(cap, interval * 2.0 ** min(failures, 32))


def update_rate(previous: float | None, new_entries: int, elapsed: float) -> float | None:
    """Fold one poll into a source's publishing rate (new entries per second, an EWMA).

    Args:
        previous: the rate so far, None before the first observation.
        new_entries: entries this poll found that had not been seen before.
        elapsed: seconds since the previous poll; polls with no previous one (``elapsed`` ≤ 0)
            say nothing about the rate (everything in a feed is new the first time).
    """
    if elapsed <= 0 or not math.isfinite(elapsed):
        return previous
    observed = max(0, new_entries) / elapsed
    if previous is None:
        return observed
    return RATE_WEIGHT * observed + (1 - RATE_WEIGHT) * previous


def interval_bounds(interval: float, floor: float | None, ceiling: float | None) -> tuple[float, float]:
    """The configured ``[floor, ceiling]`` of a source: floor defaults to the interval, ceiling
    to ``CEILING_INTERVALS`` intervals; both at least one second, ceiling ≥ floor."""
    low = max(1.0, floor if floor is not None else interval)
    high = max(low, ceiling if ceiling is not None else CEILING_INTERVALS * interval)
    return low, high


def adaptive_interval(
    interval: float,
    rate: float | None,
    *,
    floor: float | None = None,
    ceiling: float | None = None,
    declared_ttl: float | None = None,
) -> float:
    """The poll interval (seconds) of a source that publishes ``rate`` new entries per second.

    The aim is one new article per poll (``NEW_PER_POLL / rate``), kept within the bounds of
    :func:`interval_bounds`. A feed's declared refresh period (RSS ``ttl``,
    ``sy:updatePeriod``) raises the floor, up to the ceiling. Without an observed rate the
    configured ``interval`` is used, within the same bounds.
    """
    low, high = interval_bounds(interval, floor, ceiling)
    if declared_ttl:
        low = min(high, max(low, declared_ttl))
    if rate is None:
        target = interval
    elif rate <= 0:
        target = high
    else:
        target = NEW_PER_POLL / rate
    return min(high, max(low, target))


#: robots.txt outcomes.
RULES, ALLOW_ALL, DENY_ALL = "rules", "allow", "deny"


def robots_outcome(status: int | None) -> str:
    """What a robots.txt answer allows (RFC 9309 §2.3.1): 2xx its rules; 4xx (but 429)
    everything; 5xx, 429 or no answer (``status`` None) nothing."""
    if status is None or status == 429 or status >= 500:
        return DENY_ALL
    if 200 <= status < 300:
        return RULES
    if 400 <= status < 500:
        return ALLOW_ALL
    return DENY_ALL  # 1xx or a redirect not followed (too many hops): unreachable
