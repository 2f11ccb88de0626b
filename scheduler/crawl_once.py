"""One poll of some sources in this process, without the job queue (``newsmon crawl``).

The crawl runs on the asyncio reactor (installed here), its outcome is folded into the sources'
state like a worker's, and what it published is then delivered to the configured sinks.

Cores: with ``workers`` > 1 (``crawl --workers``, one per CPU by default) the pages are extracted
in a pool of processes (:class:`~newsmon.crawler.analysis.PagePool`) and this process only does
I/O. The daemon's workers do not use a pool: ``newsmon run`` already runs one worker process per
CPU, each crawling its own sources, so a pool in each would add processes (about 100 MB of
trafilatura and lxml apiece) without adding cores.

Stopping: the first SIGINT, SIGTERM or SIGHUP is a warm stop: no new page is requested, the
pages in flight finish (at most ``scheduler.stop_timeout``), the outcome is recorded and
delivered, and :attr:`CrawlResult.stopped_by` names the signal. What was published stays
published; the feeds' validators are not saved (see ``crawler/context.py``), so the next crawl
reads them again and fetches what this one left. The second signal is a cold stop: one log line,
the caller's teardown (the embedded Redis), and the process exits at once with 128 + the
signal's number.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any

import redis

from newsmon.crawler.context import CrawlContext, SourceReport
from newsmon.crawler.runner import Crawl, run_with_reactor
from newsmon.scheduler.instance import exit_now
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.sinks import SinkRunner, build_sinks
from newsmon.scheduler.status import record_poll
from newsmon.scheduler.worker import make_context
from newsmon.settings.model import Config

if TYPE_CHECKING:
    from newsmon.crawler.analysis import PagePool

logger = logging.getLogger(__name__)

#: Watches a crawl in progress (given its context) until it is cancelled when the crawl ends.
Watcher = Callable[[CrawlContext], Coroutine[Any, Any, None]]
#: The signals that stop a crawl (SIGHUP: the terminal was closed).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass(frozen=True)
class CrawlResult:
    """What one :func:`crawl_once` did."""

    reports: list[SourceReport]  # one per source, in the order asked for
    sink_records: int  # records delivered to the sinks afterwards
    seconds: float  # wall time, crawl and delivery
    stopped_by: str | None = None  # the signal that stopped the crawl early (SIGINT...), if any

    @property
    def exit_status(self) -> int | None:
        """128 + the number of the signal that stopped the crawl (as a shell reports it), or None."""
        return 128 + signal.Signals[self.stopped_by].value if self.stopped_by else None


class _Stopper:
    """The crawl's signal handlers, for as long as the ``with`` block lasts.

    Python-level handlers, not the event loop's: they also work while no loop runs (the
    outcome being recorded, the sinks draining) or while the loop is stuck in a blocking call.
    """

    def __init__(self, timeout: float, cold_stop: Callable[[], None] | None) -> None:
        self.timeout = timeout
        self.cold_stop = cold_stop
        self.signum: int | None = None
        self.requested = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Stopper:
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._loop = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wake ``loop`` (running the crawl) when a stop is asked."""
        self._loop = loop
        if self.signum is not None:
            self.requested.set()

    def detach(self) -> None:
        self._loop = None

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.signum is None:
            self.signum = signum
            logger.warning("%s: stopping the crawl; the pages in flight finish (at most %.0fs), "
                           "a second signal stops at once", name, self.timeout)
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self.requested.set)
            return
        logger.warning("%s again: stopping at once; the next crawl fetches what this one did not publish", name)
        exit_now(self.cold_stop, 128 + signum)


def crawl_once(config: Config, client: redis.Redis, keys: Keys, sources: Sequence[str], *,
               watch: Watcher | None = None, cold_stop: Callable[[], None] | None = None,
               workers: int = 1) -> CrawlResult:
    """Poll ``sources`` once, record the outcome, and deliver to the sinks.

    ``watch(ctx)`` runs beside the crawl (a progress display, say); it is cancelled, and awaited,
    once the crawl is over. ``cold_stop()`` is the teardown to run before exiting at a second
    signal (closing Redis); see the module's docstring. ``workers`` > 1: the pages are extracted
    in a pool of that many processes (:class:`~newsmon.crawler.analysis.PagePool`), so the
    reactor thread only does I/O; 1: in this process.
    """
    started = time.monotonic()
    pool = _pool(config, workers)
    try:
        return _crawl_once(config, client, keys, sources, watch=watch, cold_stop=cold_stop, pool=pool,
                           started=started)
    finally:
        if pool is not None:
            pool.close()


def _pool(config: Config, workers: int) -> PagePool | None:
    if workers <= 1:
        return None
    from newsmon.crawler.analysis import PagePool

    return PagePool(config, workers)


def _crawl_once(config: Config, client: redis.Redis, keys: Keys, sources: Sequence[str], *,
                watch: Watcher | None, cold_stop: Callable[[], None] | None, pool: PagePool | None,
                started: float) -> CrawlResult:
    ctx = make_context(config, client, keys, sources, pool=pool)
    timeout = config.scheduler.stop_timeout.total_seconds()

    def stop_now() -> None:
        if pool is not None:
            pool.kill()  # no child outlives the cold stop
        if cold_stop is not None:
            cold_stop()

    with _Stopper(timeout, stop_now) as stopper:

        async def main() -> int:
            stopper.attach(asyncio.get_running_loop())
            watcher = asyncio.ensure_future(watch(ctx)) if watch is not None else None
            try:
                if stopper.signum is None:
                    await _crawl(Crawl(ctx), stopper, timeout)
            finally:
                stopper.detach()
                if watcher is not None:
                    watcher.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await watcher
            return 0

        run_with_reactor(main)
        reports = [ctx.report(name) for name in sources]
        record_poll(client, keys, reports)
        delivered = _drain_sinks(config, client, keys)
        stopped_by = signal.Signals(stopper.signum).name if stopper.signum is not None else None
    return CrawlResult(reports=reports, sink_records=delivered, seconds=time.monotonic() - started,
                       stopped_by=stopped_by)


async def _crawl(crawl: Crawl, stopper: _Stopper, timeout: float) -> None:
    """Run ``crawl`` to its end, or until a stop is asked: then let its pages in flight finish
    (Scrapy's graceful close), for at most ``timeout`` seconds."""
    run = asyncio.ensure_future(crawl.run())
    asked = asyncio.ensure_future(stopper.requested.wait())
    try:
        await asyncio.wait([run, asked], return_when=asyncio.FIRST_COMPLETED)
    finally:
        asked.cancel()
    if run.done():
        run.result()
        return
    closing = asyncio.ensure_future(crawl.stop())
    done, _ = await asyncio.wait([run], timeout=timeout)
    if done:
        run.result()
        await closing
        return
    logger.warning("Pages still in flight after %.0fs: abandoned; the next crawl fetches them", timeout)
    for task in (run, closing):
        task.cancel()
    await asyncio.wait([run, closing], timeout=1.0)


def _drain_sinks(config: Config, client: redis.Redis, keys: Keys) -> int:
    """Deliver what the crawl published to the configured sinks (files, webhooks)."""
    sinks = build_sinks(config)
    if not sinks:
        return 0
    return int(SinkRunner(client, keys, sinks, config.feed).drain_once())
