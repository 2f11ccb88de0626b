"""Redis going away under a running daemon (real processes): the embedded server killed, an
external server stopped and restarted, and read-only commands beside a daemon."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest
import yaml

from newsmon.scheduler.redis_conn import EmbeddedRedis
from tests.helpers import run_newsmon, start_newsmon, stop, wait_for, write_config
from tests.newsroom import Newsroom
from tests.redis_process import RedisProcess, answers, embedded_pid, jsonl_ids, stream_urls

pytestmark = pytest.mark.slow


@pytest.fixture
def room() -> Newsroom:
    with Newsroom() as newsroom:
        yield newsroom


def _embedded_config(tmp_path: Path, room: Newsroom, prefix: str, **extra: object) -> Path:
    """A config with no Redis URL: the daemon runs the embedded Redis under tmp_path/var."""
    path = write_config(tmp_path / "newsmon.yaml", room, "unused", prefix, **extra)
    data = yaml.safe_load(path.read_text())
    del data["redis"]["url"]
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def _all_once(url: str, prefix: str, room: Newsroom) -> bool:
    published = stream_urls(url, prefix)
    return published is not None and set(published) >= {a.canonical_url for a in room.articles}


def _lines(log: Path, pattern: str) -> list[str]:
    return [line for line in log.read_text().splitlines() if re.search(pattern, line)]


def test_embedded_redis_killed_under_run_is_restarted_and_every_article_published_once(
    room: Newsroom, redis_prefix: str, tmp_path: Path
) -> None:
    """SIGKILL of the embedded redis-server mid-poll: the daemon restarts it in place, workers and
    sinks reconnect, and every article ends up published exactly once (stream and JSONL sink)."""
    config = _embedded_config(tmp_path, room, redis_prefix, fetch={"delay": "0.3s"})
    embedded = EmbeddedRedis(tmp_path / "var" / "redis")
    log = tmp_path / "daemon.log"
    daemon = start_newsmon("--config", str(config), "run", "--workers", "2", log=log)
    try:
        wait_for(lambda: (stream_urls(embedded.url, redis_prefix) or {}) and len(
            stream_urls(embedded.url, redis_prefix) or {}) >= 2, timeout=60, what="the poll to start publishing")
        first = embedded_pid(tmp_path / "var")
        assert first is not None
        os.kill(first, signal.SIGKILL)
        assert len(stream_urls(embedded.url, redis_prefix) or {}) < len(room.articles), "the poll ended first"
        wait_for(lambda: embedded_pid(tmp_path / "var") not in {None, first}, timeout=60,
                 what="the daemon to restart the embedded Redis")
        wait_for(lambda: _all_once(embedded.url, redis_prefix, room), timeout=120, what="every article")
        wait_for(lambda: len(jsonl_ids(tmp_path / "var" / "feed")) >= len(room.articles), timeout=60,
                 what="the JSONL sink to catch up")
        assert daemon.poll() is None
    finally:
        code = stop(daemon)
    text = log.read_text()
    assert code == 0, text[-3000:]
    published = stream_urls(embedded.url, redis_prefix) if answers(embedded.url) else None
    assert published is None or max(published.values()) == 1  # stopped with the daemon, normally
    assert max(jsonl_ids(tmp_path / "var" / "feed").values()) == 1
    assert "Traceback" not in text, text[-3000:]
    assert "sent no heartbeat" not in text
    assert _lines(log, r"embedded Redis .* had died; restarted it")
    assert embedded_pid(tmp_path / "var") is None, "the daemon stops the Redis it owns"


def test_external_redis_stopped_and_restarted_loses_nothing_and_logs_one_warning_and_one_info_per_role(
    room: Newsroom, redis_prefix: str, tmp_path: Path
) -> None:
    """An external Redis (AOF) stopped, then restarted under `newsmon run`: no traceback, one
    WARNING and one INFO per role, no worker killed as hung, and every article (one published
    during the outage too) in the stream and the sink exactly once."""
    server = RedisProcess(tmp_path / "redis")
    server.start()
    config = write_config(tmp_path / "newsmon.yaml", room, server.url, redis_prefix,
                          scheduler={"hung_after": "3s"})
    log = tmp_path / "daemon.log"
    daemon = start_newsmon("--config", str(config), "run", "--workers", "2", log=log)
    roles = ["the scheduler", "the supervisor", "the sinks", r"worker \S+:w0", r"worker \S+:w1"]
    try:
        wait_for(lambda: _all_once(server.url, redis_prefix, room), timeout=90, what="the first polls")
        server.stop()
        # Every role notices: the workers' heartbeats and the scheduler's run every few seconds.
        wait_for(lambda: all(_lines(log, f"WARNING.*Redis unreachable.*: {role} retries") for role in roles),
                 timeout=60, what="each role to notice the outage")
        late = room.publish("wire-en", title="Published while Redis was away", on_topic=True)
        # Kept away longer than hung_after (the scenario, not a timing assertion): every
        # worker's heartbeat has lapsed when Redis comes back, and none may be killed for it.
        time.sleep(5)
        server.start()
        wait_for(lambda: late.canonical_url in (stream_urls(server.url, redis_prefix) or {}), timeout=60,
                 what="the article published during the outage")
        wait_for(lambda: all(_lines(log, f"INFO.*Redis is back after .*: {role} resumes") for role in roles),
                 timeout=60, what="each role to say Redis is back")
        wait_for(lambda: len(jsonl_ids(tmp_path / "var" / "feed")) >= len(room.articles), timeout=60,
                 what="the JSONL sink to catch up")
        assert daemon.poll() is None
    finally:
        code = stop(daemon)
        published = stream_urls(server.url, redis_prefix)
        server.stop()
    text = log.read_text()
    assert code == 0, text[-3000:]
    assert published is not None
    assert max(published.values()) == 1
    assert set(published) == {a.canonical_url for a in room.articles}
    assert max(jsonl_ids(tmp_path / "var" / "feed").values()) == 1
    assert "Traceback" not in text, text[-3000:]
    assert "sent no heartbeat" not in text
    assert "died (exit" not in text
    stray = [line for line in text.splitlines() if re.search(r"WARNING|ERROR", line)
             and re.search(r"connecting to|Connection refused|Timeout", line) and "Redis unreachable" not in line]
    assert not stray, stray
    for role in roles:
        assert len(_lines(log, f"WARNING.*Redis unreachable.*: {role} retries")) == 1, role
        assert len(_lines(log, f"INFO.*Redis is back after .*: {role} resumes")) == 1, role


def test_status_beside_a_daemon_never_stops_its_embedded_redis(
    room: Newsroom, redis_prefix: str, tmp_path: Path
) -> None:
    """`newsmon status` attaches to the embedded Redis a running daemon owns and leaves it
    running, even when it runs while the daemon is restarting a killed server."""
    config = _embedded_config(tmp_path, room, redis_prefix, interval="1h")
    embedded = EmbeddedRedis(tmp_path / "var" / "redis")
    daemon = start_newsmon("--config", str(config), "run", "--workers", "1", log=tmp_path / "daemon.log")
    try:
        wait_for(lambda: _all_once(embedded.url, redis_prefix, room), timeout=60, what="the first poll")
        pid = embedded_pid(tmp_path / "var")
        status = run_newsmon("--config", str(config), "status")
        assert status.returncode == 0, status.stderr
        assert embedded_pid(tmp_path / "var") == pid
        assert "embedded Redis" not in status.stderr
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        status = run_newsmon("--config", str(config), "status")  # may find it dead or being restarted
        assert status.returncode == 0, status.stderr
        assert "embedded Redis" not in status.stderr
        wait_for(lambda: embedded_pid(tmp_path / "var") not in {None, pid}, timeout=30, what="the restart")
        restarted = embedded_pid(tmp_path / "var")
        assert answers(embedded.url)
        assert run_newsmon("--config", str(config), "status").returncode == 0
        assert embedded_pid(tmp_path / "var") == restarted
        assert daemon.poll() is None
    finally:
        code = stop(daemon)
    assert code == 0


def test_status_with_no_daemon_starts_and_stops_its_own_embedded_redis_quietly(
    room: Newsroom, redis_prefix: str, tmp_path: Path
) -> None:
    """With no daemon running, `newsmon status` starts an embedded Redis for itself, says nothing
    about it at INFO, and stops it when done."""
    config = _embedded_config(tmp_path, room, redis_prefix)
    status = run_newsmon("--config", str(config), "status")
    assert status.returncode == 0, status.stderr
    assert "INFO" not in status.stderr
    assert embedded_pid(tmp_path / "var") is None
    assert not answers(EmbeddedRedis(tmp_path / "var" / "redis").url)
