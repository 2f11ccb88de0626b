"""Sinks: one contract suite over every sink, the runner (drain, run, retries, dead letters,
leases), the JSON Lines files (rotation, crash recovery) and building sinks from the config."""

from __future__ import annotations

import asyncio
import io
import json
import signal
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import redis

from newsmon.scheduler.feed import FeedItem, FeedReader, check_name, groups_info
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.sinks import (
    Backoff,
    JsonlFileSink,
    Sink,
    SinkError,
    SinkRunner,
    StdoutSink,
    WebhookPoster,
    build_sinks,
)
from newsmon.scheduler.sinks.jsonl import JOURNAL
from newsmon.scheduler.sinks.runner import LeaseLost, _Lease
from newsmon.settings.model import Config, FeedSettings, JsonlSink, SinkSettings, WebhookSink
from tests.test_feed_support import BASE_MS, WebhookServer, make_record, publish_many, wait_for

FAST = Backoff(base=0.001, cap=0.01)
SETTINGS = FeedSettings()
SUPPORT = Path(__file__).with_name("test_feed_support.py")


def _items(client: redis.Redis, keys: Keys, count: int, **kwargs: Any) -> list[FeedItem]:
    publish_many(client, keys, count, **kwargs)
    return FeedReader(client, keys, "contract", "c").read(count)


def _titles(records: Sequence[dict[str, Any]]) -> list[str]:
    return [record["title"] for record in records]


def _done(client: redis.Redis, keys: Keys, sink: Sink) -> bool:
    infos = [g for g in groups_info(client, keys) if g.name == sink.group]
    return bool(infos) and infos[0].lag == 0 and infos[0].pending == 0


# -- the contract every sink keeps ----------------------------------------------------------------
@pytest.fixture(params=["jsonl", "stdout", "webhook"])
def contract(request: pytest.FixtureRequest,
             tmp_path: Path) -> Iterator[tuple[Sink, Callable[[], list[dict[str, Any]]]]]:
    """A sink of each kind, and a function returning the records it has delivered so far."""
    if request.param == "jsonl":
        directory = tmp_path / "feed"
        jsonl = JsonlFileSink(directory)

        def read_files() -> list[dict[str, Any]]:
            return [json.loads(line) for path in sorted(directory.glob("*.jsonl"))
                    for line in path.read_text("utf-8").splitlines()]

        yield jsonl, read_files
    elif request.param == "stdout":
        out = io.StringIO()
        yield StdoutSink(out), lambda: [json.loads(line) for line in out.getvalue().splitlines()]
    else:
        with WebhookServer() as server:
            yield WebhookPoster(WebhookSink(name="contract", url=server.url)), lambda: server.accepted


def test_sink_delivers_in_order(redis_client: redis.Redis, keys: Keys, contract: Any) -> None:
    """Every sink delivers each item's record, unchanged, in the order given."""
    sink, delivered = contract
    items = _items(redis_client, keys, 5, at_ms=BASE_MS, step_ms=3_600_000)
    for start in range(0, 5, sink.chunk_size):
        sink.deliver(items[start:start + sink.chunk_size])
    assert delivered() == [item.record for item in items]


def test_sink_accepts_an_empty_delivery(contract: Any) -> None:
    """Delivering nothing is a no-op for every sink."""
    sink, delivered = contract
    sink.deliver([])
    assert delivered() == []


def test_sink_names_and_groups(contract: Any) -> None:
    """Each sink has a valid name and reads through the group sink:<name>."""
    sink, _ = contract
    assert sink.group == f"sink:{sink.name}"
    assert sink.chunk_size >= 1
    assert check_name(sink.group) == sink.group


def test_sink_drained_by_the_runner(redis_client: redis.Redis, keys: Keys, contract: Any) -> None:
    """Run by drain_once, every sink gets every record once, in stream order."""
    sink, delivered = contract
    publish_many(redis_client, keys, 12)
    runner = SinkRunner(redis_client, keys, [sink], SETTINGS, batch=5, backoff=FAST)
    assert runner.drain_once() == 12
    assert _titles(delivered()) == [f"Story {i}" for i in range(12)]
    assert _done(redis_client, keys, sink)
    assert runner.drain_once() == 0


