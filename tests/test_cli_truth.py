"""What ``crawl``, ``status`` and the daemon say about a round of polls matches what happened:
real processes on the suite's Redis, the fixture newsroom and hosts that cannot be resolved."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from newsmon.scheduler.keys import Keys
from newsmon.scheduler.status import set_next_poll
from tests.helpers import child_env, newsmon_cmd, records, run_newsmon, start_newsmon, stop, wait_for, write_config
from tests.newsroom import Newsroom

pytestmark = pytest.mark.slow

UNRESOLVABLE = {"nosuch-one": "http://nosuch.invalid/feed", "nosuch-two": "http://other.invalid/rss.xml"}
COLUMNS = ["source", "documents", "fetched", "published", "duplicates", "off-topic", "rejected", "errors", "state"]


def _offline_config(tmp_path: Path, redis_url: str, prefix: str, interval: str = "2s") -> Path:
    """Every source points at a host that cannot be resolved."""
    config = {
        "data_dir": str(tmp_path / "var"),
        "redis": {"url": redis_url, "prefix": prefix},
        "fetch": {"timeout": "2s", "delay": "0s"},
        "scheduler": {"jitter": "0s"},
        "sources": [{"name": name, "interval": interval, "feeds": [url]} for name, url in UNRESOLVABLE.items()],
    }
    path = tmp_path / "offline.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _status(config: Path) -> dict[str, Any]:
    result = run_newsmon("--config", str(config), "status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_crawl_summary_has_a_column_per_outcome(
    redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """The human summary shows, per source, documents, fetched, published, duplicates, off-topic,
    rejected and errors, and the numbers are the crawl's (3 of 6 articles per outlet on-topic)."""
    with Newsroom() as room:
        config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix, topic=True)
        result = run_newsmon("--config", str(config), "crawl")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == COLUMNS
    rows = {line.split()[0]: dict(zip(COLUMNS, line.split(), strict=True))
            for line in lines[1:] if line and not line.startswith(" ") and len(line.split()) == len(COLUMNS)}
    assert set(rows) == {o.name for o in room.outlets}
    for row in rows.values():
        assert (row["published"], row["off-topic"], row["errors"], row["state"]) == ("3", "3", "0", "ok")
        assert int(row["fetched"]) >= 6  # the six articles (and what else their pages link to)
        assert int(row["documents"]) >= 1
        assert (row["duplicates"], row["rejected"]) == ("0", "0")
    assert sum(int(r["published"]) for r in rows.values()) == len(records(redis_client, keys))


