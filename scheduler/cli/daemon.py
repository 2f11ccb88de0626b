"""``newsmon run``, ``newsmon scheduler`` and ``newsmon worker``: the daemon's processes.

The processes themselves are library code (:mod:`newsmon.scheduler.service` and
:mod:`newsmon.scheduler.worker`); these verbs build the settings, connect to Redis and, for
``run`` and ``scheduler``, take the daemon lock (:mod:`newsmon.scheduler.instance`): a second
daemon on the same data directory or Redis prefix exits 2 naming the running one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from newsmon.scheduler.cli.common import UsageError, Verbs, add_verb, load_settings, redis_session
from newsmon.settings.model import Config


def register(verbs: Verbs, common: argparse.ArgumentParser) -> None:
    p = add_verb(verbs, common, "run", cmd_run, "run the daemon: the scheduler plus supervised worker processes")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: the CPU count)")
    add_verb(verbs, common, "scheduler", cmd_scheduler, "run the scheduler role alone (queues poll jobs)")
    p = add_verb(verbs, common, "worker", cmd_worker, "run one worker (serves poll jobs)")
    p.add_argument("--name", help="consumer name in the job stream (default: host:pid)")
    p.add_argument("--burst", action="store_true", help="exit when no poll job is waiting")
    p.add_argument("--supervised", action="store_true", help=argparse.SUPPRESS)


def cmd_run(args: argparse.Namespace) -> int:
    config = load_settings(args)
    workers = args.workers if args.workers is not None else config.scheduler.workers or os.cpu_count() or 1
    if workers < 1:
        raise UsageError(f"--workers: expected 1 or more, got {workers}")
    return _serve(args, config, workers=workers)


def cmd_scheduler(args: argparse.Namespace) -> int:
    return _serve(args, load_settings(args), workers=0)


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
                return asyncio.run(serve(config, session.client, session.keys, redis_url=session.url,
                                         workers=workers, config_path=config_path, lock=lock,
                                         cold_stop=session.close, embedded=session.embedded,
                                         reload=lambda: load_settings(args)))
            finally:
                lock.release()
    finally:
        if directory is not None:
            directory.release()


def cmd_worker(args: argparse.Namespace) -> int:
    from newsmon.crawler.runner import run_with_reactor
    from newsmon.scheduler.worker import Worker

    config = load_settings(args)
    # A supervised worker that finds Redis away waits for it (its supervisor keeps running).
    with redis_session(config, check=not args.supervised) as session:
        # Supervised, SIGHUP is the daemon's reload passed on; alone, it is a warm stop (a closed terminal).
        worker = Worker(config, session.client, session.keys, name=args.name, burst=args.burst,
                        supervised=args.supervised, cold_stop=session.close,
                        reload=(lambda: load_settings(args)) if args.supervised else None)

        async def main() -> int:
            worker.install_signal_handlers()
            return await worker.run()

        return run_with_reactor(main)