# -- the runner -------------------------------------------------------------------------------------
class Scripted(Sink):
    """A sink that fails as scripted: ``script`` holds, per deliver call, an exception or None."""

    name = "scripted"
    chunk_size = 3
    max_attempts = 3

    def __init__(self, *script: BaseException | None) -> None:
        self.script: deque[BaseException | None] = deque(script)
        self.delivered: list[str] = []
        self.calls = 0

    def deliver(self, items: Sequence[FeedItem]) -> None:
        self.calls += 1
        failure = self.script.popleft() if self.script else None
        if isinstance(failure, SinkError):
            self.delivered += [item.record["title"] for item in items[: failure.delivered]]
            raise failure
        if failure is not None:
            raise failure
        self.delivered += [item.record["title"] for item in items]


def _stories(*numbers: int) -> list[str]:
    return [f"Story {n}" for n in numbers]


def test_drain_leaves_an_unavailable_sink_for_later(redis_client: redis.Redis, keys: Keys) -> None:
    """An unavailable sink keeps its entries; the next drain delivers them first, in order."""
    publish_many(redis_client, keys, 8)
    sink = Scripted(None, SinkError("down", delivered=1))
    runner = SinkRunner(redis_client, keys, [sink], SETTINGS, batch=100, backoff=FAST)
    assert runner.drain_once() == 4
    assert sink.delivered == _stories(0, 1, 2, 3)
    (info,) = groups_info(redis_client, keys)
    assert (info.lag, info.pending) == (0, 4)
    publish_many(redis_client, keys, 2, start=8)
    assert runner.drain_once() == 6
    assert sink.delivered == _stories(*range(10))
    assert runner.counters["scripted", "unavailable"] == 1


def test_refused_records_go_to_the_dead_letters(redis_client: redis.Redis, keys: Keys) -> None:
    """A record refused max_attempts times is dead-lettered; the others go on, in order."""
    ids = publish_many(redis_client, keys, 6)
    refused = SinkError("HTTP 400", delivered=0, rejected=True)
    sink = Scripted(None, refused, refused, refused)
    runner = SinkRunner(redis_client, keys, [sink], SETTINGS, backoff=FAST)
    assert runner.drain_once() == 5
    assert sink.delivered == _stories(0, 1, 2, 4, 5)
    (letter,) = [json.loads(raw) for raw in redis_client.lrange(keys.dead_letters("scripted"), 0, -1)]
    assert (letter["sink"], letter["stream_id"], letter["attempts"]) == ("scripted", ids[3], 3)
    assert letter["error"] == "HTTP 400"
    assert json.loads(letter["fields"]["record"])["title"] == "Story 3"
    assert _done(redis_client, keys, sink)


def test_dead_letters_are_capped(redis_client: redis.Redis, keys: Keys) -> None:
    """The dead-letter list keeps only the newest dead_letter_cap entries."""
    publish_many(redis_client, keys, 4)
    refused = SinkError("no", rejected=True)
    sink = Scripted(*[refused] * 12)
    sink.chunk_size = 1
    runner = SinkRunner(redis_client, keys, [sink], SETTINGS, backoff=FAST, dead_letter_cap=2)
    assert runner.drain_once() == 0
    letters = [json.loads(raw)["fields"]["id"] for raw in redis_client.lrange(keys.dead_letters("scripted"), 0, -1)]
    assert letters == [make_record(3)["id"], make_record(2)["id"]]


def test_partly_delivered_chunks_ack_what_went(redis_client: redis.Redis, keys: Keys) -> None:
    """When a sink delivered the start of a chunk, only the rest is delivered again."""
    publish_many(redis_client, keys, 3)
    sink = Scripted(SinkError("slow", delivered=2, rejected=True))
    runner = SinkRunner(redis_client, keys, [sink], SETTINGS, backoff=FAST)
    assert runner.drain_once() == 3
    assert sink.delivered == _stories(0, 1, 2)


