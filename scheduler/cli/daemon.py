"""``newsmon run``, ``newsmon scheduler`` and ``newsmon worker``: the daemon's processes.

The processes themselves are library code (:mod:`newsmon.scheduler.service` and
:mod:`newsmon.scheduler.worker`); these verbs build the settings, connect to Redis and, for
``run`` and ``scheduler``, take the daemon lock (:mod:`newsmon.scheduler.instance`): a second
daemon on the same data directory or Redis prefix exits 2 naming the running one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from newsmon.scheduler.cli.common import UsageError, Verbs, add_verb, load_settings, redis_session
from newsmon.settings.model import Config

_METRICS_HELP = "serve Prometheus /metrics and /healthz on HOST:PORT (default: metrics.listen; off)"


def register(verbs: Verbs, common: argparse.ArgumentParser) -> None:
    p = add_verb(verbs, common, "run", cmd_run, "run the daemon: the scheduler plus supervised worker processes")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: the CPU count)")
    p.add_argument("--metrics", metavar="HOST:PORT", help=_METRICS_HELP)
    p = add_verb(verbs, common, "scheduler", cmd_scheduler, "run the scheduler role alone (queues poll jobs)")
    p.add_argument("--metrics", metavar="HOST:PORT", help=_METRICS_HELP)
    p = add_verb(verbs, common, "worker", cmd_worker, "run one worker (serves poll jobs)")
    p.add_argument("--metrics", metavar="HOST:PORT", help=_METRICS_HELP)
    p.add_argument("--name", help="consumer name in the job stream (default: host:pid)")
    p.add_argument("--burst", action="store_true", help="exit when no poll job is waiting")
    p.add_argument("--supervised", action="store_true", help=argparse.SUPPRESS)


def _settings(args: argparse.Namespace) -> Config:
    """The settings, with ``--metrics`` over ``metrics.listen``."""
    from newsmon.settings.rules import listen_address

    config = load_settings(args)
    if args.metrics is not None:
        if message := listen_address(args.metrics):
            raise UsageError(f"--metrics: {message}")
        config = dataclasses.replace(config, metrics=dataclasses.replace(config.metrics, listen=args.metrics))
    return config


@contextlib.contextmanager
def _metrics(config: Config, session: Any, *, worker: str | None = None) -> Iterator[None]:
    """The metrics endpoint while the block runs, when the settings ask for one."""
    from newsmon.scheduler.metrics import serve_metrics

    try:
        server = serve_metrics(config, session.client, session.keys, worker=worker)
    except OSError as exc:
        raise UsageError(f"metrics: cannot listen on {config.metrics.listen}: {exc.strerror or exc}") from None
    try:
        yield
    finally:
        if server is not None:
            server.close()


def cmd_run(args: argparse.Namespace) -> int:
    config = _settings(args)
    workers = args.workers if args.workers is not None else config.scheduler.workers or os.cpu_count() or 1
    if workers < 1:
        raise UsageError(f"--workers: expected 1 or more, got {workers}")
    return _serve(args, config, workers=workers)


def cmd_scheduler(args: argparse.Namespace) -> int:
    return _serve(args, _settings(args), workers=0)


def _serve(args: argparse.Namespace, config: Config, *, workers: int) -> int:
    from newsmon.scheduler.instance import DaemonLock, DirectoryLock, new_holder
    from newsmon.scheduler.service import serve

    # The workers load the same file: --config as given, else the one the settings came from.
    config_path = Path(args.config) if args.config else config.path
    holder = new_holder()
    # On the embedded Redis, the data directory's file lock first: a second daemon leaves
    # before it even connects.
    directory = DirectoryLock(config.data_dir, config.redis.prefix) if not config.redis.url else None
    if directory is not None:
        directory.acquire(holder)
    try:
        # The daemon owns the embedded Redis: it restarts the server when it dies.
        with redis_session(config, owner=True) as session:
            lock = DaemonLock(session.client, session.keys, holder)
            lock.acquire()
            try:
                with _metrics(config, session):
                    return asyncio.run(serve(config, session.client, session.keys, redis_url=session.url,
                                             workers=workers, config_path=config_path, lock=lock,
                                             cold_stop=session.close, embedded=session.embedded,
                                             reload=lambda: _settings(args)))
            finally:
                lock.release()
    finally:
        if directory is not None:
            directory.release()


def cmd_worker(args: argparse.Namespace) -> int:
    from newsmon.crawler.runner import run_with_reactor
    from newsmon.scheduler.worker import Worker

    config = _settings(args)
    # A supervised worker that finds Redis away waits for it (its supervisor keeps running).
    with redis_session(config, check=not args.supervised) as session:
        # Supervised, SIGHUP is the daemon's reload passed on; alone, it is a warm stop (a closed terminal).
        worker = Worker(config, session.client, session.keys, name=args.name, burst=args.burst,
                        supervised=args.supervised, cold_stop=session.close,
                        reload=(lambda: _settings(args)) if args.supervised else None)

        async def main() -> int:
            worker.install_signal_handlers()
            return await worker.run()

        # A supervised worker never serves: its supervisor does, for every worker.
        if args.supervised:
            return run_with_reactor(main)
        with _metrics(config, session, worker=worker.name):
            return run_with_reactor(main)
