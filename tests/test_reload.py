"""Reloading the configuration in process: what a new file changes, what it may not, and the
scheduler's jobs after a reload."""

from __future__ import annotations

import asyncio
import logging
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from newsmon.scheduler.daemon import Scheduler
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.reload import compare, reload_config
from newsmon.settings.loader import ConfigError, load_config
from newsmon.settings.model import Config

BASE = """\
data_dir: var
sources:
  - name: a
    feeds: [https://a.example/rss]
    interval: 10m
  - name: b
    feeds: [https://b.example/rss]
    interval: 10m
"""


def _load(path: Path, text: str) -> Config:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_config(path, env={})


def test_compare_names_sources_added_removed_changed_and_sections(tmp_path: Path) -> None:
    """A source added, one removed, one changed and a new topic are each reported, nothing else."""
    path = tmp_path / "newsmon.yaml"
    old = _load(path, BASE)
    new = _load(path, BASE.replace("name: b", "name: c").replace("interval: 10m", "interval: 5m", 1)
                + "topic:\n  name: t\n  any: [drone]\n")
    changes = compare(old, new)
    assert changes.added == ("c",)
    assert changes.removed == ("b",)
    assert changes.changed == ("a",)
    assert changes.sections == ("topic",)
    assert compare(old, old).describe() == "nothing changed"


def test_invalid_file_keeps_the_running_config_and_logs_each_problem_on_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """reload_config of a file with two problems returns None and logs both as `config check` prints them."""
    path = tmp_path / "newsmon.yaml"
    old = _load(path, BASE)
    path.write_text(BASE.replace("interval: 10m", "interval: often").replace("name: b", "name: a"))
    with caplog.at_level(logging.ERROR, logger="newsmon.scheduler.reload"):
        assert reload_config(old, lambda: load_config(path, env={})) is None
    lines = [r.getMessage() for r in caplog.records]
    with pytest.raises(ConfigError) as check:
        load_config(path, env={})
    assert lines[:-1] == str(check.value).splitlines()
    assert len(lines) == 4
    assert lines[0].startswith(f"{path}:5: sources[0].interval:")
    assert lines[-1].startswith("Configuration not reloaded")


def test_redis_and_data_dir_changes_wait_for_a_restart(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A reload that changes redis.url and data_dir keeps the running values and warns about each."""
    path = tmp_path / "newsmon.yaml"
    old = _load(path, BASE)
    path.write_text(BASE.replace("data_dir: var", "data_dir: elsewhere") + "redis:\n  url: redis://h:1/0\n")
    with caplog.at_level(logging.WARNING, logger="newsmon.scheduler.reload"):
        result = reload_config(old, lambda: load_config(path, env={}))
    assert result is not None
    new, changes = result
    assert (new.redis, new.data_dir) == (old.redis, old.data_dir)
    assert changes.kept == ("redis", "data_dir")
    assert len(caplog.records) == 2


def test_scheduler_apply_adds_removes_and_replaces_poll_jobs(
    tmp_path: Path, redis_client: redis.Redis, keys: Keys
) -> None:
    """After apply: the added source's job is due now, the removed one's is gone, and the changed
    one runs at its new interval, keeping a next run that is sooner than that."""
    path = tmp_path / "newsmon.yaml"
    old = _load(path, BASE)
    new = _load(path, BASE.replace("name: b", "name: c").replace("interval: 10m", "interval: 5m", 1))
    far = datetime.now(UTC) + timedelta(minutes=3)

    async def scenario() -> tuple[set[str], Any, Any, Config]:
        scheduler = Scheduler(old, redis_client, keys)
        scheduler.aps.start(paused=True)  # jobs are stored as in the daemon, none runs
        try:
            for source in old.sources:
                scheduler._schedule(source, far)
            scheduler.apply(new, compare(old, new))
            return ({job.id for job in scheduler.aps.get_jobs()}, scheduler.aps.get_job("poll:a"),
                    scheduler.aps.get_job("poll:c"), scheduler.config)
        finally:
            scheduler.aps.shutdown(wait=False)

    ids, a, c, config = asyncio.run(scenario())
    assert ids == {"poll:a", "poll:c"}
    assert a.trigger.interval == timedelta(minutes=5)
    assert a.next_run_time == far
    assert c.next_run_time <= datetime.now(UTC)
    assert config is new