def test_crawl_says_in_one_line_that_every_source_failed_and_why(
    redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    """With no source resolvable, crawl exits 1 with one line naming the commonest cause, and
    each source's error names its URL once."""
    config = _offline_config(tmp_path, redis_url, redis_prefix)
    result = run_newsmon("--config", str(config), "crawl")
    assert result.returncode == 1, result.stderr
    assert "every source failed: no source could be resolved: is there a network?" in result.stdout.splitlines()
    assert "Traceback" not in result.stderr
    for url in UNRESOLVABLE.values():
        [logged] = [line for line in result.stderr.splitlines() if url in line]
        assert logged.count(url) == 1, logged
        assert "cannot resolve" in logged


def test_status_without_a_daemon_is_stale_and_promises_no_poll(
    redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """When no scheduler runs, status says its values are stale and shows no next poll, even where
    a dead daemon left one in the future."""
    config = _offline_config(tmp_path, redis_url, redis_prefix)
    assert run_newsmon("--config", str(config), "crawl").returncode == 1
    for name in UNRESOLVABLE:  # what a daemon that died left behind
        set_next_poll(redis_client, keys, name, time.time() + 600, 60.0)
    seen = _status(config)
    assert (seen["stale"], seen["schedulers"], seen["workers"]) == (True, [], [])
    assert [s["next_poll"] for s in seen["sources"]] == [None, None]
    text = run_newsmon("--config", str(config), "status").stdout
    assert text.splitlines()[0].startswith("scheduler: not running")
    assert "stale" in text.splitlines()[0]
    for name in UNRESOLVABLE:
        [row] = [line for line in text.splitlines() if line.startswith(name)]
        assert row.split()[-1] == "-"


def test_status_next_poll_agrees_with_backoff(
    redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    """With a scheduler running, a source in back-off shows a next poll no earlier than its back-off
    allows (the scheduler skips ticks until half an interval before its end), and the scheduler
    says at start that the sources are in back-off."""
    config = _offline_config(tmp_path, redis_url, redis_prefix, interval="60s")
    assert run_newsmon("--config", str(config), "crawl").returncode == 1  # back-off: 15 minutes
    daemon = start_newsmon("--config", str(config), "scheduler", log=tmp_path / "scheduler.log")
    try:
        seen = wait_for(lambda: (s := _status(config))["schedulers"] and all(
            r["next_poll"] is not None for r in s["sources"]) and s, what="the scheduler's first ticks")
    finally:
        assert stop(daemon) == 0
    assert seen["stale"] is False
    assert "2 of 2 sources are in back-off after failed polls" in (tmp_path / "scheduler.log").read_text()
    for row in seen["sources"]:
        assert row["shown_state"] == "backoff"
        assert row["next_poll"] >= row["backoff_until"] - row["interval"] / 2
        assert row["next_poll"] > time.time() + 60  # the raw tick, a minute away, would contradict


def test_the_daemon_warns_once_when_every_source_failed(
    redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    """A round of polls in which every source failed is one WARNING naming the likely cause."""
    config = _offline_config(tmp_path, redis_url, redis_prefix)
    log = tmp_path / "daemon.log"
    daemon = start_newsmon("--config", str(config), "run", "--workers", "1", log=log)
    try:
        wait_for(lambda: "Every source failed" in log.read_text(), timeout=60, what="the all-failed warning")
    finally:
        assert stop(daemon) == 0
    text = log.read_text()
    warnings = [line for line in text.splitlines() if "Every source failed" in line]
    assert len(warnings) == 1, text
    assert "WARNING" in warnings[0]
    assert "no source could be resolved: is there a network?" in warnings[0]
    held = [line for line in text.splitlines() if "[nosuch-one] not polled: backing off" in line]
    # Once per back-off (each names its end), not at every tick it skips.
    assert len({re.sub(r"^\S+ \S+ ", "", line) for line in held}) == len(held)


def test_status_watch_repeats_until_ctrl_c(redis_url: str, redis_prefix: str, tmp_path: Path) -> None:
    """status --watch, not on a terminal, prints the status again and again; Ctrl-C exits 0 quietly."""
    config = _offline_config(tmp_path, redis_url, redis_prefix)
    process = subprocess.Popen([*newsmon_cmd("--config", str(config), "status", "--watch", "0.2")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env())
    assert process.stdout is not None
    headers = 0
    while headers < 2:
        line = process.stdout.readline()
        assert line, "status --watch ended early"
        headers += line.startswith("source ")
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert err == ""


def test_status_watch_refuses_a_period_of_zero(tmp_path: Path) -> None:
    """status --watch 0 is a usage error in one line; exit 2."""
    result = run_newsmon("status", "--watch", "0", env=child_env(REDIS_URL="redis://127.0.0.1:1/0"))
    assert result.returncode == 2
    assert result.stderr.strip() == "newsmon: --watch: expected a number of seconds above 0, got 0"


def test_status_watch_refreshes_in_place_on_a_terminal(redis_url: str, redis_prefix: str, tmp_path: Path) -> None:
    """On a terminal, status --watch redraws from the top of the screen each time; Ctrl-C exits 0."""
    config = _offline_config(tmp_path, redis_url, redis_prefix)
    leader, follower = pty.openpty()
    process = subprocess.Popen(newsmon_cmd("--config", str(config), "status", "--watch", "0.2"),
                               stdin=follower, stdout=follower, stderr=follower, env=child_env())
    os.close(follower)
    out = b""
    while out.count(b"\x1b[H") < 3:
        ready, _, _ = select.select([leader], [], [], 30)
        assert ready, f"no redraw within 30s: {out!r}"
        out += os.read(leader, 65536)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    os.close(leader)
    assert b"Traceback" not in out
    assert out.count(b"scheduler: not running") >= 3
