"""The daemon process of ``newsmon run`` and ``newsmon scheduler``, from start to stop.

It runs the scheduler role, the sinks and, for ``run``, the supervised worker processes
(:mod:`newsmon.scheduler.daemon`), until a signal, holding the daemon lock
(:mod:`newsmon.scheduler.instance`) all along. The first SIGTERM, SIGINT or SIGHUP is a warm
stop (in-flight work finishes, bounded by ``scheduler.stop_timeout``; SIGHUP, a closed
terminal, stops too until reloading is supported); the second is a cold stop (the workers are
killed, the caller's teardown runs, and the process exits at once, with status 1). Every stop
is logged.
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

from newsmon.scheduler.daemon import Scheduler, Supervisor
from newsmon.scheduler.instance import REFRESH_EVERY, DaemonLock, exit_now
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.redis_conn import EmbeddedRedis
from newsmon.scheduler.sinks import SinkRunner, build_sinks
from newsmon.settings.model import Config

logger = logging.getLogger(__name__)


#: The signals that stop the daemon. SIGHUP (the terminal closed) will become a reload.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


async def serve(config: Config, client: redis.Redis, keys: Keys, *, redis_url: str, workers: int,
                config_path: Path | None, lock: DaemonLock, cold_stop: Callable[[], None] | None = None,
                embedded: EmbeddedRedis | None = None) -> int:
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
    """
    stop = asyncio.Event()
    failures: list[str] = []
    handler = _Signals(stop, lock, cold_stop, config.scheduler.stop_timeout.total_seconds())
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, handler, signum)

    # Its own event: the server is kept alive until the workers and sinks are done with it.
    redis_done = asyncio.Event()
    redis_watch = (asyncio.ensure_future(embedded.supervise(redis_done))
                   if embedded is not None and embedded.owner else None)
    scheduler = Scheduler(config, client, keys)
    supervisor: Supervisor | None = None
    sink_task = _start_sinks(config, client, keys, stop)
    lock_task = asyncio.ensure_future(_hold(lock, stop, failures))
    scheduler.start()
    try:
        if workers:
            supervisor = handler.supervisor = Supervisor(
                config, client, keys, workers=workers, redis_url=redis_url, config_path=config_path,
                instance=lock.holder.instance)
            failure = await supervisor.run(stop)
            if failure:
                failures.append(failure)
        else:
            await stop.wait()
    finally:
        lock_task.cancel()
        scheduler.shutdown()
        if supervisor is not None:
            await supervisor.stop(config.scheduler.stop_timeout.total_seconds())
        if sink_task is not None:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(sink_task, timeout=5)
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
            why = "; reloading is not supported yet" if signum == signal.SIGHUP else ""
            logger.info("Warm stop (%s%s): finishing in-flight work, at most %.0fs; a second signal stops at once",
                        name, why, self.timeout)
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


def _start_sinks(config: Config, client: redis.Redis, keys: Keys, stop: asyncio.Event) -> asyncio.Task[Any] | None:
    sinks = build_sinks(config)
    if not sinks:
        return None
    return asyncio.ensure_future(SinkRunner(client, keys, sinks, config.feed).run(stop))
