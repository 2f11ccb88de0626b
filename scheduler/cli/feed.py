"""``newsmon feed read|groups|dead``: the feed for people and shell pipelines.

``feed read`` prints records; ``feed groups`` lists the consumer groups and ``feed groups
delete`` removes one; ``feed dead list|requeue|drop`` handles a group's dead letters.

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
import errno
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import TextIO

import redis

from newsmon.scheduler.cli.common import USAGE, UsageError, Verbs, error, load_settings, redis_for
from newsmon.scheduler.feed import (
    BLOCK_SLICE,
    NAME_PATTERN,
    SINK_GROUP_PREFIX,
    FeedItem,
    FeedReader,
    GroupInfo,
    UnknownDeadLetters,
    delete_group,
    drop,
    groups_info,
    id_time,
    list_dead,
    requeue,
    retention_warnings,
    start_position,
)
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.outage import OUTAGE_ERRORS, Outage, reason
from newsmon.scheduler.redis_conn import RedisUnavailable
from newsmon.settings.model import Config, FeedSettings, Source

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
                      help="print only records of this configured source (repeatable); the "
                           "group's other records are acknowledged")
    read.add_argument("--event", action="append", default=[], metavar="EVENT",
                      help="print only records of this event: new, duplicate, updated (repeatable)")
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
    group_commands = groups.add_subparsers(dest="groups_command", metavar="COMMAND")
    delete = group_commands.add_parser(
        "delete", parents=list(parents), help="delete a consumer group",
        description="Delete a consumer group, with its pending records, dead letters and requeued "
                    "records. Its position is lost: created again, it starts at the oldest record.",
    )
    delete.add_argument("--group", required=True, metavar="NAME", help="the consumer group to delete")
    delete.set_defaults(feed_handler=run_feed_groups_delete)
    _add_dead_parser(commands, parents)
    return feed


def _add_dead_parser(commands: Verbs, parents: Sequence[argparse.ArgumentParser]) -> None:
    dead = commands.add_parser(
        "dead", parents=list(parents), help="a group's dead letters: list, requeue, drop",
        description="The records a consumer group gave up on: malformed entries, and records its "
                    "consumers kept failing on (or a sink kept refusing).",
    )
    verbs = dead.add_subparsers(dest="dead_command", required=True, metavar="COMMAND")
    listing = verbs.add_parser("list", parents=list(parents), help="list the dead letters, oldest first")
    listing.add_argument("--group", required=True, metavar="NAME", help="the consumer group")
    listing.add_argument("--json", action="store_true", help="print each dead letter as stored (JSON)")
    listing.set_defaults(feed_handler=run_feed_dead_list)
    for name, handler, text in (
        ("requeue", run_feed_dead_requeue,
         "give dead letters back to their group: its readers deliver them again (to it only)"),
        ("drop", run_feed_dead_drop, "delete dead letters"),
    ):
        verb = verbs.add_parser(name, parents=list(parents), help=text, description=text[0].upper() + text[1:] + ".")
        verb.add_argument("--group", required=True, metavar="NAME", help="the consumer group")
        which = verb.add_mutually_exclusive_group(required=True)
        which.add_argument("--id", dest="ids", action="append", metavar="STREAM_ID",
                           help="the dead letter of this stream entry (repeatable)")
        which.add_argument("--all", action="store_true", help="every dead letter of the group")
        verb.set_defaults(feed_handler=handler)


def _check_group(group: str, *, sinks: bool = False) -> None:
    if not NAME_PATTERN.fullmatch(group):
        raise UsageError(f'--group: expected letters, digits and . _ : -, got "{group}"')
    if not sinks and group.startswith(SINK_GROUP_PREFIX):
        raise UsageError(f'--group: names starting with "{SINK_GROUP_PREFIX}" belong to the sinks')


def _check_args(args: argparse.Namespace, config: Config) -> None:
    """Every flag of ``feed read``, checked before the group is created, moved or read."""
    _check_group(args.group)
    if args.consumer is not None and not NAME_PATTERN.fullmatch(args.consumer):
        raise UsageError(f'--consumer: expected letters, digits and . _ : -, got "{args.consumer}"')
    if args.start is not None:
        try:
            position = start_position(args.start)
        except ValueError as exc:
            raise UsageError(f"--from: {exc}") from None
        if position not in ("$", "0") and id_time(position) >= datetime.now(UTC):
            raise UsageError(f'--from: "{args.start}" is in the future; nothing could be read from there')
    # A value no record can carry would acknowledge the whole group and print nothing.
    _check_values("--event", args.event, EVENTS, "events")
    _check_values("--source", args.source, _source_names(config.sources), "sources configured")
    for flag, value in (("--count", args.count), ("--batch", args.batch)):
        if value is not None and value < 1:
            raise UsageError(f"{flag}: expected a positive number, got {value}")


def _source_names(sources: Sequence[Source]) -> tuple[str, ...]:
    return tuple(source.name for source in sources)


def _check_values(flag: str, given: Sequence[str], accepted: Sequence[str], what: str) -> None:
    unknown = [value for value in given if value not in accepted]
    if unknown:
        choices = ", ".join(accepted) if accepted else "none"
        raise UsageError(f'{flag}: unknown value "{unknown[0]}"; {what}: {choices}')


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
    _check_args(args, config)
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
                written, closed = _write(out, items, args.envelope)
                try:
                    reader.ack(written)
                except OUTAGE_ERRORS as exc:
                    # Written but not acknowledged: delivered again later (at least once).
                    if not args.follow or closed:
                        raise RedisUnavailable(f"lost Redis while reading the feed: {reason(exc)}") from None
                    _sleep(outage.failed(exc), stopping)
                    continue
                if closed:
                    _quiet_stdout(out)
                    break
                if remaining is not None:
                    remaining -= len(items)
                    if remaining <= 0:
                        break
        except KeyboardInterrupt:  # the second signal: stop now, unacknowledged stay pending
            reader.close()
            return 130
    reader.close()
    return 0


def _sleep(seconds: float, stopping: Callable[[], bool]) -> None:
    """Wait ``seconds``, or less if a signal asks to stop."""
    deadline = time.monotonic() + seconds
    while not stopping() and (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.2))  # a back-off between reconnection attempts, checked for signals


def _write(out: TextIO, items: list[FeedItem], envelope: bool) -> tuple[list[FeedItem], bool]:
    """Write and flush ``items`` one by one; return those the OS accepted, and whether the
    output went away (a closed pipe), in which case the rest is left unwritten."""
    written: list[FeedItem] = []
    for item in items:
        try:
            out.write(_line(item, envelope))
            out.flush()
        except BrokenPipeError:
            return written, True
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                return written, True
            raise
        written.append(item)
    return written, False


def _line(item: FeedItem, envelope: bool) -> str:
    if envelope:
        wrapped = {"stream_id": item.id, "event": item.event, "source": item.source,
                   "record": item.record}
        return json.dumps(wrapped, ensure_ascii=False, separators=(",", ":")) + "\n"
    return item.line()


def _quiet_stdout(out: TextIO) -> None:
    # The reader of the pipe is gone: point stdout at /dev/null so that the interpreter's
    # final flush does not complain about the broken pipe (as the signal module's docs advise).
    # Whatever is still in the buffer was not acknowledged: it is dropped, not lost.
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


def run_feed_groups_delete(args: argparse.Namespace, client: redis.Redis, keys: Keys, config: Config,
                           out: TextIO | None = None) -> int:
    """``newsmon feed groups delete --group NAME``.

    Raises:
        UsageError: no such group.
    """
    out = out if out is not None else sys.stdout
    _check_group(args.group, sinks=True)
    if not delete_group(client, keys, args.group):
        raise UsageError(f'--group: no consumer group "{args.group}"')
    out.write(f'Deleted group "{args.group}".\n')
    out.flush()
    return 0


def run_feed_dead_list(args: argparse.Namespace, client: redis.Redis, keys: Keys, config: Config,
                       out: TextIO | None = None) -> int:
    """``newsmon feed dead list --group NAME [--json]``: oldest entry first."""
    out = out if out is not None else sys.stdout
    _check_group(args.group, sinks=True)
    letters = list_dead(client, keys, args.group)
    if args.json:
        out.writelines(json.dumps(letter, ensure_ascii=False) + "\n" for letter in letters)
    elif not letters:
        out.write(f'No dead letters for group "{args.group}".\n')
    else:
        rows = [("STREAM ID", "FAILED AT", "DELIVERIES", "REASON")]
        for letter in letters:
            rows.append((str(letter.get("stream_id")), str(letter.get("failed_at", "-")),
                         str(letter.get("deliveries", letter.get("attempts", "-"))),
                         str(letter.get("error", "-"))))
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        out.writelines("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[3]])
                       .rstrip() + "\n" for row in rows)
    out.flush()
    return 0


def run_feed_dead_requeue(args: argparse.Namespace, client: redis.Redis, keys: Keys, config: Config,
                          out: TextIO | None = None) -> int:
    """``newsmon feed dead requeue --group NAME --id ID... | --all``."""
    return _dead_change(args, client, keys, out, change=requeue, done="Requeued")


def run_feed_dead_drop(args: argparse.Namespace, client: redis.Redis, keys: Keys, config: Config,
                       out: TextIO | None = None) -> int:
    """``newsmon feed dead drop --group NAME --id ID... | --all``."""
    return _dead_change(args, client, keys, out, change=drop, done="Dropped")


def _dead_change(args: argparse.Namespace, client: redis.Redis, keys: Keys, out: TextIO | None, *,
                 change: Callable[[redis.Redis, Keys, str, list[str] | None], int], done: str) -> int:
    out = out if out is not None else sys.stdout
    _check_group(args.group, sinks=True)
    try:
        count = change(client, keys, args.group, None if args.all else args.ids)
    except UnknownDeadLetters as exc:
        raise UsageError(str(exc)) from None
    out.write(f'{done} {count} dead letter{"" if count == 1 else "s"} of group "{args.group}".\n')
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
    parser.add_argument("--redis-url", required=True, help="the Redis server")
    parser.add_argument("--prefix", default="newsmon", help="the key prefix (default newsmon)")
    parser.add_argument("--claim-idle", type=float, default=300.0, metavar="SECONDS",
                        help="take over records another reader held this long (default 300)")
    parser.add_argument("--max-deliveries", type=int, default=10, metavar="N",
                        help="dead-letter a record delivered this many times (default 10)")
    parser.add_argument("--sources", default="", metavar="A,B,...",
                        help="the configured source names (what --source accepts)")
    add_feed_parser(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    args = parser.parse_args(argv)
    sources = tuple(Source(name=name)
                    for name in args.sources.split(",") if name)
    config = Config(sources=sources, feed=FeedSettings(claim_idle=timedelta(seconds=args.claim_idle),
                                                       max_deliveries=args.max_deliveries))
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
