"""The worker role: take poll jobs from Redis and run them as Scrapy crawls.

A worker claims a batch of jobs, crawls those sources in one Scrapy crawl, records each
source's outcome and acknowledges the jobs only when the crawl finished. While it crawls it
keeps its jobs' leases alive, and a heartbeat key with a TTL says it is alive.

Redis outages: a worker never exits because Redis is away. A failed claim, acknowledgement
or heartbeat waits for Redis with a bounded back-off (one WARNING, one INFO when it is back,
see :mod:`newsmon.scheduler.outage`). A Redis call that fails inside a crawl (the crawl's
components call Redis on the reactor thread, each call bounded by the socket timeouts) stops
that crawl: its jobs are neither recorded nor acknowledged, so the worker crawls them again once
Redis is back, and its documents' validators are not saved (the crawl did not finish).

Stopping: the first SIGTERM, SIGINT or SIGHUP (a closed terminal) is a warm stop (the crawl in
flight finishes, bounded by ``scheduler.stop_timeout``, after which it is stopped and its jobs
left for another worker); the second is a cold stop (the caller's teardown, then exit at once;
the jobs are claimed again after their lease).

Reloading: a worker given a ``reload`` function (a supervised one: its supervisor forwards the
daemon's SIGHUP) takes SIGHUP as "read the configuration again" instead: it does so between
two crawls (see :mod:`newsmon.scheduler.reload`). It also reads it again before dropping a job
for a source it does not know, which a reload may have just added.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any

import redis

from newsmon.crawler.context import CrawlContext
from newsmon.crawler.runner import Crawl
from newsmon.scheduler.host_stats import record_host_stats
from newsmon.scheduler.hosts import HostGate
from newsmon.scheduler.instance import exit_now
from newsmon.scheduler.jobs import Job, JobQueue
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.outage import OUTAGE_ERRORS, Outage, is_outage
from newsmon.scheduler.status import record_poll
from newsmon.scheduler.store import StoryStore
from newsmon.settings.model import Config

logger = logging.getLogger(__name__)

HEARTBEAT_EVERY = 2.0
RECHECKS_PER_CRAWL = 50
HEARTBEAT_TTL = 15


def default_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    """Serves poll jobs until stopped, or until ``max_polls`` crawls (then it exits to be replaced)."""

    def __init__(
        self,
        config: Config,
        client: redis.Redis,
        keys: Keys,
        *,
        name: str | None = None,
        batch: int = 8,
        burst: bool = False,
        supervised: bool = False,
        cold_stop: Callable[[], None] | None = None,
        reload: Callable[[], Config] | None = None,
    ) -> None:
        self.config = config
        self.reload = reload  # reads the configuration again; SIGHUP then reloads instead of stopping
        self._reload_requested = False
        self.client = client
        self.keys = keys
        self.name = name or default_name()
        self.batch = batch
        self.burst = burst  # exit when no job is waiting (for tests and cron-like use)
        # A supervised worker stops warmly when its supervisor is gone (killed with SIGKILL).
        self.parent = os.getppid() if supervised else None
        self.queue = JobQueue(client, keys, config.scheduler.job_lease)
        self.stopping = asyncio.Event()
        self.crawls = 0
        self.cold_stop = cold_stop  # teardown before a cold stop's immediate exit (closing Redis)
        self._signals = 0
        self.outage = Outage(f"worker {self.name}")
        self._crawl: Crawl | None = None
        self._crawl_outage: BaseException | None = None  # why the crawl in flight lost Redis
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- signals ---------------------------------------------------------------------------
    def _on_signal(self, signum: int) -> None:
        self._signals += 1
        if self._signals == 1:
            logger.info("Worker %s: warm stop (%s); finishing the crawl in flight",
                        self.name, signal.Signals(signum).name)
            self.stopping.set()
        else:
            logger.warning("Worker %s: cold stop (%s); unfinished jobs will be claimed again",
                           self.name, signal.Signals(signum).name)
            exit_now(self.cold_stop, 1)

    def _on_reload_signal(self) -> None:
        logger.info("Worker %s: SIGHUP; reading the configuration again after the crawl in flight", self.name)
        self._reload_requested = True

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            if signum == signal.SIGHUP and self.reload is not None:
                loop.add_signal_handler(signum, self._on_reload_signal)
            else:
                loop.add_signal_handler(signum, self._on_signal, signum)
        # The supervisor starts its workers with SIGHUP blocked (a reload sent during start-up
        # waits for this handler); a SIGHUP pending since is delivered now.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP})

    def _apply_reload(self) -> None:
        """Read the configuration again; keep the running one if the new one is invalid."""
        from newsmon.scheduler.reload import reload_config

        self._reload_requested = False
        if self.reload is None:
            return
        result = reload_config(self.config, self.reload, who=f"worker {self.name}")
        if result is None:
            return
        self.config, changes = result
        (logger.info if changes else logger.debug)("Worker %s: configuration reloaded (%s)",
                                                   self.name, changes.describe())

    # -- main loop -------------------------------------------------------------------------
    async def run(self) -> int:
        logger.info("Worker %s started", self.name)
        self._loop = asyncio.get_running_loop()
        heartbeat = asyncio.ensure_future(self._heartbeat())
        quiet = _CrawlOutageFilter(self._lost_redis)
        handlers = logging.getLogger().handlers
        for handler in handlers:
            handler.addFilter(quiet)
        try:
            while not self.stopping.is_set():
                try:
                    if self._reload_requested:
                        self._apply_reload()
                    jobs = await asyncio.to_thread(self.queue.claim, self.name, self.batch, 1000)
                    self.outage.ok()
                    if self._reload_requested:
                        self._apply_reload()
                    if not jobs:
                        if self.burst:
                            break
                        continue
                    self._crawl_outage = None
                    await self._serve(jobs)
                except OUTAGE_ERRORS as exc:
                    await self._wait_for_redis(exc)
                    continue
                if self._crawl_outage is not None:
                    await self._wait_for_redis(self._crawl_outage)
                    continue
                self.crawls += 1
                if self.crawls >= self.config.scheduler.worker_max_polls:
                    logger.info("Worker %s: %d crawls done; exiting to be replaced", self.name, self.crawls)
                    break
        finally:
            heartbeat.cancel()
            for handler in handlers:
                handler.removeFilter(quiet)
            with contextlib.suppress(redis.RedisError):
                self.client.delete(self.keys.health("worker", self.name))
        logger.info("Worker %s stopped after %d crawls", self.name, self.crawls)
        return 0

    async def _wait_for_redis(self, exc: BaseException) -> None:
        """Back off until Redis answers a PING again (or the worker is asked to stop)."""
        while not self.stopping.is_set():
            delay = self.outage.failed(exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=delay)
            try:
                await asyncio.to_thread(self.client.ping)
            except OUTAGE_ERRORS as again:
                exc = again
                continue
            self.outage.ok()
            return

    def _lost_redis(self, exc: BaseException, *, stop: bool = True) -> None:
        """A Redis call failed inside the crawl in flight: stop it, and keep its jobs for later.

        Called on the loop's thread, or on another (a log record's), hence the thread-safe call.
        """
        crawl = self._crawl
        if self._crawl_outage is not None or crawl is None:
            return
        self._crawl_outage = exc
        self.outage.failed(exc)
        if stop and self._loop is not None:
            logger.info("Worker %s: stopping the crawl in flight; its jobs are kept for when Redis is back",
                        self.name)
            self._loop.call_soon_threadsafe(lambda: asyncio.ensure_future(crawl.stop()))

    async def _serve(self, jobs: list[Job]) -> None:
        known = [j for j in jobs if j.source in {s.name for s in self.config.sources}]
        unknown = [j for j in jobs if j not in known]
        if unknown and self.reload is not None:
            # A reload may have added the source before its SIGHUP reached this worker.
            self._apply_reload()
            known = [j for j in jobs if j.source in {s.name for s in self.config.sources}]
            unknown = [j for j in jobs if j not in known]
        if unknown:
            logger.warning("Dropping poll jobs for sources not in this worker's config: %s",
                           ", ".join(sorted({j.source for j in unknown})))
            self.queue.ack(unknown)
        if not known:
            return
        sources = list(dict.fromkeys(j.source for j in known))
        store = StoryStore(self.client, self.keys, self.config.dedup, self.config.feed)
        # Published stories due for a re-check (dedup.recheck) ride along with the polls.
        configured = {s.name for s in self.config.sources}
        recheck = tuple(r for r in store.recheck_due(limit=RECHECKS_PER_CRAWL) if r[2] in configured)
        if recheck:
            logger.debug("%d published stories are due for a re-check; they ride along", len(recheck))
        ctx = CrawlContext(config=self.config, client=self.client, keys=self.keys, store=store,
                           sources=tuple(sources), hosts=HostGate(self.client, self.keys, self.config.fetch),
                           recheck=recheck)
        crawl = Crawl(ctx)
        self._crawl, self._crawl_outage = crawl, None
        keepalive = asyncio.ensure_future(self._keep_leases(known))
        watchdog = asyncio.ensure_future(self._stop_when_asked(crawl))
        started = time.monotonic()
        try:
            reports = await crawl.run()
        except OUTAGE_ERRORS as exc:
            self._lost_redis(exc, stop=False)
            return
        except Exception as exc:
            # A bug of ours, not the outlets'. Record it on the sources and acknowledge the
            # jobs: the next scheduled poll tries again, instead of this worker (and its
            # replacements) failing on the same job in a loop.
            logger.exception("Crawl of %s crashed", ", ".join(sources))
            for name in sources:
                ctx.report(name).count("documents_failed")
                ctx.report(name).error(f"internal error: {type(exc).__name__}: {exc}")
            record_poll(self.client, self.keys, ctx.reports.values())
            self.queue.ack(known)
            return
        finally:
            self._crawl = None
            keepalive.cancel()
            watchdog.cancel()
        if self._crawl_outage is not None:
            # Nothing recorded or acknowledged: the jobs stay pending under this worker's name
            # and are crawled again once Redis is back (what was published stays deduplicated).
            return
        record_poll(self.client, self.keys, reports.values())
        record_host_stats(self.client, self.keys, crawl.stats)
        if crawl.finished:
            self.queue.ack(known)
        else:
            logger.warning("Crawl of %s did not finish (%s); its jobs will be claimed again",
                           ", ".join(sources), crawl.reason)
        logger.info(
            "Polled %s in %.1fs: %s",
            ", ".join(sources),
            time.monotonic() - started,
            "; ".join(f"{r.name} +{r.counts['published']}" for r in reports.values()),
        )

    async def _keep_leases(self, jobs: list[Job]) -> None:
        every = max(0.5, self.queue.lease_ms / 3000)
        while True:
            await asyncio.sleep(every)
            try:
                await asyncio.to_thread(self.queue.extend, self.name, jobs)
            except OUTAGE_ERRORS as exc:
                self._lost_redis(exc)
                return

    async def _stop_when_asked(self, crawl: Crawl) -> None:
        await self.stopping.wait()
        timeout = self.config.scheduler.stop_timeout.total_seconds()
        await asyncio.sleep(timeout)
        logger.warning("Worker %s: crawl still running after %.0fs; stopping it", self.name, timeout)
        await crawl.stop()

    async def _heartbeat(self) -> None:
        key = self.keys.health("worker", self.name)
        while True:
            if self.parent is not None and os.getppid() != self.parent and not self.stopping.is_set():
                logger.warning("Worker %s: supervisor gone; stopping", self.name)
                self.stopping.set()
            try:
                await asyncio.to_thread(
                    self.client.set, key, f"{time.time():.3f} crawls={self.crawls}", ex=HEARTBEAT_TTL
                )
            except OUTAGE_ERRORS as exc:
                self.outage.failed(exc)  # the main loop or the crawl notices too, and waits
            else:
                self.outage.ok()
            await asyncio.sleep(HEARTBEAT_EVERY)


class _CrawlOutageFilter(logging.Filter):
    """Drops the tracebacks Scrapy logs for a Redis call that failed inside a crawl (its
    callbacks, pipelines, signal handlers) and reports the failure: it is an outage, which the
    worker logs once, not an error of the crawl's."""

    def __init__(self, report: Any) -> None:
        super().__init__()
        self.report = report

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None or not is_outage(exc):
            return True
        self.report(exc)
        return False


def make_context(config: Config, client: redis.Redis, keys: Keys, sources: Sequence[str],
                 **kwargs: Any) -> CrawlContext:
    """The context of one crawl of ``sources``: the configuration, Redis, the story store and
    the host gate."""
    store = StoryStore(client, keys, config.dedup, config.feed)
    return CrawlContext(config=config, client=client, keys=keys, store=store, sources=tuple(sources),
                        hosts=HostGate(client, keys, config.fetch), **kwargs)
