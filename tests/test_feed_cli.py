"""``newsmon feed read`` and ``feed groups``: output, acknowledgement, replay, errors, pipes."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys

import pytest
import redis

from newsmon.scheduler.cli.feed import UsageError, add_feed_parser, main, run_feed_groups, run_feed_read
from newsmon.scheduler.feed import FeedReader, groups_info
from newsmon.scheduler.keys import Keys
from newsmon.settings.model import Config, Source
from tests.test_feed_support import BASE_MS, make_record, publish, publish_many

CONFIG = Config(sources=tuple(Source(name) for name in ("a", "b", "daily", "example")))


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="newsmon")
    add_feed_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["feed", *argv])


def _read(client: redis.Redis, keys: Keys, *argv: str) -> list[dict[str, object]]:
    out = io.StringIO()
    args = _args("read", *argv)
    assert args.feed_handler(args, client, keys, CONFIG, out) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _group(client: redis.Redis, keys: Keys, name: str) -> tuple[int | None, int]:
    (info,) = [g for g in groups_info(client, keys) if g.name == name]
    return info.lag, info.pending


def test_parser_registers_both_commands() -> None:
    """feed read and feed groups parse their flags and name their handlers."""
    args = _args("read", "--group", "g", "--follow", "-n", "5", "--from", "0",
                 "--source", "a", "--source", "b", "--event", "new", "--batch", "7")
    assert (args.group, args.follow, args.count, args.start) == ("g", True, 5, "0")
    assert (args.source, args.event, args.batch) == (["a", "b"], ["new"], 7)
    assert args.feed_handler is run_feed_read
    assert _args("groups", "--json").feed_handler is run_feed_groups


def test_read_prints_records_verbatim_and_acks(redis_client: redis.Redis, keys: Keys) -> None:
    """Each record is one JSON line, as published; afterwards nothing is left or pending."""
    records = [make_record(i) for i in range(5)]
    raws = []
    for record in records:
        publish(redis_client, keys, record)
        raws.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
    out = io.StringIO()
    args = _args("read", "--group", "g", "--batch", "2")
    assert run_feed_read(args, redis_client, keys, CONFIG, out) == 0
    assert out.getvalue() == "".join(raw + "\n" for raw in raws)
    assert _group(redis_client, keys, "g") == (0, 0)


def test_read_count_stops_without_leaving_pending(redis_client: redis.Redis, keys: Keys) -> None:
    """--count N prints N records and holds none beyond them."""
    publish_many(redis_client, keys, 10)
    lines = _read(redis_client, keys, "--group", "g", "--count", "3", "--batch", "100")
    assert [line["title"] for line in lines] == ["Story 0", "Story 1", "Story 2"]
    assert _group(redis_client, keys, "g") == (7, 0)
    assert [line["title"] for line in _read(redis_client, keys, "--group", "g", "-n", "2")] == [
        "Story 3", "Story 4"]


def test_filters_apply_to_output_and_ack_everything(redis_client: redis.Redis, keys: Keys) -> None:
    """--source and --event select what is printed; the group moves past the rest too."""
    publish(redis_client, keys, make_record(1, source="a"))
    publish(redis_client, keys, make_record(2, source="b"))
    publish(redis_client, keys, make_record(3, source="b", event="updated"))
    lines = _read(redis_client, keys, "--group", "g", "--source", "b", "--event", "new")
    assert [line["title"] for line in lines] == ["Story 2"]
    assert _group(redis_client, keys, "g") == (0, 0)


def test_from_a_time_replays_exactly_what_follows(redis_client: redis.Redis, keys: Keys) -> None:
    """--from TIME on a new group, then on the same group again, prints the records from then."""
    publish_many(redis_client, keys, 6, at_ms=BASE_MS, step_ms=60_000)  # 14:00 .. 14:05
    first = _read(redis_client, keys, "--group", "g", "--from", "2024-01-28T14:03:00Z")
    assert [line["title"] for line in first] == ["Story 3", "Story 4", "Story 5"]
    again = _read(redis_client, keys, "--group", "g", "--from", "2024-01-28T15:01:30+01:00")
    assert [line["title"] for line in again] == ["Story 2", "Story 3", "Story 4", "Story 5"]
    assert _read(redis_client, keys, "--group", "g") == []


def test_envelope_carries_the_stream_id(redis_client: redis.Redis, keys: Keys) -> None:
    """--envelope wraps each record with its stream ID, event and source."""
    stream_id = publish(redis_client, keys, make_record(1, source="daily"))
    (line,) = _read(redis_client, keys, "--group", "g", "--envelope")
    assert line["stream_id"] == stream_id
    assert (line["event"], line["source"]) == ("new", "daily")
    assert line["record"] == make_record(1, source="daily")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--from", "x"],
         '--from: expected a stream ID like 1700000000000-0 or an ISO time, got "x"'),
        (["--from", "last tuesday"],
         '--from: expected a stream ID like 1700000000000-0 or an ISO time, got "last tuesday"'),
        (["--count", "0"], "--count: expected a positive number, got 0"),
        (["--consumer", "me you"], '--consumer: expected letters, digits and . _ : -, got "me you"'),
    ],
)
def test_bad_flags_raise_usage_errors(redis_client: redis.Redis, keys: Keys, argv: list[str],
                                      message: str) -> None:
    """Bad values give one-line UsageErrors, before anything is read."""
    publish_many(redis_client, keys, 1)
    with pytest.raises(UsageError) as caught:
        run_feed_read(_args("read", "--group", "g", *argv), redis_client, keys, CONFIG, io.StringIO())
    assert str(caught.value) == message
    assert groups_info(redis_client, keys) == []


@pytest.mark.parametrize(("group", "message"), [
    ("a b", '--group: expected letters, digits and . _ : -, got "a b"'),
    ("sink:jsonl", '--group: names starting with "sink:" belong to the sinks'),
])
def test_bad_groups_are_refused(redis_client: redis.Redis, keys: Keys, group: str,
                                message: str) -> None:
    """Invalid group names and the sinks' groups are refused."""
    with pytest.raises(UsageError, match="^" + message.replace("(", r"\(") + "$"):
        run_feed_read(_args("read", "--group", group), redis_client, keys, CONFIG, io.StringIO())


