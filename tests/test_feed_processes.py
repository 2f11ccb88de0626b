"""The feed over real processes: shared groups, independent groups, a killed consumer, replay."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import redis

from newsmon.scheduler.feed import groups_info, parse_stream_id
from newsmon.scheduler.keys import Keys
from tests.test_feed_support import BASE_MS, publish_many, wait_for

pytestmark = pytest.mark.slow

SUPPORT = Path(__file__).with_name("test_feed_support.py")


class Consumer:
    """A consumer process driven line by line (see test_feed_support._consume)."""

    def __init__(self, redis_url: str, keys: Keys, group: str, name: str, *extra: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SUPPORT), "consume", "--url", redis_url, "--prefix", keys.prefix,
             "--group", group, "--consumer", name, *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert json.loads(self._line()) == {"ready": True}

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, f"consumer exited with {self.process.wait(timeout=10)}"
        return line

    def read(self, count: int) -> list[str]:
        assert self.process.stdin is not None
        self.process.stdin.write(f"read {count}\n")
        self.process.stdin.flush()
        ids: list[str] = json.loads(self._line())["ids"]
        return ids

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            self.process.wait(timeout=10)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None and not stream.closed:
                stream.close()


class Follower:
    """``feed read --follow`` in a process, its output lines collected by a thread."""

    def __init__(self, redis_url: str, keys: Keys, *argv: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "newsmon.scheduler.cli.feed", "--redis-url", redis_url,
             "--prefix", keys.prefix, "--claim-idle", "0.1", "feed", "read", "--follow", *argv],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.lines: list[dict[str, Any]] = []
        self.result: tuple[int, str] | None = None
        self._terminated = False
        assert self.process.stdout is not None
        self._thread = threading.Thread(target=self._collect, args=(self.process.stdout,))
        self._thread.start()

    def _collect(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(json.loads(line))

    def terminate(self) -> None:
        """Send one SIGTERM (a second would be the cold stop)."""
        if not self._terminated and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self._terminated = True

    def stop(self) -> tuple[int, str]:
        """SIGTERM, then the exit status and what it wrote to stderr."""
        if self.result is None:
            self.terminate()
            status = self.process.wait(timeout=15)
            self._thread.join(timeout=10)
            assert self.process.stderr is not None
            assert self.process.stdout is not None
            self.result = (status, self.process.stderr.read())
            self.process.stderr.close()
            self.process.stdout.close()
        return self.result


@pytest.fixture
def spawn(redis_url: str, keys: Keys) -> Iterator[list[Any]]:
    started: list[Any] = []
    yield started
    for thing in started:
        if thing.process.poll() is None:
            thing.process.kill()
            thing.process.wait(timeout=10)
        if isinstance(thing, Consumer):
            thing.close()
        elif isinstance(thing, Follower):
            thing.stop()


def _group_done(client: redis.Redis, keys: Keys, name: str) -> bool:
    infos = [g for g in groups_info(client, keys) if g.name == name]
    return bool(infos) and infos[0].lag == 0 and infos[0].pending == 0


def test_two_consumers_in_one_group_share_the_records(redis_url: str, redis_client: redis.Redis,
                                                      keys: Keys, spawn: list[Any]) -> None:
    """Two consumer processes of one group, reading in turn, each get distinct records."""
    ids = publish_many(redis_client, keys, 50)
    a = Consumer(redis_url, keys, "g", "a")
    b = Consumer(redis_url, keys, "g", "b")
    spawn += [a, b]
    got_a: list[str] = []
    got_b: list[str] = []
    while True:
        batch_a, batch_b = a.read(7), b.read(5)
        if not batch_a and not batch_b:
            break
        got_a += batch_a
        got_b += batch_b
    assert not set(got_a) & set(got_b)
    assert sorted(got_a + got_b, key=parse_stream_id) == ids
    assert (len(got_a), len(got_b)) == (30, 20)


def test_followers_share_within_a_group_and_groups_get_everything(
    redis_url: str, redis_client: redis.Redis, keys: Keys, spawn: list[Any]
) -> None:
    """Two `feed read --follow` per group: within a group no record twice; each group all."""
    followers = [Follower(redis_url, keys, "--group", group, "--batch", "10", "--from", "$")
                 for group in ("one", "one", "two", "two")]
    spawn += followers
    wait_for(lambda: {g.name: g.consumers for g in groups_info(redis_client, keys)}
             == {"one": 2, "two": 2}, what="the followers to join their groups")
    ids = publish_many(redis_client, keys, 300, sources=("a", "b", "c"))
    titles = {f"Story {i}" for i in range(300)}
    wait_for(lambda: _group_done(redis_client, keys, "one") and _group_done(redis_client, keys, "two"),
             what="both groups to read everything")
    for follower in followers:
        follower.terminate()
    results = [follower.stop() for follower in followers]
    assert results == [(0, "")] * 4
    for pair in (followers[:2], followers[2:]):
        first, second = ({line["title"] for line in f.lines} for f in pair)
        assert len(pair[0].lines) + len(pair[1].lines) == len(ids)
        assert not first & second
        assert first | second == titles


def test_a_killed_consumers_batch_is_redelivered(redis_url: str, redis_client: redis.Redis,
                                                 keys: Keys, spawn: list[Any]) -> None:
    """A consumer SIGKILLed holding an unacknowledged batch: another consumer gets it after
    claim_idle, and the group ends up with every record acknowledged once."""
    ids = publish_many(redis_client, keys, 40)
    victim = Consumer(redis_url, keys, "g", "victim", "--no-ack")
    spawn.append(victim)
    batch = victim.read(10)
    assert batch == ids[:10]
    victim.process.kill()
    victim.process.wait(timeout=10)
    survivor = Consumer(redis_url, keys, "g", "survivor", "--claim-idle-ms", "100")
    spawn.append(survivor)
    got: list[str] = []

    def everything() -> bool:
        got.extend(survivor.read(15))
        return set(got) == set(ids)

    wait_for(everything, what="the killed consumer's batch to be claimed")
    assert sorted(got, key=parse_stream_id) == ids  # each exactly once
    assert _group_done(redis_client, keys, "g")


def test_a_restarted_consumer_resumes_its_batch_at_once(redis_url: str, redis_client: redis.Redis,
                                                        keys: Keys, spawn: list[Any]) -> None:
    """Restarted under its name, a killed consumer gets its own batch first, without waiting for
    claim_idle; one record per read, since it failed holding them all."""
    ids = publish_many(redis_client, keys, 12)
    first = Consumer(redis_url, keys, "g", "worker", "--no-ack", "--claim-idle-ms", "3600000")
    spawn.append(first)
    assert first.read(5) == ids[:5]
    first.process.kill()
    first.process.wait(timeout=10)
    again = Consumer(redis_url, keys, "g", "worker", "--claim-idle-ms", "3600000")
    spawn.append(again)
    assert [again.read(100) for _ in range(5)] == [[i] for i in ids[:5]]
    assert again.read(100) == ids[5:]


def test_replay_from_a_time_in_a_process(redis_url: str, redis_client: redis.Redis,
                                         keys: Keys) -> None:
    """`feed read --from TIME` prints exactly the records published at or after that time."""
    publish_many(redis_client, keys, 20, at_ms=BASE_MS, step_ms=1000)
    done = subprocess.run(
        [sys.executable, "-m", "newsmon.scheduler.cli.feed", "--redis-url", redis_url, "--prefix",
         keys.prefix, "feed", "read", "--group", "replay", "--from", "2024-01-28T14:00:12Z"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    titles = [json.loads(line)["title"] for line in done.stdout.splitlines()]
    assert titles == [f"Story {i}" for i in range(12, 20)]


def test_bad_from_in_a_process(redis_url: str, keys: Keys) -> None:
    """A bad --from gives one line on stderr and exit status 2."""
    done = subprocess.run(
        [sys.executable, "-m", "newsmon.scheduler.cli.feed", "--redis-url", redis_url, "--prefix",
         keys.prefix, "feed", "read", "--group", "g", "--from", "x"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 2
    assert done.stderr == (
        'newsmon: --from: expected a stream ID like 1700000000000-0 or an ISO time, got "x"\n')
    assert done.stdout == ""
