"""The daemon over real processes: scheduling, supervision, warm stop, and crash recovery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import redis

from newsmon.scheduler.jobs import JobQueue
from newsmon.scheduler.keys import Keys
from tests.helpers import child_env, children, records, start_newsmon, stop, wait_for, write_config
from tests.newsroom import Newsroom

pytestmark = pytest.mark.slow


@pytest.fixture
def room() -> Newsroom:
    with Newsroom() as newsroom:
        yield newsroom



def _published_urls(client: redis.Redis, keys: Keys) -> Counter[str]:
    return Counter(r["canonical_url"] for r in records(client, keys))


def _all_published(client: redis.Redis, keys: Keys, room: Newsroom) -> bool:
    return set(_published_urls(client, keys)) >= {a.canonical_url for a in room.articles}


def test_run_publishes_an_article_added_to_a_feed_within_two_intervals(
    room: Newsroom, redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """An article that appears in an outlet's feed while the daemon runs is published by one of
    the source's next two polls (counted, not timed); SIGTERM then stops the daemon with exit 0."""
    config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix, interval="4s")
    daemon = start_newsmon("--config", str(config), "run", "--workers", "2", log=tmp_path / "daemon.log")

    def polls() -> int:
        return int(redis_client.hget(keys.source_state("journal-fr"), "polls") or 0)

    try:
        wait_for(lambda: _all_published(redis_client, keys, room), timeout=60, what="the first poll to publish")
        article = room.publish("journal-fr", title="Mer Rouge : un destroyer américain abat trois drones",
                               on_topic=True)
        polls_before = polls()
        wait_for(lambda: article.canonical_url in _published_urls(redis_client, keys), timeout=60,
                 what="the new article")
        # The poll that found it is counted when it ends, at most a moment later: the next one
        # starts an interval after.
        assert polls() <= polls_before + 2
        assert daemon.poll() is None
    finally:
        code = stop(daemon)
    assert code == 0, (tmp_path / "daemon.log").read_text()[-3000:]
    assert max(_published_urls(redis_client, keys).values()) == 1


def test_sigterm_finishes_the_poll_in_flight_and_exits_0(
    room: Newsroom, redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """SIGTERM in the middle of a poll lets it finish: exit 0 and every article of the poll
    published once."""
    config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix, interval="1h",
                          fetch={"delay": "0.3s"})
    daemon = start_newsmon("--config", str(config), "run", "--workers", "1", log=tmp_path / "daemon.log")
    try:
        wait_for(lambda: len(records(redis_client, keys)) >= 2, timeout=60, what="the poll to start publishing")
        assert len(records(redis_client, keys)) < len(room.articles), "the poll ended before the signal"
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=60)  # catches a hang; the stop's duration is not the property
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert code == 0, (tmp_path / "daemon.log").read_text()[-3000:]
    published = _published_urls(redis_client, keys)
    assert set(published) == {a.canonical_url for a in room.articles}
    assert max(published.values()) == 1
    assert JobQueue(redis_client, keys, timedelta(minutes=1)).pending() == 0


def test_worker_killed_mid_poll_loses_and_duplicates_nothing(
    room: Newsroom, redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """A worker killed with SIGKILL in the middle of a poll: another worker claims its jobs after
    the lease, and every article ends up published exactly once."""
    config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix,
                          fetch={"delay": "0.3s"}, scheduler={"job_lease": "2s"})
    queue = JobQueue(redis_client, keys, timedelta(seconds=2))
    for outlet in room.outlets:
        assert queue.enqueue(outlet.name)
    first = start_newsmon("--config", str(config), "worker", "--name", "first", log=tmp_path / "first.log")
    try:
        wait_for(lambda: len(records(redis_client, keys)) >= 2, timeout=60, what="the poll to start publishing")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    before = len(records(redis_client, keys))
    assert before < len(room.articles), "the poll ended before the kill"
    assert queue.pending() == len(room.outlets)

    second = start_newsmon("--config", str(config), "worker", "--name", "second", log=tmp_path / "second.log")
    try:
        wait_for(lambda: _all_published(redis_client, keys, room), timeout=90, what="the claimed jobs to finish")
        wait_for(lambda: queue.pending() == 0, timeout=30, what="the jobs to be acknowledged")
    finally:
        code = stop(second)
    assert code == 0
    published = _published_urls(redis_client, keys)
    assert max(published.values()) == 1
    assert set(published) == {a.canonical_url for a in room.articles}


def test_supervisor_replaces_a_killed_worker_which_resumes_its_jobs(
    room: Newsroom, redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """`newsmon run` restarts a worker killed mid-poll; the replacement takes up the dead worker's
    jobs at once and nothing is lost or published twice."""
    config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix, interval="1h",
                          fetch={"delay": "0.3s"})
    daemon = start_newsmon("--config", str(config), "run", "--workers", "1", log=tmp_path / "daemon.log")
    try:
        wait_for(lambda: len(records(redis_client, keys)) >= 2, timeout=60, what="the poll to start publishing")
        workers = children(daemon.pid)
        assert len(workers) == 1
        os.kill(workers[0], signal.SIGKILL)
        assert len(records(redis_client, keys)) < len(room.articles), "the poll ended before the kill"
        replacement = wait_for(lambda: [p for p in children(daemon.pid) if p != workers[0]],
                               timeout=30, what="a replacement worker")
        assert replacement
        wait_for(lambda: _all_published(redis_client, keys, room), timeout=90, what="the resumed poll")
        assert daemon.poll() is None
    finally:
        code = stop(daemon)
    assert code == 0
    assert max(_published_urls(redis_client, keys).values()) == 1


