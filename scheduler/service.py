"""The daemon process of ``newsmon run`` and ``newsmon scheduler``, from start to stop.

It runs the scheduler role, the sinks and, for ``run``, the supervised worker processes
(:mod:`newsmon.scheduler.daemon`, :mod:`newsmon.scheduler.supervisor`), until a signal, holding the daemon lock
(:mod:`newsmon.scheduler.instance`) all along. The first SIGTERM or SIGINT is a warm stop
(in-flight work finishes, bounded by ``scheduler.stop_timeout``); the second is a cold stop (the
workers are killed, the caller's teardown runs, and the process exits at once, with status 1).
Every stop is logged.

SIGHUP (also sent by ``newsmon reload``) reloads the configuration
(:mod:`newsmon.scheduler.reload`): the scheduler's jobs, the sinks and, through a SIGHUP the
supervisor forwards, the workers take the new file; an invalid file changes nothing and every
problem is logged. A SIGHUP during a warm stop is ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from newsmon.scheduler.daemon import Scheduler
from newsmon.scheduler.instance import REFRESH_EVERY, DaemonLock, exit_now
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.redis_conn import EmbeddedRedis
from newsmon.scheduler.reload import read_source, reload_config
from newsmon.scheduler.sinks import SinkRunner, build_sinks
from newsmon.scheduler.sinks.base import Sink
from newsmon.scheduler.supervisor import Supervisor
from newsmon.settings.model import Config

logger = logging.getLogger(__name__)


#: The signals that stop the daemon (SIGHUP reloads it instead).
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def serve(config: Config, client: redis.Redis, keys: Keys, *, redis_url: str, workers: int,
                config_path: Path | None, lock: DaemonLock, cold_stop: Callable[[], None] | None = None,
                embedded: EmbeddedRedis | None = None, reload: Callable[[], Config] | None = None) -> int:
    """Run the daemon until a signal; return its exit status.

    Args:
        config: the settings.
        client: the Redis client of this process.
        keys: the key names.
        redis_url: the URL the workers connect to (the embedded server's, when there is one).
        workers: how many worker processes to supervise; 0 for the scheduler role alone.
        config_path: the configuration file the workers load.
        lock: the daemon lock, acquired; refreshed here while the daemon runs.
        cold_stop: the teardown to run before exiting at once on a second signal (closing Redis).
        embedded: the embedded Redis this daemon owns, restarted in place whenever it dies.
        reload: reads and validates the configuration again, as at start; SIGHUP calls it.
            None: SIGHUP is a warm stop, like SIGTERM.
    """
    stop = asyncio.Event()
    failures: list[str] = []
    handler = _Signals(stop, lock, cold_stop, config.scheduler.stop_timeout.total_seconds())
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, handler, signum)
    reload_asked = asyncio.Event()
    if reload is not None:
        loop.add_signal_handler(signal.SIGHUP, reload_asked.set)
    else:
        loop.add_signal_handler(signal.SIGHUP, handler, signal.SIGHUP)

    # Its own event: the server is kept alive until the workers and sinks are done with it.
    redis_done = asyncio.Event()
    redis_watch = (asyncio.ensure_future(embedded.supervise(redis_done))
                   if embedded is not None and embedded.owner else None)
    scheduler = Scheduler(config, client, keys)
    supervisor: Supervisor | None = None
    sinks = _Sinks(client, keys, stop)
    sinks.start(config)
    lock_task = asyncio.ensure_future(_hold(lock, stop, failures))
    scheduler.start()
    reloader = (asyncio.ensure_future(_reload_on_signal(config, reload, asked=reload_asked, stop=stop,
                                                        scheduler=scheduler, sinks=sinks, handler=handler))
                if reload is not None else None)
    try:
        if workers:
            supervisor = handler.supervisor = Supervisor(
                config, client, keys, workers=workers, redis_url=redis_url, config_path=config_path,
                instance=lock.holder.instance)
            supervisor.snapshot(await asyncio.to_thread(read_source, config))
            failure = await supervisor.run(stop)
            if failure:
                failures.append(failure)
        else:
            await stop.wait()
    finally:
        lock_task.cancel()
        if reloader is not None:
            reloader.cancel()
        scheduler.shutdown()
        if supervisor is not None:
            await supervisor.stop(scheduler.config.scheduler.stop_timeout.total_seconds())
        stop.set()
        await sinks.stop()
        if redis_watch is not None:
            redis_done.set()
            await redis_watch
    if failures:
        logger.error("%s", failures[0])
        return 1
    logger.info("Stopped")
    return 0


class _Signals:
    """The daemon's signal handler: the first signal sets ``stop``, the second exits at once."""

    def __init__(self, stop: asyncio.Event, lock: DaemonLock, cold_stop: Callable[[], None] | None,
                 timeout: float) -> None:
        self.stop = stop
        self.lock = lock
        self.cold_stop = cold_stop
        self.timeout = timeout
        self.supervisor: Supervisor | None = None
        self.count = 0

    def __call__(self, signum: int) -> None:
        self.count += 1
        name = signal.Signals(signum).name
        if self.count == 1:
            logger.info("Warm stop (%s): finishing in-flight work, at most %.0fs; a second signal stops at once",
                        name, self.timeout)
            self.stop.set()
            return
        logger.warning("Cold stop (%s): killing the workers; their jobs will be claimed again", name)
        if self.supervisor is not None:
            self.supervisor.kill()
        self.lock.release()
        exit_now(self.cold_stop, 1)


async def _hold(lock: DaemonLock, stop: asyncio.Event, failures: list[str]) -> None:
    """Refresh the daemon lock until the daemon stops; stop it if another daemon took the lock
    (ours expired: Redis was unreachable for longer than its TTL, say)."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=REFRESH_EVERY)
        if stop.is_set():
            return
        try:
            other = lock.refresh()
        except redis.RedisError as exc:
            logger.debug("Could not refresh the daemon lock: %s", exc)
            continue
        if other is not None:
            failures.append(f"the daemon lock was taken over by {other.describe()}; stopping")
            stop.set()
            return


async def _reload_on_signal(config: Config, load: Callable[[], Config], *, asked: asyncio.Event,
                            stop: asyncio.Event, scheduler: Scheduler, sinks: _Sinks, handler: _Signals) -> None:
    """Reload the configuration at each SIGHUP, until the daemon stops."""
    while True:
        await asked.wait()
        asked.clear()
        if stop.is_set():
            logger.info("SIGHUP during a warm stop: not reloading")
            continue
        logger.info("SIGHUP: reloading the configuration from %s", config.path or "the packaged example")
        before = await asyncio.to_thread(read_source, config)
        result = await asyncio.to_thread(reload_config, config, load)
        if result is None:
            continue
        new, changes = result
        text = await asyncio.to_thread(read_source, new)
        if text != before:
            # The workers load a copy of exactly what was validated: not knowing which it was,
            # keep everything as it was.
            logger.warning("The configuration file changed while it was being read: not reloaded; "
                           "send SIGHUP again")
            continue
        scheduler.apply(new, changes)  # no Redis call fails it: see Scheduler._schedule
        if handler.supervisor is not None:
            handler.supervisor.reload(new, text)
        handler.timeout = new.scheduler.stop_timeout.total_seconds()
        if new.sinks != config.sinks or new.feed != config.feed:
            await sinks.restart(new)
        config = new
        logger.info("Configuration reloaded: %s", changes.describe())


class _Sinks:
    """The sink runner's task, restarted with new sinks on a reload."""

    def __init__(self, client: redis.Redis, keys: Keys, stop: asyncio.Event) -> None:
        self.client = client
        self.keys = keys
        self.daemon_stop = stop
        self.halt = asyncio.Event()
        self.task: asyncio.Task[Any] | None = None

    def start(self, config: Config, sinks: list[Sink] | None = None) -> None:
        sinks = build_sinks(config) if sinks is None else sinks
        if not sinks:
            return
        self.halt = asyncio.Event()
        self.task = asyncio.ensure_future(SinkRunner(self.client, self.keys, sinks, config.feed).run(self.halt))

    async def stop(self) -> None:
        """Stop delivering: the chunk in hand is finished (at most 5s)."""
        if self.task is None:
            return
        self.halt.set()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(self.task, timeout=5)
        self.task = None

    async def restart(self, config: Config) -> None:
        """Deliver to the sinks of ``config`` from now on; the running ones stay if those cannot be built."""
        try:
            sinks = build_sinks(config)
        except ValueError as exc:
            logger.error("Sinks not reloaded: %s; the running sinks stay", exc)
            return
        await self.stop()
        if not self.daemon_stop.is_set():
            self.start(config, sinks)
