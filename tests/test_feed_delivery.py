"""The feed's delivery promises over real processes and a real Redis (docs/feed.md, "Delivery"):
acknowledged means written, a typo never consumes a group, poison is isolated on first sight,
restarts blame nothing, and dead letters can be listed, requeued and dropped."""

from __future__ import annotations

import fcntl
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from newsmon.scheduler.cli.feed import run_feed_dead_list
from newsmon.scheduler.feed import FeedReader, groups_info, list_dead
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.sinks import JsonlFileSink, SinkRunner
from newsmon.settings.model import Config, FeedSettings
from tests.helpers import run_newsmon, write_config
from tests.newsroom import Newsroom
from tests.test_feed_support import make_record, publish, publish_many

pytestmark = pytest.mark.slow

F_SETPIPE_SZ = 1031  # Linux: resize a pipe's buffer (fcntl.F_SETPIPE_SZ from Python 3.10 on)
BIG_TEXT = "x" * 6000  # a record larger than the smallest pipe buffer, so few fit in it


def _feed(redis_url: str, keys: Keys, *argv: str, sources: str = "example,a,b",
          max_deliveries: int = 10) -> list[str]:
    return [sys.executable, "-m", "newsmon.scheduler.cli.feed", "--redis-url", redis_url,
            "--prefix", keys.prefix, "--sources", sources, "--max-deliveries", str(max_deliveries),
            "feed", *argv]


def _publish_big(client: redis.Redis, keys: Keys, count: int, start: int = 0) -> list[str]:
    ids = []
    for n in range(start, start + count):
        record = make_record(n)
        record["text"] = BIG_TEXT
        ids.append(publish(client, keys, record))
    return ids


def _unacked(client: redis.Redis, keys: Keys, group: str, ids: list[str]) -> set[str]:
    """The IDs among ``ids`` the group has not acknowledged (pending, or not delivered yet)."""
    (info,) = [g for g in groups_info(client, keys) if g.name == group]
    pending = {p["message_id"].decode() for p in client.xpending_range(keys.articles, group, "-", "+", 10_000)}
    last = tuple(map(int, info.last_delivered.split("-")))
    return {i for i in ids if i in pending or tuple(map(int, i.split("-"))) > last}


def _read_into_head(redis_url: str, keys: Keys, *argv: str, lines: int = 2,
                    max_deliveries: int = 10) -> tuple[int, bytes, bytes]:
    """``feed read ARGV | head -n LINES`` over a real pipe with a one-page buffer; returns the
    reader's exit status and stderr, and what head printed."""
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, F_SETPIPE_SZ, 4096)
    feed = subprocess.Popen(_feed(redis_url, keys, "read", *argv, max_deliveries=max_deliveries),
                            stdout=write_end, stderr=subprocess.PIPE)
    head = subprocess.Popen(["head", "-n", str(lines)], stdin=read_end, stdout=subprocess.PIPE)
    os.close(read_end)
    os.close(write_end)
    printed, _ = head.communicate(timeout=60)
    _, err = feed.communicate(timeout=60)
    return feed.returncode, err, printed


