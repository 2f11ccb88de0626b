"""The example analysis job (examples/daily_counts.py) run as a process against a real feed."""

from __future__ import annotations

import csv
import importlib.util
import signal
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from newsmon.scheduler.feed import FeedReader
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.redis_conn import EmbeddedRedis, connect
from tests.helpers import child_env, wait_for
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


def _example() -> Any:
    """The example job as a module, for its plot window and figure."""
    spec = importlib.util.spec_from_file_location("daily_counts", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _embedded_config(tmp_path: Path) -> Path:
    path = tmp_path / "newsmon.yaml"
    path.write_text("sources:\n  - name: courier\n    feeds: [https://courier.example/rss]\n"
                    "data_dir: ./var\n", "utf-8")
    return path


def test_reads_the_embedded_redis_of_the_configuration_with_the_daemon_stopped(tmp_path: Path) -> None:
    """With no redis.url, the job reads newsmon's embedded Redis under data_dir, starting it
    itself when no newsmon process runs, and leaves it stopped again."""
    embedded = EmbeddedRedis(tmp_path / "var" / "redis")
    client = connect(embedded.acquire())
    try:
        for n in range(3):
            publish(client, Keys("newsmon"), make_record(n, source="courier"))
        client.close()
        embedded.stop()  # the daemon is not running
        result = subprocess.run(
            [sys.executable, str(EXAMPLE), "--config", str(_embedded_config(tmp_path)),
             "--out", str(tmp_path / "out")],
            capture_output=True, text=True, timeout=120, check=False, env=child_env())
        assert result.returncode == 0, result.stderr
        assert result.stderr.startswith("3 stories counted"), result.stderr
        assert _csv(tmp_path / "out" / "outlets.csv")[1:] == [["2024-01-28", "courier", "3"]]
        assert not embedded._answers()  # the job stopped the server it started
    finally:
        embedded.stop()


def test_unreachable_redis_is_one_line_without_traceback(tmp_path: Path) -> None:
    """When newsmon's Redis cannot be reached, the job says so in one line, exit status 2."""
    config = tmp_path / "newsmon.yaml"
    config.write_text("sources:\n  - name: courier\n    feeds: [https://courier.example/rss]\n"
                      "redis:\n  url: redis://127.0.0.1:1/0\n", "utf-8")
    result = subprocess.run([sys.executable, str(EXAMPLE), "--config", str(config), "--out",
                             str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=120, check=False, env=child_env())
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("daily_counts: cannot reach Redis at redis://127.0.0.1:1/0")


def test_follow_without_a_daemon_says_so_in_one_line(redis_url: str, redis_client: redis.Redis,
                                                      keys: Keys, tmp_path: Path) -> None:
    """--follow with no newsmon daemon alive on the Redis warns, in one line, that no new
    records will arrive until `newsmon run` runs; Ctrl-C then ends it cleanly."""
    publish(redis_client, keys, make_record(1))
    with subprocess.Popen(
        [sys.executable, str(EXAMPLE), "--redis-url", redis_url, "--prefix", keys.prefix,
         "--out", str(tmp_path), "--follow"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=child_env()) as job:
        try:
            assert job.stderr is not None
            line = job.stderr.readline()
            assert line == ("daily_counts: no newsmon daemon is running on this Redis: new "
                            "records arrive only while `newsmon run` runs; following anyway\n")
            wait_for((tmp_path / "state.json").exists, what="the first count")
            job.send_signal(signal.SIGINT)
            assert job.wait(timeout=30) == 0
            rest = job.stderr.read()
        finally:
            job.kill()
    assert "Traceback" not in rest
    assert rest.startswith("1 stories counted")


def _old_and_recent(redis_client: redis.Redis, keys: Keys) -> None:
    """Records published to the stream on 2024-01-28 and 29, one of them about a 2008 story."""
    for n, (day, published) in enumerate([(28, "2024-01-27T09:00:00Z"), (28, "2024-01-28T09:00:00Z"),
                                          (29, "2024-01-29T09:00:00Z"), (29, "2008-05-02T09:00:00Z")]):
        record = make_record(n, source="courier")
        record["published"] = published
        stream_ms = int(datetime(2024, 1, day, 12, n, tzinfo=UTC).timestamp() * 1000)
        publish(redis_client, keys, record, f"{stream_ms}-0")


def test_plot_has_a_date_axis_over_the_last_days(redis_url: str, redis_client: redis.Redis, keys: Keys,
                                                 tmp_path: Path) -> None:
    """The plot's x axis is a date axis over the --days days up to stream time: an article
    published years earlier is counted in the CSV but does not stretch the axis."""
    pytest.importorskip("matplotlib")
    import matplotlib.dates as mdates

    _old_and_recent(redis_client, keys)
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--redis-url", redis_url, "--prefix", keys.prefix,
         "--out", str(tmp_path), "--days", "7"],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert [row[0] for row in _csv(tmp_path / "outlets.csv")[1:]] == [
        "2008-05-02", "2024-01-27", "2024-01-28", "2024-01-29"]
    assert (tmp_path / "stories_per_outlet.png").read_bytes().startswith(b"\x89PNG")

    counts = _example().DailyCounts(tmp_path)  # the saved state
    assert counts.window(7) == [date(2024, 1, 23) + timedelta(days=n) for n in range(7)]
    figure = counts.figure(7)
    (axes,) = figure.axes
    assert isinstance(axes.xaxis.get_major_locator(), mdates.AutoDateLocator)
    low, high = (mdates.num2date(x).date() for x in axes.get_xlim())
    assert (low, high) == (date(2024, 1, 22), date(2024, 1, 29))  # half a day either side
    (line,) = axes.get_lines()
    assert list(line.get_ydata()) == [0, 0, 0, 0, 1, 1, 1]
