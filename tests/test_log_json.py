"""``--log-format json`` and ``log_format: json``: one JSON object per log line, workers included."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest
import redis

from newsmon.scheduler.cli.common import JsonFormatter
from newsmon.scheduler.keys import Keys
from tests.helpers import run_newsmon, start_newsmon, stop, wait_for, write_config
from tests.newsroom import Newsroom

FIELDS = {"time", "level", "logger", "message"}


@pytest.fixture(scope="module")
def room() -> Newsroom:
    with Newsroom(outlets=1) as newsroom:
        yield newsroom


def _lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.slow
def test_run_with_log_format_json_in_the_config_writes_json_lines_only(
    room: Newsroom, redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """``log_format: json`` makes every line of the daemon and of its workers (relayed) one JSON
    object with time, level, logger and message, and never a page's content."""
    config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix, interval="1h", log_format="json")
    daemon = start_newsmon("--config", str(config), "run", "--workers", "1", log=tmp_path / "daemon.log")
    name = room.outlets[0].name
    try:
        wait_for(lambda: redis_client.hget(keys.source_state(name), "polls"), timeout=90, what="one poll")
    finally:
        code = stop(daemon)
    assert code == 0
    lines = _lines((tmp_path / "daemon.log").read_text())
    assert all(set(line) >= FIELDS for line in lines)
    loggers = {line["logger"] for line in lines}
    assert {"newsmon.scheduler.daemon", "newsmon.scheduler.worker"} <= loggers
    paragraphs = [p for article in room.articles_of(name) for p in article.paragraphs]
    assert not any(p in str(line["message"]) for line in lines for p in paragraphs)


@pytest.mark.slow
def test_the_log_format_flag_applies_from_the_first_line(tmp_path: Path) -> None:
    """``--log-format json`` before the verb formats even the lines logged before the settings
    are read (here, a warning about an unknown log level in the environment)."""
    (tmp_path / "newsmon.yaml").write_text("sources: [{name: a, feeds: ['https://a.example/feed']}]\n")
    result = run_newsmon("--log-format", "json", "--log-level", "DEBUG", "--config", str(tmp_path / "newsmon.yaml"),
                         "config", "check")
    assert result.returncode == 0, result.stderr
    lines = _lines(result.stderr)
    assert lines
    assert all(set(line) >= FIELDS for line in lines)


def test_json_lines_carry_the_traceback_as_a_string() -> None:
    """A record with exc_info becomes one line whose ``exc_info`` is the formatted traceback."""
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("newsmon.x", logging.ERROR, __file__, 1, "failed %s", ("here",), sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["message"] == "failed here"
    assert data["level"] == "ERROR"
    assert data["logger"] == "newsmon.x"
    assert "ValueError: boom" in data["exc_info"]
    assert data["time"].endswith("+00:00")
