"""The log level: packaged default < configuration file < NEWSMON_LOG_LEVEL < --log-level,
honoured by the process that reads the settings (here a real ``newsmon crawl``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import child_env, run_newsmon, write_config
from tests.newsroom import Newsroom

pytestmark = pytest.mark.slow

LEVEL = re.compile(r"^\S+ \S+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) ", re.MULTILINE)


@pytest.fixture(scope="module")
def room() -> Newsroom:
    with Newsroom(outlets=1) as newsroom:
        yield newsroom


@pytest.mark.parametrize(
    ("in_file", "in_env", "flag", "expected"),
    [
        ("WARNING", None, None, "WARNING"),  # the file's level is honoured
        ("DEBUG", None, None, "DEBUG"),
        ("WARNING", "INFO", None, "INFO"),  # the environment wins over the file
        ("DEBUG", "INFO", "WARNING", "WARNING"),  # the flag wins over both
    ],
)
def test_the_log_level_follows_flag_then_environment_then_file(
    room: Newsroom, redis_url: str, redis_prefix: str, tmp_path: Path, in_file: str, in_env: str | None,
    flag: str | None, expected: str,
) -> None:
    """A crawl logs at the level its settings resolve to: nothing below it, and lines at it
    whenever the crawl has something to say at that level."""
    config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix, log_level=in_file)
    args = ["--config", str(config), "crawl"] + (["--log-level", flag] if flag else [])
    result = run_newsmon(*args, env=child_env(NEWSMON_LOG_LEVEL=in_env))
    assert result.returncode == 0, result.stderr[-2000:]
    levels = set(LEVEL.findall(result.stderr))
    order = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
    assert not {lv for lv in levels if order.index(lv) < order.index(expected)}, result.stderr[-2000:]
    if expected in ("DEBUG", "INFO"):
        assert expected in levels, result.stderr[-2000:]


def test_an_unknown_log_level_in_the_environment_is_one_line(tmp_path: Path) -> None:
    """NEWSMON_LOG_LEVEL=verbose is a configuration error naming the variable, not a traceback."""
    result = run_newsmon("sources", "list", env=child_env(NEWSMON_LOG_LEVEL="verbose"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "NEWSMON_LOG_LEVEL" in line