def test_a_crash_mid_delivery_redelivers_in_order(redis_client: redis.Redis, keys: Keys) -> None:
    """A runner that dies while delivering leaves the chunk pending; the next one resumes it."""
    publish_many(redis_client, keys, 7)
    sink = Scripted(None, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        SinkRunner(redis_client, keys, [sink], SETTINGS, batch=100, backoff=FAST).drain_once()
    assert sink.delivered == _stories(0, 1, 2)
    assert SinkRunner(redis_client, keys, [sink], SETTINGS, backoff=FAST).drain_once() == 4
    assert sink.delivered == _stories(*range(7))


def test_drain_skips_a_sink_another_process_holds(redis_client: redis.Redis, keys: Keys) -> None:
    """While another process holds a sink's lease, drain_once leaves that sink alone."""
    publish_many(redis_client, keys, 3)
    sink = Scripted()
    redis_client.set(keys.sink_lock(sink.name), "someone-else", px=60_000)
    assert SinkRunner(redis_client, keys, [sink], SETTINGS).drain_once() == 0
    assert sink.calls == 0
    redis_client.delete(keys.sink_lock(sink.name))
    assert SinkRunner(redis_client, keys, [sink], SETTINGS).drain_once() == 3
    assert redis_client.exists(keys.sink_lock(sink.name)) == 0


def test_lease_is_exclusive_and_lost_when_taken(redis_client: redis.Redis, keys: Keys) -> None:
    """A lease is held by one holder; renewing a lease someone else took raises LeaseLost."""
    first = _Lease(redis_client, keys.sink_lock("x"), 30)
    second = _Lease(redis_client, keys.sink_lock("x"), 30)
    assert first.acquire()
    assert not second.acquire()
    second.release()  # not its lease: nothing happens
    assert redis_client.get(keys.sink_lock("x")) == first.token.encode()
    redis_client.set(keys.sink_lock("x"), "thief")
    first._due = 0
    with pytest.raises(LeaseLost):
        first.renew_if_due()


def test_runner_refuses_duplicate_names(redis_client: redis.Redis, keys: Keys) -> None:
    """Two sinks with one name would share a group: refused."""
    with pytest.raises(ValueError, match="unique"):
        SinkRunner(redis_client, keys, [Scripted(), Scripted()], SETTINGS)


async def _until(predicate: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)  # polling interval of a bounded condition wait


def test_run_delivers_while_running_and_stops_warm(redis_client: redis.Redis, keys: Keys) -> None:
    """The daemon task delivers records as they are published and returns once stopped."""
    sink = Scripted(None, SinkError("down"), SinkError("down"), SinkError("still down"))
    runner = SinkRunner(redis_client, keys, [sink], SETTINGS, batch=4, backoff=FAST)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.ensure_future(runner.run(stop))
        publish_many(redis_client, keys, 5)
        await _until(lambda: len(sink.delivered) == 5, "the first records")
        publish_many(redis_client, keys, 5, start=5)
        await _until(lambda: len(sink.delivered) == 10, "the later records")
        stop.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    assert sink.delivered == _stories(*range(10))
    assert runner.counters["scripted", "unavailable"] == 3
    assert _done(redis_client, keys, sink)
    assert redis_client.exists(keys.sink_lock(sink.name)) == 0


def test_run_restarts_a_sink_that_crashes(redis_client: redis.Redis, keys: Keys,
                                          caplog: pytest.LogCaptureFixture) -> None:
    """A bug in a sink is logged and the sink restarted; it then delivers everything, in order."""
    sink = Scripted(None, RuntimeError("bug"))
    runner = SinkRunner(redis_client, keys, [sink], SETTINGS, batch=10, backoff=FAST)
    publish_many(redis_client, keys, 6)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.ensure_future(runner.run(stop))
        await _until(lambda: len(sink.delivered) == 6, "the records after the restart")
        stop.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    assert sink.delivered == _stories(*range(6))
    assert runner.counters["scripted", "restarted"] == 1
    assert "Sink scripted failed; restarting" in caplog.text


def test_run_waits_for_a_sink_held_elsewhere(redis_client: redis.Redis, keys: Keys) -> None:
    """The daemon does not deliver a sink another process holds, and takes over once it is free."""
    sink = Scripted()
    redis_client.set(keys.sink_lock(sink.name), "other", px=60_000)
    runner = SinkRunner(redis_client, keys, [sink], SETTINGS, lease=0.3)
    publish_many(redis_client, keys, 2)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.ensure_future(runner.run(stop))
        await _until(lambda: redis_client.xinfo_groups(keys.articles) == [] and sink.calls == 0,
                     "the runner to hold off")
        redis_client.delete(keys.sink_lock(sink.name))
        await _until(lambda: len(sink.delivered) == 2, "the take-over")
        stop.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())


def test_run_without_sinks_just_waits(redis_client: redis.Redis, keys: Keys) -> None:
    """With no sinks, run returns when stopped, and drain_once delivers nothing."""
    runner = SinkRunner(redis_client, keys, [], SETTINGS)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.ensure_future(runner.run(stop))
        stop.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(scenario())
    assert runner.drain_once() == 0