def test_supervisor_replaces_a_hung_worker(
    room: Newsroom, redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """A worker that stops sending heartbeats (frozen with SIGSTOP) is killed and replaced."""
    config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix, interval="1h",
                          scheduler={"hung_after": "3s"})
    daemon = start_newsmon("--config", str(config), "run", "--workers", "1", log=tmp_path / "daemon.log")
    try:
        wait_for(lambda: _all_published(redis_client, keys, room), timeout=60, what="the first poll")
        [frozen] = children(daemon.pid)
        os.kill(frozen, signal.SIGSTOP)
        wait_for(lambda: [p for p in children(daemon.pid) if p != frozen], timeout=30, what="a replacement worker")
        assert not Path(f"/proc/{frozen}").exists()
        assert "sent no heartbeat" in (tmp_path / "daemon.log").read_text()
    finally:
        code = stop(daemon)
    assert code == 0


def test_supervisor_recycles_a_worker_after_its_crawl_budget(
    room: Newsroom, redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """A worker that has served scheduler.worker_max_polls crawls exits cleanly and is replaced
    at once (this bounds any leak), and polling goes on."""
    config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix, interval="1s",
                          scheduler={"worker_max_polls": 2}, only=["wire-en"])
    daemon = start_newsmon("--config", str(config), "run", "--workers", "1", log=tmp_path / "daemon.log")
    try:
        [first] = wait_for(lambda: children(daemon.pid), timeout=30, what="the first worker")
        wait_for(lambda: [p for p in children(daemon.pid) if p != first], timeout=60, what="a recycled worker")
        polls = int(redis_client.hget(keys.source_state("wire-en"), "polls") or 0)
        wait_for(lambda: int(redis_client.hget(keys.source_state("wire-en"), "polls") or 0) > polls,
                 timeout=30, what="the replacement to poll")
        log = (tmp_path / "daemon.log").read_text()
        assert "recycled after its crawl budget" in log
        assert "died" not in log
    finally:
        code = stop(daemon)
    assert code == 0


def _shadowing_folder(tmp_path: Path) -> Path:
    """A working directory whose ``newsmon/`` package would break any process that imports it."""
    cwd = tmp_path / "cwd"
    for name in ("newsmon", "crawler", "scheduler", "settings"):
        (cwd / name).mkdir(parents=True)
        (cwd / name / "__init__.py").write_text(f"raise ImportError('the {name}/ folder of the working directory')\n")
    return cwd


def test_run_publishes_whatever_the_working_directory(
    room: Newsroom, redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """Started from a directory holding folders named like newsmon's packages (as a source
    checkout does), the installed console script's workers start and publish."""
    config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix, interval="1h")
    script = Path(sys.executable).with_name("newsmon")
    with open(tmp_path / "daemon.log", "w") as log:
        daemon = subprocess.Popen([str(script), "--config", str(config), "run", "--workers", "1"],
                                  cwd=_shadowing_folder(tmp_path), stdout=log, stderr=subprocess.STDOUT,
                                  env=child_env())
    try:
        wait_for(lambda: _all_published(redis_client, keys, room) or daemon.poll() is not None,
                 timeout=60, what="the first poll")
        assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()[-3000:]
    finally:
        code = stop(daemon)
    assert code == 0
    assert "working directory" not in (tmp_path / "daemon.log").read_text()


def test_run_gives_up_when_every_worker_dies_at_start(
    room: Newsroom, redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """When the install breaks under a running daemon, so that every new worker dies at start,
    run does not restart them forever: it exits 1 with one line naming the workers' error."""
    config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix, interval="1h")
    late = tmp_path / "late"  # on PYTHONPATH ahead of the install; empty while the daemon starts
    late.mkdir()
    daemon = start_newsmon("--config", str(config), "run", "--workers", "2", log=tmp_path / "daemon.log",
                           env=child_env(PYTHONPATH=str(late)))
    try:
        workers = wait_for(lambda: len(children(daemon.pid)) == 2 and children(daemon.pid),
                           timeout=30, what="two workers")
        wait_for(lambda: _all_published(redis_client, keys, room), timeout=60, what="the first poll")
        (late / "newsmon").mkdir()
        (late / "newsmon" / "__init__.py").write_text("raise ImportError('newsmon is broken here')\n")
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        code = daemon.wait(timeout=120)
    finally:
        stop(daemon)
    log = (tmp_path / "daemon.log").read_text()
    assert code == 1, log[-3000:]
    [line] = [ln for ln in log.splitlines() if "every worker exited" in ln]
    assert "newsmon is broken here" in line
