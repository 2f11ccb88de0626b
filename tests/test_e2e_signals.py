"""Signals and the one-daemon rule over real processes: `newsmon crawl` and `newsmon run`
stopped by SIGINT and SIGTERM (SIGHUP reloads `run`: tests/test_e2e_reload.py), `newsmon worker`
alone stopped by SIGHUP, and a second daemon on one installation."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis

from newsmon.scheduler.instance import AlreadyRunning, DaemonLock, Holder
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.redis_conn import EmbeddedRedis, connect
from tests.helpers import alive, children, records, run_newsmon, start_newsmon, stop, wait_for, write_config
from tests.newsroom import Newsroom

pytestmark = pytest.mark.slow

#: Catches a hang; how long a stop takes is measured by bench/signals.py, not asserted.
EXIT_TIMEOUT = 60


@pytest.fixture
def room() -> Newsroom:
    with Newsroom() as newsroom:
        yield newsroom


def _embedded_config(tmp_path: Path, room: Newsroom, prefix: str, **extra: Any) -> Path:
    """A config on the embedded Redis under ``tmp_path/var`` (no redis.url)."""
    path = tmp_path / "newsmon.yaml"
    fetch = {"delay": "0s", "timeout": "20s", **extra.pop("fetch", {})}
    path.write_text(room.config_yaml(redis={"prefix": prefix}, data_dir=str(tmp_path / "var"), fetch=fetch,
                                     scheduler={"jitter": "0s"}, **extra))
    return path


def _redis_servers(directory: Path) -> list[int]:
    """PIDs of the redis-server processes working in ``directory`` (the embedded Redis chdirs there)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "comm").read_text().strip() == "redis-server" and \
                    Path(os.readlink(proc / "cwd")) == directory.resolve():
                found.append(int(proc.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found




def _stream(tmp_path: Path, keys: Keys) -> Counter[str]:
    """Canonical URLs in the embedded Redis's article stream; the server is stopped afterwards."""
    embedded = EmbeddedRedis(tmp_path / "var" / "redis")
    client = connect(embedded.acquire())
    try:
        return Counter(r["canonical_url"] for r in records(client, keys))
    finally:
        client.close()
        embedded.stop()


def _start_slow_crawl(tmp_path: Path, room: Newsroom, prefix: str) -> tuple[subprocess.Popen[str], Path]:
    # One request at a time per host, a second apart: the crawl lasts long enough to be
    # interrupted, and few pages are in flight when it is.
    config = _embedded_config(tmp_path, room, prefix, fetch={"delay": "1s", "concurrency": 4,
                                                            "concurrency_per_host": 1})
    log = tmp_path / "crawl.log"
    crawl = start_newsmon("--config", str(config), "crawl", "--json", log=log)
    wait_for(lambda: log.read_text().count("published new") >= 2 or crawl.poll() is not None,
             timeout=EXIT_TIMEOUT, what="the crawl to publish")
    assert crawl.poll() is None, log.read_text()[-3000:]
    return crawl, config


def test_sigint_stops_crawl_warmly_and_the_next_crawl_completes_the_set(
    room: Newsroom, redis_prefix: str, tmp_path: Path
) -> None:
    """SIGINT during `newsmon crawl`: exit 130 with the summary, no traceback, its embedded Redis
    stopped; a second crawl publishes the rest, each article once overall."""
    crawl, config = _start_slow_crawl(tmp_path, room, redis_prefix)
    crawl.send_signal(signal.SIGINT)
    code = crawl.wait(timeout=EXIT_TIMEOUT)
    output = (tmp_path / "crawl.log").read_text()
    assert code == 130, output[-3000:]
    assert "Traceback" not in output
    summary = json.loads(next(line for line in output.splitlines() if line.startswith("{")))
    assert summary["stopped_by"] == "SIGINT"
    first = sum(s["published"] for s in summary["sources"])
    assert 0 < first < len(room.articles), "the crawl ended before the signal"
    assert _redis_servers(tmp_path / "var" / "redis") == []

    second = run_newsmon("--config", str(config), "crawl", "--json")
    assert second.returncode == 0, second.stderr[-3000:]
    assert first + sum(s["published"] for s in json.loads(second.stdout)["sources"]) == len(room.articles)
    assert _redis_servers(tmp_path / "var" / "redis") == []
    published = _stream(tmp_path, Keys(redis_prefix))
    assert set(published) == {a.canonical_url for a in room.articles}
    assert max(published.values()) == 1


def test_sigterm_stops_crawl_warmly_with_the_human_summary(
    room: Newsroom, redis_prefix: str, tmp_path: Path
) -> None:
    """SIGTERM during `newsmon crawl`: exit 143, the human summary says it stopped early, its
    embedded Redis is stopped."""
    config = _embedded_config(tmp_path, room, redis_prefix, fetch={"delay": "1s", "concurrency": 4,
                                                                    "concurrency_per_host": 1})
    log = tmp_path / "crawl.log"
    crawl = start_newsmon("--config", str(config), "crawl", log=log)
    wait_for(lambda: "published new" in log.read_text() or crawl.poll() is not None,
             timeout=EXIT_TIMEOUT, what="the crawl to publish")
    crawl.send_signal(signal.SIGTERM)
    code = crawl.wait(timeout=EXIT_TIMEOUT)
    output = log.read_text()
    assert code == 143, output[-3000:]
    assert "Traceback" not in output
    assert "stopped early by SIGTERM" in output
    assert "sources," in output  # the summary's total line
    assert _redis_servers(tmp_path / "var" / "redis") == []


def test_second_sigint_stops_crawl_at_once_with_one_line(
    room: Newsroom, redis_prefix: str, tmp_path: Path
) -> None:
    """A second SIGINT during the warm stop of `newsmon crawl`: exit 130, one line about it, no
    traceback, its embedded Redis stopped, and what was published is whole."""
    crawl, _config = _start_slow_crawl(tmp_path, room, redis_prefix)
    log = tmp_path / "crawl.log"
    crawl.send_signal(signal.SIGINT)
    wait_for(lambda: "SIGINT: stopping the crawl" in log.read_text(), timeout=EXIT_TIMEOUT,
             what="the warm stop to begin")
    crawl.send_signal(signal.SIGINT)
    code = crawl.wait(timeout=EXIT_TIMEOUT)
    output = log.read_text()
    assert code == 130, output[-3000:]
    assert "Traceback" not in output
    assert len([ln for ln in output.splitlines() if "SIGINT again" in ln]) == 1
    assert _redis_servers(tmp_path / "var" / "redis") == []
    published = _stream(tmp_path, Keys(redis_prefix))
    assert published
    assert max(published.values()) == 1


def test_second_signal_stops_run_at_once_with_itschildren(
    room: Newsroom, redis_prefix: str, tmp_path: Path
) -> None:
    """A second SIGTERM during the warm stop of `newsmon run`: exit 1 with one cold-stop line, no
    traceback, its workers and its embedded Redis gone."""
    config = _embedded_config(tmp_path, room, redis_prefix, interval="1h",
                              fetch={"delay": "1s", "concurrency": 4, "concurrency_per_host": 1})
    log = tmp_path / "daemon.log"
    daemon = start_newsmon("--config", str(config), "run", "--workers", "1", log=log)
    try:
        [worker] = wait_for(lambda: children(daemon.pid), timeout=30, what="the worker")
        wait_for(lambda: "published new" in log.read_text(), timeout=EXIT_TIMEOUT, what="the poll to publish")
        daemon.send_signal(signal.SIGTERM)
        wait_for(lambda: "Warm stop (SIGTERM)" in log.read_text(), timeout=30, what="the warm stop")
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=EXIT_TIMEOUT)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    output = log.read_text()
    assert code == 1, output[-3000:]
    assert len([ln for ln in output.splitlines() if "Cold stop" in ln]) == 1
    assert "Traceback" not in output
    wait_for(lambda: not alive(worker), timeout=10, what="the worker to be gone")
    assert _redis_servers(tmp_path / "var" / "redis") == []


def test_sighup_stops_a_lone_worker_warmly_with_a_log_line(
    room: Newsroom, redis_prefix: str, tmp_path: Path
) -> None:
    """SIGHUP to `newsmon worker` run alone is a logged warm stop: exit 0, its embedded Redis
    stopped."""
    config = _embedded_config(tmp_path, room, redis_prefix)
    log = tmp_path / "worker.log"
    worker = start_newsmon("--config", str(config), "worker", "--name", "alone", log=log)
    try:
        wait_for(lambda: "Worker alone started" in log.read_text(), timeout=30, what="the worker to start")
        worker.send_signal(signal.SIGHUP)
        code = worker.wait(timeout=EXIT_TIMEOUT)
    finally:
        if worker.poll() is None:
            worker.kill()
    output = log.read_text()
    assert code == 0, output[-3000:]
    assert "warm stop (SIGHUP)" in output
    assert "Traceback" not in output
    assert _redis_servers(tmp_path / "var" / "redis") == []


def test_a_second_run_on_one_data_directory_exits_2_naming_the_first(
    room: Newsroom, redis_prefix: str, tmp_path: Path
) -> None:
    """A second `newsmon run` (or `scheduler`) on the data directory of a running one exits 2 with
    one line naming its host and PID; the first keeps running with its workers."""
    config = _embedded_config(tmp_path, room, redis_prefix, interval="1h")
    daemon = start_newsmon("--config", str(config), "run", "--workers", "1", log=tmp_path / "daemon.log")
    try:
        [worker] = wait_for(lambda: children(daemon.pid), timeout=30, what="the worker")
        wait_for(lambda: "Polled" in (tmp_path / "daemon.log").read_text(), timeout=EXIT_TIMEOUT,
                 what="the first poll")
        for verb in (("run", "--workers", "1"), ("scheduler",)):
            second = run_newsmon("--config", str(config), *verb, timeout=EXIT_TIMEOUT)
            assert second.returncode == 2, second.stderr[-3000:]
            [line] = second.stderr.strip().splitlines()
            assert f"pid {daemon.pid} on host {socket.gethostname()}" in line
        assert daemon.poll() is None
        assert children(daemon.pid) == [worker]
    finally:
        code = stop(daemon)
    assert code == 0
    assert "died" not in (tmp_path / "daemon.log").read_text()


def test_a_second_run_on_one_redis_prefix_exits_2_and_the_first_keeps_its_worker(
    room: Newsroom, redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """Two daemons on one Redis server and prefix but different data directories: the second exits
    2 naming the first's host and PID (the Redis lock), and the first's worker is neither
    replaced nor killed."""
    first_dir, second_dir = tmp_path / "a", tmp_path / "b"
    first_dir.mkdir()
    second_dir.mkdir()
    config = write_config(first_dir / "newsmon.yaml", room, redis_url, redis_prefix, interval="1h")
    other = write_config(second_dir / "newsmon.yaml", room, redis_url, redis_prefix, interval="1h")
    log = first_dir / "daemon.log"
    daemon = start_newsmon("--config", str(config), "run", "--workers", "1", log=log)
    try:
        [worker] = wait_for(lambda: children(daemon.pid), timeout=30, what="the worker")
        wait_for(lambda: redis_client.exists(keys.daemon_lock), timeout=30, what="the daemon lock")
        second = run_newsmon("--config", str(other), "run", "--workers", "1", timeout=EXIT_TIMEOUT)
        assert second.returncode == 2, second.stderr[-3000:]
        [line] = second.stderr.strip().splitlines()
        assert f"pid {daemon.pid} on host {socket.gethostname()}" in line
        assert daemon.poll() is None
        assert children(daemon.pid) == [worker]
        assert "killing it" not in log.read_text()
    finally:
        code = stop(daemon)
    assert code == 0
    assert not redis_client.exists(keys.daemon_lock)  # released at stop


def test_a_dead_daemons_lock_does_not_block_a_new_one(redis_client: redis.Redis, keys: Keys) -> None:
    """The Redis lock of a daemon whose PID on this host is gone is taken over at once; a live
    holder's is not, and the refusal names it."""
    host = socket.gethostname()
    redis_client.set(keys.daemon_lock, str(Holder(host, _dead_pid(), "dead00")), px=30_000)
    lock = DaemonLock(redis_client, keys, Holder(host, os.getpid(), "new000"))
    lock.acquire()
    assert redis_client.get(keys.daemon_lock) == str(lock.holder).encode()
    lock.release()
    assert not redis_client.exists(keys.daemon_lock)

    redis_client.set(keys.daemon_lock, str(Holder(host, os.getppid(), "live00")), px=30_000)
    with pytest.raises(AlreadyRunning, match=f"pid {os.getppid()} on host {host}"):
        lock.acquire()


def _dead_pid() -> int:
    """A PID that no process has now (one of a child that exited)."""
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    return child.pid
