"""The daemon process of ``newsmon run`` and ``newsmon scheduler``, from start to stop.

It runs the scheduler role, the sinks and, for ``run``, the supervised worker processes
(:mod:`newsmon.scheduler.daemon`), until a signal. The first SIGTERM/SIGINT is a warm stop
(in-flight work finishes, bounded by ``scheduler.stop_timeout``); the second is a cold stop
(the workers are signalled and the process exits at once, with status 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from pathlib import Path
from typing import Any

import redis

from newsmon.scheduler.daemon import Scheduler, Supervisor
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.redis_conn import EmbeddedRedis
from newsmon.scheduler.sinks import SinkRunner, build_sinks
from newsmon.settings.model import Config

logger = logging.getLogger(__name__)


async def serve(config: Config, client: redis.Redis, keys: Keys, *, redis_url: str, workers: int,
                config_path: Path | None, embedded: EmbeddedRedis | None = None) -> int:
    """Run the daemon until a signal; return its exit status.

    Args:
        config: the settings.
        client: the Redis client of this process.
        keys: the key names.
        redis_url: the URL the workers connect to (the embedded server's, when there is one).
        workers: how many worker processes to supervise; 0 for the scheduler role alone.
        config_path: the configuration file the workers load.
        embedded: the embedded Redis this daemon owns, restarted in place whenever it dies.
    """
    stop = asyncio.Event()
    signals = {"count": 0}
    supervisor: Supervisor | None = None

    def on_signal(signum: int) -> None:
        signals["count"] += 1
        if signals["count"] == 1:
            logger.info("Warm stop (%s): finishing in-flight work", signal.Signals(signum).name)
            stop.set()
        else:
            logger.warning("Cold stop")
            if supervisor is not None:
                supervisor.kill()
            logging.shutdown()
            os._exit(1)

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)

    # Its own event: the server is kept alive until the workers and sinks are done with it.
    redis_done = asyncio.Event()
    redis_watch = (asyncio.ensure_future(embedded.supervise(redis_done))
                   if embedded is not None and embedded.owner else None)
    scheduler = Scheduler(config, client, keys)
    sink_task = _start_sinks(config, client, keys, stop)
    scheduler.start()
    failure = None
    try:
        if workers:
            supervisor = Supervisor(config, client, keys, workers=workers, redis_url=redis_url,
                                    config_path=config_path)
            failure = await supervisor.run(stop)
        else:
            await stop.wait()
    finally:
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
    if failure:
        logger.error("%s", failure)
        return 1
    logger.info("Stopped")
    return 0


def _start_sinks(config: Config, client: redis.Redis, keys: Keys, stop: asyncio.Event) -> asyncio.Task[Any] | None:
    sinks = build_sinks(config)
    if not sinks:
        return None
    return asyncio.ensure_future(SinkRunner(client, keys, sinks, config.feed).run(stop))