def test_cancelling_run_is_a_cold_stop(redis_client: redis.Redis, keys: Keys) -> None:
    """Cancelling the task returns at once; what was not acknowledged is delivered next time."""
    sink = Scripted(*[SinkError("down")] * 1000)
    runner = SinkRunner(redis_client, keys, [sink], SETTINGS, backoff=Backoff(base=30, cap=30))
    publish_many(redis_client, keys, 3)

    async def scenario() -> None:
        task = asyncio.ensure_future(runner.run(asyncio.Event()))
        await _until(lambda: sink.calls >= 1, "the first attempt")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)

    asyncio.run(scenario())
    assert sink.delivered == []
    (info,) = groups_info(redis_client, keys)
    assert info.pending == 3


# -- JSON Lines files ------------------------------------------------------------------------------
def _lines(directory: Path) -> dict[str, list[str]]:
    return {path.name: [json.loads(line)["title"] for line in path.read_text("utf-8").splitlines()]
            for path in sorted(directory.glob("*.jsonl"))}


def test_jsonl_rotates_daily_by_publication(redis_client: redis.Redis, keys: Keys, tmp_path: Path) -> None:
    """Records land in the file of the UTC day they were published to the stream."""
    midnight = 1_706_486_400_000  # 2024-01-29T00:00:00Z
    publish_many(redis_client, keys, 2, at_ms=midnight - 1, step_ms=1)
    publish_many(redis_client, keys, 1, start=2, at_ms=midnight + 86_400_000)
    sink = JsonlFileSink(tmp_path)
    SinkRunner(redis_client, keys, [sink], SETTINGS).drain_once()
    assert _lines(tmp_path) == {"2024-01-28.jsonl": ["Story 0"], "2024-01-29.jsonl": ["Story 1"],
                                "2024-01-30.jsonl": ["Story 2"]}
    raw = (tmp_path / "2024-01-29.jsonl").read_text("utf-8")
    assert raw == json.dumps(make_record(1), separators=(",", ":")) + "\n"


class _CrashAfterWrite(JsonlFileSink):
    """Writes the chunk, then dies before the runner can acknowledge it."""

    def deliver(self, items: Sequence[FeedItem]) -> None:
        super().deliver(items)
        raise KeyboardInterrupt


def test_jsonl_unacknowledged_chunk_is_not_written_twice(redis_client: redis.Redis, keys: Keys,
                                                         tmp_path: Path) -> None:
    """After a crash between write and acknowledgement, each record is in the file once."""
    publish_many(redis_client, keys, 5, at_ms=BASE_MS)
    with pytest.raises(KeyboardInterrupt):
        SinkRunner(redis_client, keys, [_CrashAfterWrite(tmp_path)], SETTINGS, batch=3).drain_once()
    assert _lines(tmp_path) == {"2024-01-28.jsonl": _stories(0, 1, 2)}
    publish_many(redis_client, keys, 1, start=5, at_ms=BASE_MS + 10_000)
    assert SinkRunner(redis_client, keys, [JsonlFileSink(tmp_path)], SETTINGS, batch=3).drain_once() == 6
    assert _lines(tmp_path) == {"2024-01-28.jsonl": _stories(*range(6))}


def test_jsonl_keeps_an_acknowledged_chunk(redis_client: redis.Redis, keys: Keys, tmp_path: Path) -> None:
    """A journal whose chunk was acknowledged changes nothing at the next start."""
    publish_many(redis_client, keys, 3, at_ms=BASE_MS)
    SinkRunner(redis_client, keys, [JsonlFileSink(tmp_path)], SETTINGS).drain_once()
    assert (tmp_path / JOURNAL).exists()
    publish_many(redis_client, keys, 1, start=3, at_ms=BASE_MS + 10_000)
    SinkRunner(redis_client, keys, [JsonlFileSink(tmp_path)], SETTINGS).drain_once()
    assert _lines(tmp_path) == {"2024-01-28.jsonl": _stories(0, 1, 2, 3)}


def test_jsonl_cuts_a_partial_last_line(redis_client: redis.Redis, keys: Keys, tmp_path: Path) -> None:
    """Without a journal, a partial last line (a crash mid-write) is cut before appending."""
    path = tmp_path / "2024-01-28.jsonl"
    path.write_text(json.dumps(make_record(0)) + "\n" + '{"schema_version": 1, "id": "tru', "utf-8")
    publish_many(redis_client, keys, 1, start=1, at_ms=BASE_MS)
    SinkRunner(redis_client, keys, [JsonlFileSink(tmp_path)], SETTINGS).drain_once()
    assert _lines(tmp_path) == {"2024-01-28.jsonl": _stories(0, 1)}


