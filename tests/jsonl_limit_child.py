"""A process that delivers the JSON Lines sink under a file size limit (RLIMIT_FSIZE), then
lifts the limit after a few failures, as if disk space had been freed.

Run by tests/test_sinks_disk_full.py: ``python jsonl_limit_child.py --url URL --prefix P
--directory DIR --limit BYTES --mode daemon|crawl``. With SIGXFSZ ignored, a write that crosses
the limit is cut short and the next one fails with EFBIG, exactly like a disk filling up in the
middle of an append. Prints one JSON line: the failures seen and the cuts the sink logged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import resource
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from newsmon.scheduler.feed import FeedItem, groups_info
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.redis_conn import connect
from newsmon.scheduler.sinks import Backoff, SinkError, SinkRunner
from newsmon.scheduler.sinks.jsonl import JsonlFileSink
from newsmon.settings.model import FeedSettings


class Cuts(logging.Handler):
    """Counts the sink's warnings that it cut a file back."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "cutting" in record.getMessage():
            self.count += 1


class FreedAfter(JsonlFileSink):
    """A JSON Lines sink whose disk is 'freed' (the limit lifted) after ``failures`` failures."""

    def __init__(self, directory: Path, failures: int) -> None:
        super().__init__(directory)
        self.allowed, self.failures = failures, 0

    def deliver(self, items: Sequence[FeedItem]) -> None:
        try:
            super().deliver(items)
        except SinkError:
            self.failures += 1
            if self.failures >= self.allowed:
                _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
                resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
            raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--directory", required=True)
    parser.add_argument("--limit", type=int, required=True)
    parser.add_argument("--mode", choices=["daemon", "crawl"], required=True)
    parser.add_argument("--failures", type=int, default=3)
    parser.add_argument("--batch", type=int, default=7)
    args = parser.parse_args(argv)

    cuts = Cuts()
    logging.getLogger("newsmon.scheduler.sinks").addHandler(cuts)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (args.limit, hard))

    client, keys = connect(args.url), Keys(args.prefix)
    sink = FreedAfter(Path(args.directory), args.failures)
    runner = SinkRunner(client, keys, [sink], FeedSettings(), batch=args.batch,
                        backoff=Backoff(base=0.001, cap=0.01))

    def done() -> bool:
        infos = [g for g in groups_info(client, keys) if g.name == sink.group]
        return bool(infos) and infos[0].lag == 0 and infos[0].pending == 0

    if args.mode == "crawl":
        drains = 0
        while not done() and drains < 50:  # what `newsmon crawl` does, once per run
            runner.drain_once()
            drains += 1
    else:
        async def daemon() -> None:
            stop = asyncio.Event()
            task = asyncio.create_task(runner.run(stop))
            for _ in range(3000):
                if done():
                    break
                await asyncio.sleep(0.01)
            stop.set()
            await task

        asyncio.run(daemon())
    print(json.dumps({"failures": sink.failures, "cuts": cuts.count, "done": done()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