def test_head_closing_the_pipe_leaves_the_unwritten_records_pending(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    """`feed read | head -n 2` on a 40-record batch: exit 0, nothing on stderr, and every record
    the OS did not accept (at least half of them) stays unacknowledged for the group."""
    ids = _publish_big(redis_client, keys, 40)
    status, err, printed = _read_into_head(redis_url, keys, "--group", "g", "--batch", "40")
    assert (status, err) == (0, b"")
    assert [json.loads(line)["title"] for line in printed.splitlines()] == ["Story 0", "Story 1"]
    unacked = _unacked(redis_client, keys, "g", ids)
    assert len(unacked) >= 20
    assert unacked == set(ids[40 - len(unacked):])  # acknowledged: a prefix, the written ones
    assert ids[0] not in unacked


@pytest.mark.parametrize(("argv", "message"), [
    (["--source", "nosuch"],
     'newsmon: --source: unknown value "nosuch"; sources configured: example, a, b\n'),
    (["--event", "nosuch"],
     'newsmon: --event: unknown value "nosuch"; events: new, duplicate, updated\n'),
    (["--from", "2999-01-01"],
     'newsmon: --from: "2999-01-01" is in the future; nothing could be read from there\n'),
    (["--from", "32503680000000-0"],
     'newsmon: --from: "32503680000000-0" is in the future; nothing could be read from there\n'),
])
@pytest.mark.parametrize("existing", [False, True])
def test_a_typo_never_consumes_a_group(redis_url: str, redis_client: redis.Redis, keys: Keys,
                                       argv: list[str], message: str, existing: bool) -> None:
    """An unknown --source or --event, or a --from in the future: exit 2, one line naming the
    value and the accepted ones, and the group is as it was (not created, nothing acknowledged)."""
    publish_many(redis_client, keys, 5)
    if existing:
        FeedReader(redis_client, keys, "g", "c").read(2)
    before = _state(redis_client, keys)
    done = subprocess.run(_feed(redis_url, keys, "read", "--group", "g", *argv),
                          capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stderr, done.stdout) == (2, message, "")
    assert _state(redis_client, keys) == before


def _state(client: redis.Redis, keys: Keys) -> list[tuple[Any, ...]]:
    return [(g.name, g.consumers, g.pending, g.lag, g.last_delivered, g.oldest_unread)
            for g in groups_info(client, keys)]


def test_a_malformed_entry_is_dead_lettered_and_the_batch_printed(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    """One non-JSON entry among 40 valid ones: all 40 printed, only JSON on stdout, the bad one
    named on stderr by its stream ID and dead-lettered, exit 0, nothing left pending."""
    publish_many(redis_client, keys, 20)
    bad = redis_client.xadd(keys.articles, {"id": "x", "event": "new", "source": "example",
                                            "record": "not json at all"}).decode()
    publish_many(redis_client, keys, 20, start=20)
    done = subprocess.run(_feed(redis_url, keys, "read", "--group", "g", "--batch", "100"),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0
    assert [json.loads(line)["title"] for line in done.stdout.splitlines()] == [f"Story {i}" for i in range(40)]
    assert "not json at all" not in done.stdout
    (warning,) = done.stderr.splitlines()
    assert bad in warning
    assert "dead-lettered" in warning
    assert [letter["stream_id"] for letter in list_dead(redis_client, keys, "g")] == [bad]
    (info,) = groups_info(redis_client, keys)
    assert (info.lag, info.pending) == (0, 0)


def test_a_malformed_entry_does_not_hold_up_the_jsonl_sink(redis_client: redis.Redis, keys: Keys,
                                                           tmp_path: Path) -> None:
    """Through the JSON Lines sink: the 40 valid records are written, only JSON lines, and the
    bad entry goes alone to the sink's dead letters on its first drain."""
    publish_many(redis_client, keys, 20)
    bad = redis_client.xadd(keys.articles, {"id": "x", "event": "new", "source": "example",
                                            "record": "{broken"}).decode()
    publish_many(redis_client, keys, 20, start=20)
    sink = JsonlFileSink(tmp_path / "feed")
    runner = SinkRunner(redis_client, keys, [sink], FeedSettings())
    assert runner.drain_once() == 40
    lines = [line for path in sorted((tmp_path / "feed").glob("*.jsonl"))
             for line in path.read_text("utf-8").splitlines()]
    assert [json.loads(line)["title"] for line in lines] == [f"Story {i}" for i in range(40)]
    assert [letter["stream_id"] for letter in list_dead(redis_client, keys, sink.group)] == [bad]
    assert runner.drain_once() == 0


@pytest.fixture(scope="module")
def room() -> Iterator[Newsroom]:
    with Newsroom() as newsroom:
        yield newsroom


def test_newsmon_crawl_drains_past_a_malformed_entry(room: Newsroom, redis_url: str, redis_prefix: str,
                                                     redis_client: redis.Redis, keys: Keys,
                                                     tmp_path: Path) -> None:
    """`newsmon crawl` with a malformed entry in the stream exits 0, without a traceback; its
    JSON Lines files hold every valid record and only JSON; the bad entry is dead-lettered."""
    publish_many(redis_client, keys, 3)
    bad = redis_client.xadd(keys.articles, {"id": "x", "event": "new", "source": "example",
                                            "record": '"a string"'}).decode()
    config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix)
    result = run_newsmon("--config", str(config), "crawl", "--json")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for path in sorted((tmp_path / "var" / "feed").glob("*.jsonl"))
             for line in path.read_text("utf-8").splitlines()]
    published = _valid(redis_client, keys)
    assert [json.loads(line)["id"] for line in lines] == [r["id"] for r in published]
    assert len(published) > 3
    assert [letter["stream_id"] for letter in list_dead(redis_client, keys, "sink:jsonl")] == [bad]


def _valid(client: redis.Redis, keys: Keys) -> list[dict[str, Any]]:
    out = []
    for _id, fields in client.xrange(keys.articles):
        value = json.loads(fields[b"record"])
        if isinstance(value, dict):
            out.append(value)
    return out


def test_restarts_under_the_same_name_dead_letter_nothing(redis_url: str, redis_client: redis.Redis,
                                                          keys: Keys) -> None:
    """A consumer restarted under the same name 5 times, each run leaving records pending (its
    output closed after 2 lines), dead-letters no healthy record even with max_deliveries 2."""
    ids = _publish_big(redis_client, keys, 40)
    for _run in range(5):
        status, err, printed = _read_into_head(redis_url, keys, "--group", "g", "--consumer", "fixed",
                                               "--batch", "10", max_deliveries=2)
        assert (status, err) == (0, b"")
        assert len(printed.splitlines()) == 2
    done = subprocess.run(_feed(redis_url, keys, "read", "--group", "g", "--consumer", "fixed",
                                max_deliveries=2), capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stderr) == (0, "")
    assert list_dead(redis_client, keys, "g") == []
    assert _unacked(redis_client, keys, "g", ids) == set()


def test_a_poison_record_in_a_batch_is_dead_lettered_alone(redis_client: redis.Redis, keys: Keys) -> None:
    """A record that makes its consumer fail, inside batches, is dead-lettered after
    max_deliveries failures; the healthy records of its batches are delivered, none dead."""
    settings = FeedSettings(claim_idle=timedelta(hours=1), max_deliveries=2)
    ids = publish_many(redis_client, keys, 6)
    poison = ids[2]
    delivered: list[str] = []
    for _run in range(10):  # each run "crashes" (no close) when it meets the poison record
        reader = FeedReader(redis_client, keys, "g", "w", settings=settings)
        crashed = False
        while not crashed and (items := reader.read(4)):
            for item in items:
                if item.id == poison:
                    crashed = True
                    break
                delivered.append(item.id)
            else:
                reader.ack(items)
        if not crashed:
            break
    assert [letter["stream_id"] for letter in list_dead(redis_client, keys, "g")] == [poison]
    assert sorted(set(delivered)) == sorted(set(ids) - {poison})
    assert _unacked(redis_client, keys, "g", ids) == set()


def test_dead_letters_list_requeue_and_drop(redis_url: str, redis_client: redis.Redis, keys: Keys) -> None:
    """feed dead list shows a group's dead letters; requeue gives one back to that group only,
    which reads it again under its stream ID; drop deletes them."""
    good = publish_many(redis_client, keys, 2)
    bad = [redis_client.xadd(keys.articles, {"id": "x", "event": "new", "source": "example",
                                             "record": f"bad {n}"}).decode() for n in range(2)]
    FeedReader(redis_client, keys, "g", "c").read(10)
    FeedReader(redis_client, keys, "other", "c").read(10)
    out = io.StringIO()
    args = _args("dead", "list", "--group", "g")
    assert run_feed_dead_list(args, redis_client, keys, Config(sources=()), out) == 0
    assert [line.split()[0] for line in out.getvalue().splitlines()] == ["STREAM", *bad]

    done = subprocess.run(_feed(redis_url, keys, "dead", "requeue", "--group", "g", "--id", bad[0]),
                          capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (0, 'Requeued 1 dead letter of group "g".\n')
    assert [letter["stream_id"] for letter in list_dead(redis_client, keys, "g")] == [bad[1]]
    # Still malformed: read again by its group (and only it), and dead-lettered again.
    reader = FeedReader(redis_client, keys, "g", "c2")
    assert reader.read(10) == []
    assert reader.counters["requeued"] == 1
    assert [letter["stream_id"] for letter in list_dead(redis_client, keys, "g")] == bad
    assert FeedReader(redis_client, keys, "other", "c2").read(10) == []
    assert len(list_dead(redis_client, keys, "other")) == 2

    missing = subprocess.run(_feed(redis_url, keys, "dead", "drop", "--group", "g", "--id", "1-0"),
                             capture_output=True, text=True, timeout=60, check=False)
    assert (missing.returncode, missing.stderr) == (
        2, 'newsmon: group "g" has no dead letter with stream ID 1-0\n')
    dropped = subprocess.run(_feed(redis_url, keys, "dead", "drop", "--group", "g", "--all"),
                             capture_output=True, text=True, timeout=60, check=False)
    assert (dropped.returncode, dropped.stdout) == (0, 'Dropped 2 dead letters of group "g".\n')
    assert list_dead(redis_client, keys, "g") == []
    assert len(good) == 2


def test_a_requeued_record_is_delivered_again_to_its_group(redis_client: redis.Redis, keys: Keys) -> None:
    """A valid record dead-lettered after failures, requeued, is delivered again to its group and
    leaves the requeue once acknowledged."""
    from newsmon.scheduler.feed import requeue

    settings = FeedSettings(claim_idle=timedelta(hours=1), max_deliveries=1)
    (stream_id,) = publish_many(redis_client, keys, 1)
    FeedReader(redis_client, keys, "g", "w", settings=settings).read(1)  # fails holding it alone
    FeedReader(redis_client, keys, "g", "w", settings=settings).read(1)  # ... again: dead
    assert [letter["stream_id"] for letter in list_dead(redis_client, keys, "g")] == [stream_id]
    assert requeue(redis_client, keys, "g") == 1
    reader = FeedReader(redis_client, keys, "g", "w", settings=settings)
    (item,) = reader.read(10)
    assert (item.id, item.record["title"]) == (stream_id, "Story 0")
    assert reader.is_pending(stream_id)
    assert reader.ack([item]) == 1
    assert not reader.is_pending(stream_id)
    assert reader.read(10) == []


def test_groups_delete_round_trip(redis_url: str, redis_client: redis.Redis, keys: Keys) -> None:
    """feed groups delete removes the group with its dead letters; a second delete is an error."""
    publish_many(redis_client, keys, 3)
    redis_client.xadd(keys.articles, {"id": "x", "event": "new", "source": "example", "record": "bad"})
    FeedReader(redis_client, keys, "g", "c").read(10)
    FeedReader(redis_client, keys, "keep", "c").read(10)
    done = subprocess.run(_feed(redis_url, keys, "groups", "delete", "--group", "g"),
                          capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (0, 'Deleted group "g".\n')
    assert [g.name for g in groups_info(redis_client, keys)] == ["keep"]
    assert list_dead(redis_client, keys, "g") == []
    assert len(list_dead(redis_client, keys, "keep")) == 1
    again = subprocess.run(_feed(redis_url, keys, "groups", "delete", "--group", "g"),
                           capture_output=True, text=True, timeout=60, check=False)
    assert (again.returncode, again.stderr) == (2, 'newsmon: --group: no consumer group "g"\n')


def _args(*argv: str) -> Any:
    import argparse

    from newsmon.scheduler.cli.feed import add_feed_parser

    parser = argparse.ArgumentParser(prog="newsmon")
    add_feed_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["feed", *argv])
