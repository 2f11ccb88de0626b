"""``newsmon feed read`` and ``newsmon feed groups``: the feed for people and shell pipelines.

:func:`register` adds them to ``newsmon`` (with :func:`add_feed_parser`); :func:`cmd_feed`
connects and calls the handler stored in ``args.feed_handler`` as
``handler(args, client, keys, config)``, which raises :class:`UsageError` for a bad flag value
(``newsmon: <message>``, exit status 2). Run as a module (``python -m
newsmon.scheduler.cli.feed``), this file is a standalone ``feed`` command for tests and
benchmarks (``--redis-url`` instead of a config).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from types import FrameType
from typing import TextIO

import redis

from newsmon.scheduler.cli.common import USAGE, UsageError, Verbs, error, load_settings, redis_for
from newsmon.scheduler.feed import (
    BLOCK_SLICE,
    NAME_PATTERN,
    FeedItem,
    FeedReader,
    GroupInfo,
    groups_info,
    retention_warnings,
    start_position,
)
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.outage import OUTAGE_ERRORS, Outage, reason
from newsmon.scheduler.redis_conn import RedisUnavailable
from newsmon.scheduler.sinks.base import SINK_GROUP_PREFIX
from newsmon.settings.model import Config, FeedSettings

EVENTS = ("new", "duplicate", "updated")


def register(verbs: Verbs, common: argparse.ArgumentParser) -> None:
    add_feed_parser(verbs, [common]).set_defaults(func=cmd_feed)


def cmd_feed(args: argparse.Namespace) -> int:
    """``feed read`` and ``feed groups`` under ``newsmon``: the settings and Redis from the config."""
    config = load_settings(args)
    with redis_for(config) as (client, keys, _url):
        return int(args.feed_handler(args, client, keys, config))


def add_feed_parser(subparsers: Verbs,
                    parents: Sequence[argparse.ArgumentParser] = ()) -> argparse.ArgumentParser:
    """Register ``feed read`` and ``feed groups`` on the top-level CLI's subparsers.

    ``parents`` (e.g. the parser of ``--config`` and ``--log-level``) are given to ``feed`` and
    to both commands, so that those flags are accepted after them too. Returns the ``feed``
    parser.
    """
    feed = subparsers.add_parser(
        "feed", help="read the article feed", description="Read the article feed.",
        parents=list(parents),
    )
    commands = feed.add_subparsers(dest="feed_command", required=True, metavar="COMMAND")
    read = commands.add_parser(
        "read",
        parents=list(parents),
        help="print records as JSON lines, acknowledged for a consumer group",
        description=(
            "Print the records of the article feed as JSON lines (one record per line, as "
            "published), reading through a consumer group: each record is acknowledged for "
            "the group once its line is written. A new group starts at the oldest record "
            "kept (see --from)."
        ),
    )
    read.add_argument("--group", required=True, metavar="NAME",
                      help="the consumer group: letters, digits and . _ : -")
    read.add_argument("--consumer", metavar="NAME",
                      help="this reader's name within the group (default: <host>-<pid>); give a "
                           "fixed one to take up a crashed reader's unacknowledged records at once")
    read.add_argument("--follow", "-f", action="store_true",
                      help="keep waiting for new records (stop with Ctrl-C)")
    read.add_argument("--count", "-n", type=int, metavar="N", help="stop after N records")
    read.add_argument("--from", dest="start", metavar="ID|TIME",
                      help="replay: move the group so that it continues at this stream ID or ISO "
                           "time (UTC unless it names a zone); $ for new records only")
    read.add_argument("--source", action="append", default=[], metavar="NAME",
                      help="print only records of this source (repeatable)")
    read.add_argument("--event", action="append", default=[], choices=EVENTS,
                      help="print only records of this event (repeatable)")
    read.add_argument("--batch", type=int, default=100, metavar="N",
                      help="records read and acknowledged at a time (default 100)")
    read.add_argument("--envelope", action="store_true",
                      help='wrap each record: {"stream_id", "event", "source", "record"}')
    read.set_defaults(feed_handler=run_feed_read)
    groups = commands.add_parser(
        "groups",
        parents=list(parents),
        help="show each consumer group's lag and pending count",
        description="Show the consumer groups of the article feed, and retention warnings.",
    )
    groups.add_argument("--json", action="store_true", help="one JSON object per group")
    groups.set_defaults(feed_handler=run_feed_groups)
    return feed


def _check_args(args: argparse.Namespace) -> None:
    for flag, name in (("--group", args.group), ("--consumer", args.consumer)):
        if name is not None and not NAME_PATTERN.fullmatch(name):
            raise UsageError(f'{flag}: expected letters, digits and . _ : -, got "{name}"')
    if args.group.startswith(SINK_GROUP_PREFIX):
        raise UsageError(f'--group: names starting with "{SINK_GROUP_PREFIX}" belong to the sinks')
    if args.start is not None:
        try:
            start_position(args.start)
        except ValueError as exc:
            raise UsageError(f"--from: {exc}") from None
    for flag, value in (("--count", args.count), ("--batch", args.batch)):
        if value is not None and value < 1:
            raise UsageError(f"{flag}: expected a positive number, got {value}")


def run_feed_read(args: argparse.Namespace, client: redis.Redis, keys: Keys, config: Config,
                  out: TextIO | None = None) -> int:
    """``newsmon feed read``: JSON lines to ``out``, acknowledged once written and flushed.

    Without ``--follow`` it stops when the group has nothing left (and a Redis outage is an
    error); with it, an outage is waited out with a bounded back-off. A closed pipe (``| head``)
    ends it quietly, leaving the unwritten records unacknowledged. The first SIGINT/SIGTERM
    finishes the batch in hand; a second one interrupts. Returns the exit status.

    Raises:
        UsageError: a bad flag value (one line, for exit status 2).
    """
    _check_args(args)
    out = out if out is not None else sys.stdout
    reader = FeedReader(client, keys, args.group, args.consumer, settings=config.feed,
                        from_id=args.start or "0", sources=args.source, events=args.event)
    if args.start is not None and not reader.created:
        reader.seek(args.start)
    remaining: int | None = args.count
    block_ms = int(BLOCK_SLICE * 1000) if args.follow else None
    outage = Outage("the feed reader")
    with _stop_on_signals() as stopping:
        try:
            while not stopping():
                try:
                    items = reader.read(min(args.batch, remaining or args.batch), block_ms)
                except OUTAGE_ERRORS as exc:
                    if not args.follow:
                        raise RedisUnavailable(f"lost Redis while reading the feed: {reason(exc)}") from None
                    _sleep(outage.failed(exc), stopping)
                    continue
                outage.ok()
                if not items:
                    if not args.follow and reader.last_read_count == 0:
                        break
                    continue
                try:
                    out.write("".join(_line(item, args.envelope) for item in items))
                    out.flush()
                except BrokenPipeError:
                    _quiet_stdout(out)
                    return 0
                try:
                    reader.ack(items)
                except OUTAGE_ERRORS as exc:
                    # Written but not acknowledged: delivered again later (at least once).
                    if not args.follow:
                        raise RedisUnavailable(f"lost Redis while reading the feed: {reason(exc)}") from None
                    _sleep(outage.failed(exc), stopping)
                    continue
                if remaining is not None:
                    remaining -= len(items)
                    if remaining <= 0:
                        break
        except KeyboardInterrupt:  # the second signal: stop now, unacknowledged stay pending
            return 130
    return 0


def _sleep(seconds: float, stopping: Callable[[], bool]) -> None:
    """Wait ``seconds``, or less if a signal asks to stop."""
    deadline = time.monotonic() + seconds
    while not stopping() and (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.2))  # a back-off between reconnection attempts, checked for signals


def _line(item: FeedItem, envelope: bool) -> str:
    if envelope:
        wrapped = {"stream_id": item.id, "event": item.event, "source": item.source,
                   "record": item.record}
        return json.dumps(wrapped, ensure_ascii=False, separators=(",", ":")) + "\n"
    return item.line()


def _quiet_stdout(out: TextIO) -> None:
    # The reader of the pipe is gone: point stdout at /dev/null so that the interpreter's
    # final flush does not complain about the broken pipe.
    if out is sys.stdout:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[Callable[[], bool]]:
    """First SIGINT/SIGTERM: ask the loop to stop; second: KeyboardInterrupt."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop.is_set
        return

    def handler(_signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop.is_set
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_feed_groups(args: argparse.Namespace, client: redis.Redis, keys: Keys, config: Config,
                    out: TextIO | None = None, *, err: TextIO | None = None) -> int:
    """``newsmon feed groups``: a table (or JSON lines) of the groups; warnings to ``err``."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    infos = groups_info(client, keys)
    if args.json:
        for info in infos:
            out.write(json.dumps(_group_json(info)) + "\n")
    else:
        out.write(_groups_table(infos))
    for warning in retention_warnings(client, keys, config.feed):
        err.write(f"warning: {warning}\n")
    out.flush()
    return 0


def _group_json(info: GroupInfo) -> dict[str, object]:
    age = info.oldest_unread_age
    return {
        "group": info.name,
        "consumers": info.consumers,
        "pending": info.pending,
        "lag": info.lag,
        "last_delivered": info.last_delivered,
        "oldest_unread": info.oldest_unread,
        "oldest_unread_age_seconds": None if age is None else round(age.total_seconds(), 3),
    }


def _groups_table(infos: list[GroupInfo]) -> str:
    if not infos:
        return "No consumer groups yet.\n"
    rows = [("GROUP", "CONSUMERS", "PENDING", "LAG", "OLDEST UNREAD", "LAST DELIVERED")]
    for info in infos:
        age = info.oldest_unread_age
        rows.append((
            info.name,
            str(info.consumers),
            str(info.pending),
            "?" if info.lag is None else str(info.lag),
            "-" if age is None else _age(age),
            info.last_delivered,
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(width) if 0 < i < 4 else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def _age(age: timedelta) -> str:
    seconds = int(age.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def main(argv: list[str] | None = None) -> int:
    """``python -m newsmon.scheduler.cli.feed --redis-url URL feed read|groups ...``."""
    from newsmon.scheduler.redis_conn import connect

    parser = argparse.ArgumentParser(prog="newsmon")
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--prefix", default="newsmon")
    parser.add_argument("--claim-idle", type=float, default=300.0, metavar="SECONDS")
    add_feed_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    config = Config(sources=(), feed=FeedSettings(claim_idle=timedelta(seconds=args.claim_idle)))
    try:
        client = connect(args.redis_url)
        status: int = args.feed_handler(args, client, Keys(args.prefix), config)
    except (UsageError, RedisUnavailable) as exc:
        error(str(exc))
        # This entry has always exited 1 for an unreachable Redis, where newsmon exits 2.
        return USAGE if isinstance(exc, UsageError) else 1
    return status


if __name__ == "__main__":
    sys.exit(main())
