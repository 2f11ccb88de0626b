"""Run poll crawls with Scrapy's ``AsyncCrawlerRunner`` on the asyncio reactor.

One process installs the reactor once (:func:`run_with_reactor`) and may then run any number
of crawls in sequence (:func:`crawl`), which is how a worker serves poll jobs for months.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from newsmon.crawler.context import CrawlContext, SourceReport

logger = logging.getLogger(__name__)

REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"


def run_with_reactor(main: Callable[[], Awaitable[int]]) -> int:
    """Install the asyncio reactor, run ``main()`` to completion and return its exit code.

    Signal handlers are left to ``main`` (Twisted's own would stop the reactor at once,
    which is a cold stop).
    """
    from scrapy.utils.reactor import install_reactor

    install_reactor(REACTOR)
    from scrapy.utils.defer import deferred_from_coro
    from twisted.internet import reactor as installed

    # The installed reactor's type is only known at run time (AsyncioSelectorReactor).
    reactor: Any = installed

    outcome: dict[str, Any] = {"code": 1}

    def finished(result: Any) -> None:
        from twisted.python.failure import Failure

        if isinstance(result, Failure):
            logger.error("Crashed: %s", result.getTraceback())
            outcome["code"] = 1
        else:
            outcome["code"] = int(result or 0)
        reactor.stop()

    def start() -> None:
        deferred_from_coro(main()).addBoth(finished)

    reactor.callWhenRunning(start)
    reactor.run(installSignalHandlers=False)
    return int(outcome["code"])


class Crawl:
    """One poll crawl over some sources; :meth:`stop` ends it early (a cold stop)."""

    def __init__(self, ctx: CrawlContext) -> None:
        from scrapy.crawler import AsyncCrawlerRunner
        from scrapy.settings import Settings

        from newsmon.crawler import scrapy_settings

        self.ctx = ctx
        self.runner = AsyncCrawlerRunner(Settings(scrapy_settings.build(ctx.config)))
        self.reason: str | None = None
        self.stats: dict[str, Any] = {}  # the crawl's Scrapy stats, once it ran

    def _closed(self, spider: Any, reason: str) -> None:
        self.reason = reason

    async def run(self) -> dict[str, SourceReport]:
        from scrapy import signals

        from newsmon.crawler.spiders.poll import PollSpider

        crawler = self.runner.create_crawler(PollSpider)
        crawler.signals.connect(self._closed, signal=signals.spider_closed)
        try:
            await self.runner.crawl(crawler, ctx=self.ctx)
        finally:
            self.stats = crawler.stats.get_stats() if crawler.stats is not None else {}
        return self.ctx.reports

    @property
    def finished(self) -> bool:
        """True when the crawl ran to its end (not stopped, not crashed)."""
        return self.reason == "finished"

    async def stop(self) -> None:
        await self.runner.stop()