def test_main_maps_usage_errors_to_exit_2(redis_url: str, keys: Keys,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """The standalone entry prints 'newsmon: <message>' and returns 2."""
    status = main(["--redis-url", redis_url, "--prefix", keys.prefix, "feed", "read", "--group", "g",
                   "--from", "x"])
    assert status == 2
    assert capsys.readouterr().err == (
        'newsmon: --from: expected a stream ID like 1700000000000-0 or an ISO time, got "x"\n')


class _ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_ends_quietly_without_acking(redis_client: redis.Redis, keys: Keys) -> None:
    """When the output goes away, the command returns 0 and the unwritten stay pending."""
    publish_many(redis_client, keys, 4)
    args = _args("read", "--group", "g")
    assert run_feed_read(args, redis_client, keys, CONFIG, _ClosedPipe()) == 0
    assert _group(redis_client, keys, "g") == (0, 4)


def test_head_closing_the_pipe_in_a_real_process(redis_url: str, redis_client: redis.Redis,
                                                 keys: Keys) -> None:
    """Like `| head -n 3`: exit 0, no traceback, and exactly the unwritten record unacknowledged."""
    publish_many(redis_client, keys, 200)
    process = subprocess.Popen(
        [sys.executable, "-m", "newsmon.scheduler.cli.feed", "--redis-url", redis_url, "--prefix",
         keys.prefix, "feed", "read", "--group", "g", "--batch", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    lines = [process.stdout.readline() for _ in range(3)]
    process.stdout.close()
    assert process.wait(timeout=30) == 0
    assert process.stderr.read() == b""
    process.stderr.close()
    assert [json.loads(line)["title"] for line in lines] == ["Story 0", "Story 1", "Story 2"]
    lag, pending = _group(redis_client, keys, "g")
    assert pending == 1  # the line whose write failed
    assert lag is not None
    assert lag < 197


def test_groups_table_and_json(redis_client: redis.Redis, keys: Keys) -> None:
    """feed groups shows each group's consumers, pending and lag, as a table or JSON lines."""
    ids = publish_many(redis_client, keys, 5)
    reader = FeedReader(redis_client, keys, "analysis", "c")
    reader.read(2)
    FeedReader(redis_client, keys, "later", "c", from_id="$")
    out = io.StringIO()
    assert run_feed_groups(_args("groups"), redis_client, keys, CONFIG, out, err=io.StringIO()) == 0
    header, analysis, later = out.getvalue().splitlines()
    assert header.split() == ["GROUP", "CONSUMERS", "PENDING", "LAG", "OLDEST", "UNREAD", "LAST",
                              "DELIVERED"]
    assert analysis.split()[:4] == ["analysis", "1", "2", "3"]
    assert analysis.split()[-1] == ids[1]
    assert later.split()[:5] == ["later", "1", "0", "0", "-"]
    out = io.StringIO()
    run_feed_groups(_args("groups", "--json"), redis_client, keys, CONFIG, out, err=io.StringIO())
    first = json.loads(out.getvalue().splitlines()[0])
    assert (first["group"], first["pending"], first["lag"], first["oldest_unread"]) == (
        "analysis", 2, 3, ids[0])


def test_groups_prints_retention_warnings(redis_client: redis.Redis, keys: Keys) -> None:
    """A group about to lose entries is reported on stderr."""
    publish_many(redis_client, keys, 2, at_ms=BASE_MS)  # January 2024: long past the retention
    FeedReader(redis_client, keys, "stale", "c")
    err = io.StringIO()
    run_feed_groups(_args("groups"), redis_client, keys, CONFIG, io.StringIO(), err=err)
    assert err.getvalue().startswith('warning: feed group "stale": oldest unread entry')
