"""The metrics endpoint and the health check over real daemon processes."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from newsmon.scheduler.keys import Keys
from tests.helpers import records, run_newsmon, start_newsmon, stop, wait_for, write_config
from tests.newsroom import Newsroom
from tests.redis_process import free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def room() -> Newsroom:
    with Newsroom() as newsroom:
        yield newsroom


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def _samples(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Metric samples by name, then by sorted labels."""
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def _published(samples: dict[str, dict[tuple[tuple[str, str], ...], float]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for labels, value in samples.get("newsmon_source_published_total", {}).items():
        counts[dict(labels)["source"]] += int(value)
    return counts


def test_run_serves_metrics_that_add_up_to_the_feed_and_a_healthy_healthz(
    room: Newsroom, redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """``run --workers 2 --metrics`` serves Prometheus text whose per-source published counters
    equal the records each source has in the feed (summed over both workers), and /healthz 200."""
    config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix, interval="1h")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    daemon = start_newsmon("--config", str(config), "run", "--workers", "2", "--metrics", f"127.0.0.1:{port}",
                           log=tmp_path / "daemon.log")
    names = [o.name for o in room.outlets]
    try:
        wait_for(lambda: all(redis_client.hget(keys.source_state(n), "polls") for n in names), timeout=90,
                 what="one poll of every source")
        _, text = wait_for(lambda: (r := _get(f"{base}/metrics"))[0] == 200 and r, what="/metrics")
        samples = _samples(text)
        in_feed = Counter(r["source"] for r in records(redis_client, keys))
        assert sum(in_feed.values()) > 0
        assert {s: n for s, n in _published(samples).items() if n} == dict(in_feed)
        assert {dict(k)["source"] for k in samples["newsmon_source_polls_total"]} == set(names)
        assert samples["newsmon_feed_length"][()] == sum(in_feed.values())
        assert samples["newsmon_redis_up"][()] == 1
        assert samples["newsmon_workers_alive"][()] == 2
        assert "newsmon_redis_rtt_seconds" in samples
        health = wait_for(lambda: (r := _get(f"{base}/healthz"))[0] == 200 and r, what="/healthz 200")
        assert "2 worker(s) alive" in health[1]
    finally:
        code = stop(daemon)
    assert code == 0, (tmp_path / "daemon.log").read_text()[-3000:]


def test_scheduler_alone_is_unhealthy_without_a_worker(
    room: Newsroom, redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """``scheduler --metrics`` with no worker alive answers /healthz 503 naming the reason, while
    /metrics still answers."""
    config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix, interval="1h")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    daemon = start_newsmon("--config", str(config), "scheduler", "--metrics", f"127.0.0.1:{port}",
                           log=tmp_path / "daemon.log")
    try:
        # Until its first heartbeat, the reason is the scheduler's own; then it is the workers'.
        status, body = wait_for(lambda: "no worker" in (r := _get(f"{base}/healthz"))[1] and r,
                                what="/healthz to name the missing workers")
        assert status == 503
        assert body.startswith("no worker alive")
        status, text = _get(f"{base}/metrics")
        assert status == 200
        assert _samples(text)["newsmon_workers_alive"][()] == 0
    finally:
        code = stop(daemon)
    assert code == 0, (tmp_path / "daemon.log").read_text()[-3000:]


def test_a_refused_metrics_address_is_a_usage_error(
    room: Newsroom, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    """``--metrics`` with something other than HOST:PORT exits 2 with a one-line message."""
    config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix)
    result = run_newsmon("--config", str(config), "scheduler", "--metrics", "localhost")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith('newsmon: --metrics: expected host:port like')


def test_all_sources_failing_raise_alerts_in_redis_metrics_and_webhook(
    room: Newsroom, redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """With every outlet unreachable, the scheduler raises a ``failing`` alert per source after
    N failed polls in a row and one ``all_failing``, keeps them in Redis, exports them as
    ``newsmon_alert`` and POSTs them as JSON events to the alert webhook."""
    from tests.webhook_receiver import Receiver

    with Receiver() as receiver:
        config = write_config(
            tmp_path / "newsmon.yaml", room, redis_url, redis_prefix, interval="1s", only=[room.outlets[0].name],
            alerts={"check_every": "1s", "failed_polls": 2, "webhooks": [{"name": "ops", "url": receiver.url}]},
            fetch={"timeout": "2s", "retries": 0},
        )
        name = room.outlets[0].name
        room.stop()  # every request is refused from now on
        port = free_port()
        daemon = start_newsmon("--config", str(config), "run", "--workers", "1", "--metrics", f"127.0.0.1:{port}",
                               log=tmp_path / "daemon.log")
        try:
            fields = wait_for(lambda: {f.decode() for f in redis_client.hkeys(keys.alerts)} >= {
                f"failing:{name}", "all_failing:*"} and redis_client.hkeys(keys.alerts), timeout=90,
                what="the failing alerts")
            assert {f.decode() for f in fields} <= {f"failing:{name}", "all_failing:*"}
            _, text = _get(f"http://127.0.0.1:{port}/metrics")
            alerts = _samples(text)["newsmon_alert"]
            assert alerts[(("kind", "failing"), ("source", name))] == 1
            assert alerts[(("kind", "all_failing"), ("source", "*"))] == 1
            events = wait_for(lambda: len(receiver.bodies) >= 2 and receiver.bodies, what="two alert events")
        finally:
            code = stop(daemon)
    assert code == 0, (tmp_path / "daemon.log").read_text()[-3000:]
    kinds = {(e["kind"], e["source"], e["state"]) for e in map(json.loads, events)}
    assert {("failing", name, "firing"), ("all_failing", "*", "firing")} <= kinds
    assert all({"kind", "source", "since", "detail"} <= set(json.loads(e)) for e in events)


def test_a_worker_started_alone_serves_its_own_health(
    room: Newsroom, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    """``worker --metrics`` answers /healthz 200 for itself (no scheduler needed) and serves /metrics."""
    config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix, interval="1h")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    worker = start_newsmon("--config", str(config), "worker", "--name", "solo", "--metrics", f"127.0.0.1:{port}",
                           log=tmp_path / "worker.log")
    try:
        status, body = wait_for(lambda: (r := _get(f"{base}/healthz"))[0] == 200 and r, timeout=60,
                                what="/healthz 200")
        assert body.strip() == "worker solo alive"
        status, text = _get(f"{base}/metrics")
        assert status == 200
        assert _samples(text)["newsmon_workers_alive"][()] == 1
    finally:
        code = stop(worker)
    assert code == 0, (tmp_path / "worker.log").read_text()[-3000:]
