"""The example analysis job (examples/daily_counts.py) run as a process against a real feed."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from newsmon.scheduler.feed import FeedReader
from newsmon.scheduler.keys import Keys
from tests.test_feed_support import make_record, publish

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "daily_counts.py"

pytestmark = pytest.mark.slow


def _run(redis_url: str, keys: Keys, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLE), "--redis-url", redis_url, "--prefix", keys.prefix, "--out", str(out)],
        capture_output=True, text=True, timeout=120, check=False,
    )


def _csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def test_daily_counts_per_outlet_and_cluster(redis_url: str, redis_client: redis.Redis, keys: Keys,
                                             tmp_path: Path) -> None:
    """Stories are counted per day and outlet, copies per cluster; updates are not stories;
    running again, even after the group was rewound, counts nothing twice."""
    day1, day2 = datetime(2024, 1, 28, 15, tzinfo=UTC), datetime(2024, 1, 29, 15, tzinfo=UTC)
    original = make_record(1, source="courier", fetched_at=day1)
    publish(redis_client, keys, original)
    publish(redis_client, keys, make_record(2, source="courier", fetched_at=day1))
    copy = make_record(3, source="herald", event="duplicate", fetched_at=day1)
    copy.update(duplicate_of=original["id"], cluster_id=original["id"])
    publish(redis_client, keys, copy)
    publish(redis_client, keys, make_record(1, source="courier", event="updated", fetched_at=day1))
    undated = make_record(4, source="herald", fetched_at=day2)
    undated.update(published=None, published_from=None)
    publish(redis_client, keys, undated)

    first = _run(redis_url, keys, tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stderr.startswith("4 stories counted")
    expected_outlets = [["day", "source", "stories"], ["2024-01-28", "courier", "2"],
                        ["2024-01-28", "herald", "1"], ["2024-01-29", "herald", "1"]]
    assert _csv(tmp_path / "outlets.csv") == expected_outlets
    clusters = _csv(tmp_path / "clusters.csv")
    assert clusters[0] == ["day", "cluster_id", "records", "outlets"]
    assert clusters[1] == ["2024-01-28", original["id"], "2", "2"]
    assert len(clusters) == 4  # the header, the copied story, two single ones

    FeedReader(redis_client, keys, "daily-counts", "counter").seek("0")  # as if acks were lost
    again = _run(redis_url, keys, tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stderr.startswith("0 stories counted")
    assert _csv(tmp_path / "outlets.csv") == expected_outlets
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in again.stderr
    else:
        assert (tmp_path / "stories_per_outlet.png").read_bytes().startswith(b"\x89PNG")
