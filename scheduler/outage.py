"""How every role lives through a Redis outage: one WARNING, a bounded back-off, one INFO.

A role (the scheduler, the supervisor, a worker, the sinks, a feed reader) keeps one
:class:`Outage`. Each Redis call that fails because the server is away (:func:`is_outage`)
goes to :meth:`Outage.failed`, which returns how long to wait before the next attempt; the
first failure of an outage is logged at WARNING, the later ones (the countdown) at DEBUG. The
first call that succeeds again goes to :meth:`Outage.ok`, which logs one INFO. Errors that are
not an outage (a script bug, a wrong type) are not this module's business.
"""

from __future__ import annotations

import logging
import threading
import time

import redis

logger = logging.getLogger(__name__)

#: The errors that mean "Redis is away" (refused, reset, timed out, still loading its AOF).
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (redis.ConnectionError, redis.TimeoutError)
#: Back-off between reconnection attempts: from ``BASE`` seconds, doubling, never above ``CAP``
#: (so a role notices that Redis is back within ``CAP`` seconds).
BASE, CAP = 0.5, 4.0


def is_outage(exc: BaseException | None) -> bool:
    """True when ``exc`` says Redis cannot be reached (rather than that a command was wrong)."""
    return isinstance(exc, OUTAGE_ERRORS)


def reason(exc: BaseException) -> str:
    """The first line of ``exc``, for a one-line log message."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__).rstrip(".")


class Outage:
    """One role's view of Redis: up, or away since when; thread-safe.

    Args:
        role: who is speaking, for the log lines ("worker host:w0", "sinks").
        base: the first wait after a failure, in seconds.
        cap: the longest wait.
    """

    def __init__(self, role: str, *, base: float = BASE, cap: float = CAP) -> None:
        self.role = role
        self.base = base
        self.cap = cap
        self._lock = threading.Lock()
        self._since: float | None = None  # monotonic start of the outage in progress
        self._failures = 0
        self._next_try = 0.0
        #: Monotonic time Redis last came back (0 if it never went away).
        self.back_at = 0.0
        #: Outages lived through so far.
        self.outages = 0

    @property
    def down(self) -> bool:
        return self._since is not None

    def failed(self, exc: BaseException) -> float:
        """Note a failed call; return the seconds to wait before trying again."""
        with self._lock:
            now = time.monotonic()
            self._failures += 1
            delay = min(self.cap, self.base * 2 ** (self._failures - 1))
            self._next_try = now + delay
            if self._since is None:
                self._since = now
                self.outages += 1
                logger.warning("Redis unreachable (%s): %s retries every %.0fs at most until it is back",
                               reason(exc), self.role, self.cap)
            else:
                logger.debug("Redis still unreachable after %.0fs (%s): %s retries in %.1fs",
                             now - self._since, reason(exc), self.role, delay)
            return delay

    def due(self) -> bool:
        """Whether a periodic caller should try Redis now (always, unless an outage's back-off runs)."""
        return self._since is None or time.monotonic() >= self._next_try

    def ok(self) -> bool:
        """Note a call that worked: if Redis was away, say it is back (and return True)."""
        if self._since is None:
            return False
        with self._lock:
            if self._since is None:
                return False
            now = time.monotonic()
            logger.info("Redis is back after %.1fs: %s resumes", now - self._since, self.role)
            self._since, self._failures, self.back_at = None, 0, now
            return True
