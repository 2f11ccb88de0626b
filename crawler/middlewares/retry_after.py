"""Honour ``Retry-After`` on 429 and 503 answers (Scrapy itself ignores it, scrapy#3849).

A 429 or 503 with a ``Retry-After`` (seconds or an HTTP-date) blocks the host: the block is a
Redis key with that TTL (``Keys.host_block``, capped by ``fetch.max_retry_after``), so it holds
for every worker and for later polls too. Until it expires no request goes to that host: the
host gate (``host_slots.py``) hands out no slot for it, and :func:`wait_or_defer` decides:

- a block of at most :data:`WAIT_INSIDE` seconds is waited out inside the crawl (the request
  is retried once the host is free again, at most :data:`MAX_WAITS` times);
- a longer one drops the request with :class:`HostDeferred`, which is not an error: the source
  is not marked failed and the URL is not marked seen, so it is fetched after the block.

Ordered after Scrapy's ``RetryMiddleware`` (550) in request order, so before it in response
order: Scrapy never retries into a block. A 429/503 without ``Retry-After`` is left to Scrapy's
retries.
"""

from __future__ import annotations

import logging
import time

from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.utils.httpobj import urlparse_cached

from newsmon.crawler.context import CrawlContext, context_of
from newsmon.crawler.politeness import retry_after_seconds

logger = logging.getLogger(__name__)

#: Blocks up to this many seconds are waited out inside the crawl.
WAIT_INSIDE = 5.0
#: How many times one request may wait for its host.
MAX_WAITS = 2
_CODES = frozenset({429, 503})


class HostDeferred(IgnoreRequest):
    """The host asked newsmon to come back later; the request is put off, not failed."""

    def __init__(self, host: str, seconds: float) -> None:
        super().__init__(f"{host} asked to be left alone for {seconds:.0f}s more (Retry-After); deferred")
        self.host = host
        self.seconds = seconds


def wait_or_defer(request: Request, host: str, remaining: float) -> bool:
    """What a request does about its host's block of ``remaining`` seconds: True to wait it out
    (it is short and the request has not waited too often), else :class:`HostDeferred`."""
    waits = request.meta.get("retry_after_waits", 0)
    if remaining <= WAIT_INSIDE and waits < MAX_WAITS:
        request.meta["retry_after_waits"] = waits + 1
        logger.debug("[%s] %s: waiting %.1fs for %s (Retry-After)",
                     request.meta.get("source"), request.url, remaining, host)
        return True
    raise HostDeferred(host, remaining)


class RetryAfterMiddleware:
    """Downloader middleware: sets per-host ``Retry-After`` blocks (the host gate obeys them)."""

    def __init__(self, crawler: Crawler, ctx: CrawlContext) -> None:
        self.crawler = crawler
        self.ctx = ctx
        self.keys = ctx.keys
        self.max_block = ctx.config.fetch.max_retry_after.total_seconds()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(crawler, context_of(crawler))

    def _count(self, what: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"newsmon/retry_after/{what}")

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status not in _CODES:
            return response
        delay = retry_after_seconds(response.headers.get(b"Retry-After"))
        if not delay:
            return response  # no usable Retry-After: Scrapy's RetryMiddleware decides
        delay = min(delay, self.max_block)
        host = urlparse_cached(request).hostname or ""
        key = self.keys.host_block(host)
        # Keep a longer block another answer already set.
        if self.ctx.client.pttl(key) < delay * 1000:
            self.ctx.client.set(key, f"{time.time() + delay:.3f}", px=max(1, int(delay * 1000)))
        source = request.meta.get("source")
        logger.warning("[%s] %s: HTTP %d, Retry-After %.0fs: no request to %s before then",
                       source, request.url, response.status, delay, host)
        self._count("blocks")
        self._count(f"blocks/{host}")
        waits = request.meta.get("retry_after_waits", 0)
        if delay <= WAIT_INSIDE and waits < MAX_WAITS:
            # Back to the scheduler; process_request waits the block out.
            return request.replace(dont_filter=True)
        self._count("deferred")
        raise HostDeferred(host, delay)
