"""The JSON Lines sink when writes really fail part-way (a file size limit standing in for a full
disk), in the daemon and in ``crawl``: no partial or doubled line, nothing lost."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
import redis

from newsmon.scheduler.feed import FeedItem, FeedReader, groups_info
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.sinks import JsonlFileSink, SinkError, SinkRunner
from newsmon.settings.model import FeedSettings
from tests.test_feed_support import BASE_MS, publish_many

CHILD = Path(__file__).with_name("jsonl_limit_child.py")
ROOT = Path(__file__).resolve().parent.parent


def _check_files(directory: Path, count: int) -> None:
    """Every line a whole record, each record once, in stream order, none missing."""
    titles = []
    for path in sorted(directory.glob("*.jsonl")):
        raw = path.read_bytes()
        assert not raw or raw.endswith(b"\n"), f"{path.name} ends with a partial line"
        for line in raw.decode("utf-8").splitlines():
            titles.append(json.loads(line)["title"])  # a glued or cut line fails here
    assert titles == [f"Story {i}" for i in range(count)]


@pytest.mark.parametrize("mode", ["daemon", "crawl"])
@pytest.mark.parametrize("limit", [40, 1000, 5000])
def test_jsonl_short_writes_leave_whole_lines(redis_url: str, redis_client: redis.Redis, keys: Keys,
                                              tmp_path: Path, mode: str, limit: int) -> None:
    """Writes cut short by a size limit, then the limit lifted: every acknowledged record is in
    the files exactly once, as a whole line, and nothing is lost."""
    count = 40
    # About 1.5 days: the chunks straddle two daily files.
    publish_many(redis_client, keys, count, at_ms=BASE_MS, step_ms=3_600_000)
    result = subprocess.run(
        [sys.executable, str(CHILD), "--url", redis_url, "--prefix", keys.prefix, "--directory",
         str(tmp_path), "--limit", str(limit), "--mode", mode],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["done"]
    assert report["failures"] >= 1, "the limit never made a write fail"
    if limit > 100:  # the journal fits, so the limit was met inside a line, which was cut back
        assert report["cuts"] >= 1
    (info,) = [g for g in groups_info(redis_client, keys) if g.name == "sink:jsonl"]
    assert (info.pending, info.lag) == (0, 0)
    _check_files(tmp_path, count)


class _HalfWrite(JsonlFileSink):
    """Appends half of each chunk, then fails (as a full disk would); the first cut back fails
    too, the way an I/O error would stop it."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.failing, self.undo_failures = True, 1

    def _append(self, path: Path, data: bytes, size_before: int) -> None:
        if self.failing:
            super()._append(path, data[: len(data) // 2], size_before)
            raise OSError(28, "No space left on device")
        super()._append(path, data, size_before)

    def _undo(self) -> None:
        if self._undo_sizes and self.undo_failures:
            self.undo_failures -= 1
            raise OSError(5, "Input/output error")
        super()._undo()


def test_jsonl_retry_cuts_back_a_failed_chunk_first(redis_client: redis.Redis, keys: Keys,
                                                    tmp_path: Path) -> None:
    """A chunk that failed and could not be cut back at once is cut back before the next write,
    so the retried chunk is not glued to its own partial copy."""
    publish_many(redis_client, keys, 5, at_ms=BASE_MS)
    items: Sequence[FeedItem] = FeedReader(redis_client, keys, "x", "c").read(5)
    sink = _HalfWrite(tmp_path)
    with pytest.raises(SinkError, match="No space left"):
        sink.deliver(items)
    assert not (tmp_path / "2024-01-28.jsonl").read_bytes().endswith(b"\n")  # a partial line
    sink.failing = False
    sink.deliver(items)
    _check_files(tmp_path, 5)


def test_jsonl_restart_cuts_back_an_unacknowledged_partial_chunk(redis_client: redis.Redis, keys: Keys,
                                                                 tmp_path: Path) -> None:
    """A process that died with a partial chunk in the file (its journal unacknowledged): the
    next one cuts it back at start and delivers every record once."""
    publish_many(redis_client, keys, 6, at_ms=BASE_MS)
    crashed = _HalfWrite(tmp_path)
    crashed.undo_failures = 10**6  # it never gets to cut back: it dies
    assert SinkRunner(redis_client, keys, [crashed], FeedSettings(), batch=3).drain_once() == 0
    assert SinkRunner(redis_client, keys, [JsonlFileSink(tmp_path)], FeedSettings()).drain_once() == 6
    _check_files(tmp_path, 6)
