"""Per-host politeness that holds across every crawl of every worker: the host gate.

Every request waits here, last in request order, until the crawl context's
:class:`~newsmon.crawler.context.HostSlots` (Redis, shared by all processes) grants it a slot
of its host: ``fetch.delay`` (or the host's longer robots.txt ``Crawl-delay``) since the last
request start, fewer than ``concurrency_per_host`` requests in flight, no ``Retry-After`` block
(a short one is waited out, a long one defers the request: :func:`wait_or_defer`). The slot
is given back when the answer arrives or the download fails, and when the crawl closes.

Waiting is an asyncio wait on the reactor's loop, cut short when the crawl closes; each ask is
one short Redis call. Within one crawl the requests of a host ask one at a time, in order (an
``asyncio.Lock`` per host), so that a crawl's queue does not poll Redis many times over. Time spent here does not count
against ``DOWNLOAD_TIMEOUT``, which starts in the download handler, after the middlewares.

Ordered last (950): first in response and exception order, so the slot is given back before a
redirect, retry or Retry-After middleware turns the answer into a new request (which asks
again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.utils.httpobj import urlparse_cached

from newsmon.crawler.context import HostSlot, HostSlots, context_of
from newsmon.crawler.middlewares.retry_after import wait_or_defer

logger = logging.getLogger(__name__)

#: request.meta key of the slot a request holds (its lease token).
SLOT = "newsmon_host_slot"
#: request.meta key where the robots.txt middleware leaves the host's Crawl-delay (seconds).
CRAWL_DELAY = "newsmon_crawl_delay"


class CrawlClosing(IgnoreRequest):
    """The crawl closed while the request waited for its host."""


class HostSlotsMiddleware:
    """Downloader middleware: no request leaves before its host's shared slot is granted."""

    def __init__(self, crawler: Crawler, hosts: HostSlots) -> None:
        self.crawler = crawler
        self.hosts = hosts
        self._held: dict[str, str] = {}  # token -> host, until released
        self._turns: dict[str, asyncio.Lock] = {}
        self._closed = asyncio.Event()  # set when the crawl closes: waiters leave at once
        crawler.signals.connect(self._crawl_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostSlotsMiddleware:
        return cls(crawler, context_of(crawler).hosts)

    async def process_request(self, request: Request) -> None:
        host = urlparse_cached(request).hostname
        if not host:
            return  # the address guard refuses these
        started = time.monotonic()
        turn = self._turns.setdefault(host, asyncio.Lock())
        async with turn:
            slot = await self._wait_for_slot(request, host)
        assert slot.token is not None
        self._held[slot.token] = host
        request.meta[SLOT] = slot.token
        waited = time.monotonic() - started
        self._count("granted")
        if waited >= 0.001:
            self._count("waited")
            self._count(f"waited/{host}")
            self._count(f"wait_ms/{host}", round(waited * 1000))
            logger.debug("[%s] %s: waited %.2fs for a slot of %s", request.meta.get("source"), request.url,
                         waited, host)

    async def _wait_for_slot(self, request: Request, host: str) -> HostSlot:
        while True:
            if self._closed.is_set():
                raise CrawlClosing(f"the crawl closed while {request.url} waited for {host}")
            slot = self.hosts.acquire(host, crawl_delay=request.meta.get(CRAWL_DELAY))
            if slot.granted:
                return slot
            if slot.reason == "blocked":
                try:
                    wait_or_defer(request, host, slot.wait)
                except IgnoreRequest:
                    self._count("deferred", prefix="newsmon/retry_after")
                    self._count(f"deferred/{host}", prefix="newsmon/retry_after")
                    raise
                self._count("waited", prefix="newsmon/retry_after")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), slot.wait)

    def process_response(self, request: Request, response: Response) -> Response:
        self._give_back(request)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        self._give_back(request)

    def _give_back(self, request: Request) -> None:
        token = request.meta.pop(SLOT, None)
        host = self._held.pop(token, None) if token else None
        if token and host:
            self.hosts.release(host, token)

    def _crawl_closed(self) -> None:
        self._closed.set()
        held, self._held = self._held, {}
        if held:
            logger.debug("Crawl closed holding %d host slots; giving them back", len(held))
        for token, host in held.items():
            self.hosts.release(host, token)

    def _count(self, what: str, n: int = 1, prefix: str = "newsmon/host_slots") -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"{prefix}/{what}", n)
