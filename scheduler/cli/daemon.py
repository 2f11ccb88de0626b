"""``newsmon run``, ``newsmon scheduler`` and ``newsmon worker``: the daemon's processes.

The processes themselves are library code (:mod:`newsmon.scheduler.service` and
:mod:`newsmon.scheduler.worker`); these verbs build the settings and connect to Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from newsmon.scheduler.cli.common import UsageError, Verbs, add_verb, daemon_redis, load_settings, redis_for
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
    workers = args.workers or config.scheduler.workers or os.cpu_count() or 1
    if workers < 1:
        raise UsageError(f"--workers: expected 1 or more, got {workers}")
    return _serve(args, config, workers=workers)


def cmd_scheduler(args: argparse.Namespace) -> int:
    return _serve(args, load_settings(args), workers=0)


def _serve(args: argparse.Namespace, config: Config, *, workers: int) -> int:
    from newsmon.scheduler.service import serve

    # The workers load the same file: --config as given, else the one the settings came from.
    config_path = Path(args.config) if args.config else config.path
    with daemon_redis(config) as (client, keys, url, embedded):
        return asyncio.run(serve(config, client, keys, redis_url=url, workers=workers, config_path=config_path,
                                 embedded=embedded))


def cmd_worker(args: argparse.Namespace) -> int:
    from newsmon.crawler.runner import run_with_reactor
    from newsmon.scheduler.worker import Worker

    config = load_settings(args)
    # A supervised worker that finds Redis away waits for it (its supervisor keeps running).
    with redis_for(config, check=not args.supervised) as (client, keys, _url):
        worker = Worker(config, client, keys, name=args.name, burst=args.burst, supervised=args.supervised)

        async def main() -> int:
            worker.install_signal_handlers()
            return await worker.run()

        return run_with_reactor(main)
