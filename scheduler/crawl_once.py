"""One poll of some sources in this process, without the job queue (``newsmon crawl``).

The crawl runs on the asyncio reactor (installed here), its outcome is folded into the sources'
state like a worker's, and what it published is then delivered to the configured sinks.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from newsmon.crawler.context import CrawlContext, SourceReport
from newsmon.crawler.runner import Crawl, run_with_reactor
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.sinks import SinkRunner, build_sinks
from newsmon.scheduler.status import record_poll
from newsmon.scheduler.worker import make_context
from newsmon.settings.model import Config

#: Watches a crawl in progress (given its context) until it is cancelled when the crawl ends.
Watcher = Callable[[CrawlContext], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class CrawlResult:
    """What one :func:`crawl_once` did."""

    reports: list[SourceReport]  # one per source, in the order asked for
    sink_records: int  # records delivered to the sinks afterwards
    seconds: float  # wall time, crawl and delivery


def crawl_once(config: Config, client: redis.Redis, keys: Keys, sources: Sequence[str], *,
               watch: Watcher | None = None) -> CrawlResult:
    """Poll ``sources`` once, record the outcome, and deliver to the sinks.

    ``watch(ctx)`` runs beside the crawl (a progress display, say); it is cancelled, and awaited,
    once the crawl is over.
    """
    ctx = make_context(config, client, keys, sources)
    started = time.monotonic()

    async def main() -> int:
        crawl = Crawl(ctx)
        watcher = asyncio.ensure_future(watch(ctx)) if watch is not None else None
        try:
            await crawl.run()
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
        return 0

    run_with_reactor(main)
    reports = [ctx.report(name) for name in sources]
    record_poll(client, keys, reports)
    delivered = _drain_sinks(config, client, keys)
    return CrawlResult(reports=reports, sink_records=delivered, seconds=time.monotonic() - started)


def _drain_sinks(config: Config, client: redis.Redis, keys: Keys) -> int:
    """Deliver what the crawl published to the configured sinks (files, webhooks)."""
    sinks = build_sinks(config)
    if not sinks:
        return 0
    return int(SinkRunner(client, keys, sinks, config.feed).drain_once())
