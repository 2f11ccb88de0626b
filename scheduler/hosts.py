"""Per-host politeness shared by every worker on every machine: the Redis host gate.

Scrapy's download slots keep ``fetch.delay`` and ``concurrency_per_host`` only inside one crawl
of one process; several workers, or one worker's crawls in a row, would each start their own
count. :class:`HostGate` (the crawler's :class:`~newsmon.crawler.context.HostSlots`) hands
out request slots with one Lua script (``lua/host_slot.lua``) that, per host, keeps the earliest
start of the next request and a set of leases of requests in flight, on the Redis server's
clock. A lease is given back when the answer arrives; one a crashed worker never gave back
expires after ``fetch.timeout`` plus :data:`LEASE_MARGIN`, the longest a request may take.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import uuid
from importlib import resources
from typing import TypedDict

import redis

from newsmon.crawler.context import HostSlot
from newsmon.scheduler.keys import Keys
from newsmon.settings.model import FetchSettings

logger = logging.getLogger(__name__)

#: A lease outlives the download timeout by this much (seconds): the answer's way back through
#: the middlewares, and a busy reactor.
LEASE_MARGIN = 15.0
#: How long a request waits before asking again when every slot of its host is held (seconds).
#: Slots are given back by other processes, which nothing here is told about.
BUSY_WAIT = 0.05
#: Host state and grant lists expire this long after the host's last grant (seconds).
STATE_TTL = 24 * 3600
#: Grants each host's list keeps, for ``newsmon status``-like inspection and tests.
GRANTS_KEPT = 100


class HostSlotArgs(TypedDict):
    """The argument of ``lua/host_slot.lua``; its header says what each field means."""

    token: str
    delay_ms: int
    crawl_delay_ms: int | None
    concurrency: int
    lease_ms: int
    busy_wait_ms: int
    state_ttl_ms: int
    max_grants: int
    now_ms: int | None


def _ms(seconds: float) -> int:
    return math.ceil(seconds * 1000)


class HostGate:
    """The Redis implementation of the crawl's ``HostSlots``, for one configuration."""

    def __init__(self, client: redis.Redis, keys: Keys, fetch: FetchSettings, *,
                 max_grants: int = GRANTS_KEPT) -> None:
        self.client = client
        self.keys = keys
        self.delay_ms = _ms(fetch.delay)
        self.concurrency = fetch.concurrency_per_host
        self.lease_ms = _ms(fetch.timeout + LEASE_MARGIN)
        self.max_grants = max_grants
        self._release_failing = False
        # Tokens say which process holds a slot: "<machine>:<pid>:<random>".
        self._owner = f"{socket.gethostname()}:{os.getpid()}"
        self._script = client.register_script(
            resources.files("newsmon.scheduler").joinpath("lua/host_slot.lua").read_text(encoding="utf-8"))

    def _keys(self, host: str) -> list[str]:
        return [self.keys.host_state(host), self.keys.host_leases(host), self.keys.host_block(host),
                self.keys.host_grants(host)]

    def acquire(self, host: str, *, crawl_delay: float | None = None, now_ms: int | None = None) -> HostSlot:
        """A slot for one request to ``host``, or how long to wait (see ``HostSlots.acquire``).

        Args:
            now_ms: the clock to use instead of the Redis server's (tests only).
        """
        token = f"{self._owner}:{uuid.uuid4().hex[:16]}"
        args: HostSlotArgs = {
            "token": token,
            "delay_ms": self.delay_ms,
            "crawl_delay_ms": None if crawl_delay is None else _ms(crawl_delay),
            "concurrency": self.concurrency,
            "lease_ms": self.lease_ms,
            "busy_wait_ms": _ms(BUSY_WAIT),
            "state_ttl_ms": _ms(STATE_TTL),
            "max_grants": self.max_grants,
            "now_ms": now_ms,
        }
        granted, what, amount = self._script(keys=self._keys(host), args=[json.dumps(args)])
        if granted:
            return HostSlot(token)
        return HostSlot(None, wait=int(amount) / 1000, reason=what.decode() if isinstance(what, bytes) else what)

    def release(self, host: str, token: str) -> None:
        """Give a slot back; if Redis cannot be reached, its lease expires instead."""
        try:
            self.client.zrem(self.keys.host_leases(host), token)
        except redis.RedisError as exc:
            if not self._release_failing:
                logger.warning("Could not give back a slot of %s (%s); it comes back when its lease ends",
                               host, exc)
            self._release_failing = True
        else:
            if self._release_failing:
                logger.info("Slots of %s given back again", host)
            self._release_failing = False

    def grants(self, host: str) -> list[tuple[int, str]]:
        """The host's last grants, oldest first: (start in ms on the Redis clock, token)."""
        out = []
        for entry in reversed(self.client.lrange(self.keys.host_grants(host), 0, -1)):
            start, token = entry.decode().split(" ", 1)
            out.append((int(start), token))
        return out

    def next_start(self, host: str) -> int | None:
        """When the host's next request may start (ms, Redis clock), None when unknown."""
        value = self.client.hget(self.keys.host_state(host), "next")
        return int(value) if value is not None else None

    def in_flight(self, host: str) -> int:
        """Leases held on ``host``, expired ones included until the next acquire drops them."""
        return int(self.client.zcard(self.keys.host_leases(host)))