def test_jsonl_unwritable_directory_keeps_entries(redis_client: redis.Redis, keys: Keys, tmp_path: Path) -> None:
    """When the directory cannot be written, the sink is unavailable and nothing is lost."""
    blocker = tmp_path / "feed"
    blocker.write_text("a file where the directory should be")
    sink = JsonlFileSink(blocker)
    publish_many(redis_client, keys, 2, at_ms=BASE_MS)
    with pytest.raises(SinkError) as caught:
        sink.deliver(FeedReader(redis_client, keys, "x", "c").read(2))
    assert not caught.value.rejected
    assert SinkRunner(redis_client, keys, [sink], SETTINGS).drain_once() == 0
    blocker.unlink()
    assert SinkRunner(redis_client, keys, [sink], SETTINGS).drain_once() == 2


@pytest.mark.slow
def test_jsonl_survives_sigkill(redis_url: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path) -> None:
    """A sink runner SIGKILLed while writing, then restarted: every record in the files once,
    in order, and no partial line."""
    ids = publish_many(redis_client, keys, 3000, at_ms=BASE_MS, step_ms=60_000)  # about two days
    command = [sys.executable, str(SUPPORT), "sinks", "--url", redis_url, "--prefix", keys.prefix,
               "--jsonl", str(tmp_path), "--batch", "7"]

    def lines() -> int:
        return sum(path.read_bytes().count(b"\n") for path in tmp_path.glob("*.jsonl"))

    first = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: lines() >= 500, what="the first lines")
    finally:
        first.kill()
        first.wait(timeout=10)
    second = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: _done(redis_client, keys, JsonlFileSink(tmp_path)), timeout=60,
                 what="the restarted runner to finish")
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=15) == 0
    titles = [title for name in sorted(_lines(tmp_path)) for title in _lines(tmp_path)[name]]
    assert titles == [f"Story {i}" for i in range(len(ids))]
    assert all(path.read_bytes().endswith(b"\n") for path in tmp_path.glob("*.jsonl"))


# -- building sinks ----------------------------------------------------------------------------------
def test_build_sinks_from_config(tmp_path: Path) -> None:
    """The sinks section makes the JSON Lines sink, stdout and each webhook, in that order."""
    config = Config(sources=(), data_dir=tmp_path, sinks=SinkSettings(
        stdout=True,
        webhooks=(WebhookSink(name="a", url="https://hooks.example/a"),
                  WebhookSink(name="b", url="http://127.0.0.1:9/b", secret="x", max_attempts=2))))
    sinks = build_sinks(config)
    assert [sink.name for sink in sinks] == ["jsonl", "stdout", "webhook:a", "webhook:b"]
    jsonl = sinks[0]
    assert isinstance(jsonl, JsonlFileSink)
    assert jsonl.directory == tmp_path / "feed"
    assert sinks[3].max_attempts == 2
    other = Config(sources=(), sinks=SinkSettings(jsonl=JsonlSink(directory=tmp_path / "out")))
    (only,) = build_sinks(other)
    assert isinstance(only, JsonlFileSink)
    assert only.directory == tmp_path / "out"
    assert build_sinks(Config(sources=(), sinks=SinkSettings(jsonl=JsonlSink(enabled=False)))) == []


@pytest.mark.parametrize(("hooks", "message"), [
    ((WebhookSink(name="a", url="https://x.example/"), WebhookSink(name="a", url="https://y.example/")),
     r'sinks.webhooks\[1\].name: "a" is used twice'),
    ((WebhookSink(name="a b", url="https://x.example/"),), r"sinks.webhooks\[0\]: webhook name"),
    ((WebhookSink(name="f", url="file:///etc/passwd"),), r"sinks.webhooks\[0\]: .*expected an http\(s\) URL"),
])
def test_build_sinks_rejects_bad_webhooks(hooks: tuple[WebhookSink, ...], message: str) -> None:
    """Duplicate names, bad names and non-HTTP URLs are configuration errors."""
    with pytest.raises(ValueError, match=message):
        build_sinks(Config(sources=(), sinks=SinkSettings(webhooks=hooks)))


def test_backoff_doubles_up_to_the_cap() -> None:
    """Back-off grows exponentially from base and stops at cap."""
    backoff = Backoff(base=0.5, cap=3)
    assert [backoff.delay(n) for n in range(1, 6)] == [0.5, 1, 2, 3, 3]


def test_stdout_sink_reports_a_closed_stdout() -> None:
    """A closed output makes the stdout sink unavailable rather than losing records."""

    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    with pytest.raises(SinkError, match="cannot write to stdout") as caught:
        StdoutSink(Closed()).deliver([FeedItem("1-0", {"record": "{}"})])
    assert not caught.value.rejected

