"""Silent-failure alerts computed from what the workers record, over a real Redis."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import redis

from newsmon.crawler.context import SourceReport
from newsmon.scheduler.alerts import active_alerts, evaluate
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.status import record_poll
from newsmon.settings.model import AlertSettings, Config, Source

HOUR = 3600.0


def _config(*names: str, **alerts: object) -> Config:
    sources = tuple(Source(name=n, feeds=(f"https://{n}.example/feed",)) for n in names)
    return Config(sources=sources, data_dir=Path("var"), alerts=AlertSettings(**alerts))  # type: ignore[arg-type]


def _report(name: str, **counts: int) -> SourceReport:
    report = SourceReport(name)
    for what, n in counts.items():
        report.count(what, n)
    return report


def _failed(name: str) -> SourceReport:
    report = _report(name, documents_failed=1)
    report.error("https://x.example/feed: connection refused")
    return report


def _kinds(client: redis.Redis, keys: Keys) -> set[tuple[str, str]]:
    return {(a.kind, a.source) for a in active_alerts(client, keys)}


def test_n_failed_polls_in_a_row_raise_failing_and_a_success_ends_it(redis_client: redis.Redis, keys: Keys) -> None:
    """A source whose last ``failed_polls`` polls failed is "failing"; one fewer is not; a poll
    that reads it again ends the alert."""
    config = _config("a", "b", failed_polls=3)
    now = 1_000_000.0
    for i in range(2):
        record_poll(redis_client, keys, [_failed("a"), _report("b", documents_read=1)], now=now + i)
    evaluate(redis_client, keys, config, now=now + 2)
    assert _kinds(redis_client, keys) == set()
    record_poll(redis_client, keys, [_failed("a"), _report("b", documents_read=1)], now=now + 3)
    started, _ = evaluate(redis_client, keys, config, now=now + 4)
    assert [(a.kind, a.source) for a in started] == [("failing", "a")]
    assert "3 polls failed" in started[0].detail
    record_poll(redis_client, keys, [_report("a", documents_read=1)], now=now + 5)
    _, ended = evaluate(redis_client, keys, config, now=now + 6)
    assert [(a.kind, a.source) for a in ended] == [("failing", "a")]
    assert _kinds(redis_client, keys) == set()


def test_every_source_failing_raises_all_failing(redis_client: redis.Redis, keys: Keys) -> None:
    """When the last poll of every polled source failed, one ``all_failing`` alert stands for them."""
    config = _config("a", "b", failed_polls=5)
    record_poll(redis_client, keys, [_failed("a"), _report("b", documents_read=1)], now=100.0)
    evaluate(redis_client, keys, config, now=101.0)
    assert ("all_failing", "*") not in _kinds(redis_client, keys)
    record_poll(redis_client, keys, [_failed("b")], now=102.0)
    evaluate(redis_client, keys, config, now=103.0)
    assert _kinds(redis_client, keys) == {("all_failing", "*")}


def test_a_source_silent_for_much_longer_than_its_cadence_is_silent(redis_client: redis.Redis, keys: Keys) -> None:
    """A source that found new links every hour and then none for 4 hours and more is "silent";
    its learned cadence is the one it had when it last found something, not the decayed rate."""
    config = _config("a", silence_factor=4.0, min_silence=timedelta(minutes=30))
    now = 1_000_000.0
    for i in range(6):  # one new link an hour
        record_poll(redis_client, keys, [_report("a", documents_read=1, new=1)], now=now + i * HOUR)
    last_new = now + 5 * HOUR
    for i in range(1, 5):  # then polls that find nothing new
        record_poll(redis_client, keys, [_report("a", documents_read=1)], now=last_new + i * HOUR)
    evaluate(redis_client, keys, config, now=last_new + 3.5 * HOUR)
    assert _kinds(redis_client, keys) == set()
    started, _ = evaluate(redis_client, keys, config, now=last_new + 4.5 * HOUR)
    assert [(a.kind, a.source) for a in started] == [("silent", "a")]
    assert started[0].since == pytest.approx(last_new + 4 * HOUR, abs=1)  # the rate is kept to 9 decimals


def test_most_pages_rejected_is_a_template_change(redis_client: redis.Redis, keys: Keys) -> None:
    """A poll where most fetched pages were rejected (empty extraction) raises "rejected"; too
    few pages to judge do not."""
    config = _config("a", "b", rejected_ratio=0.8, min_pages=3)
    record_poll(redis_client, keys, [_report("a", documents_read=1, fetched=5, rejected=4),
                                     _report("b", documents_read=1, fetched=2, rejected=2)], now=10.0)
    started, _ = evaluate(redis_client, keys, config, now=11.0)
    assert [(a.kind, a.source) for a in started] == [("rejected", "a")]
    assert "template" in started[0].detail


def test_alert_events_carry_kind_source_since_and_detail(redis_client: redis.Redis, keys: Keys) -> None:
    """An alert's event is a small JSON-ready object with its schema version and an ISO time."""
    config = _config("a", failed_polls=1)
    record_poll(redis_client, keys, [_failed("a")], now=0.0)
    evaluate(redis_client, keys, config, now=60.0)
    (failing,) = [a for a in active_alerts(redis_client, keys) if a.kind == "failing"]
    assert failing.event() == {"schema_version": 1, "kind": "failing", "source": "a", "state": "firing",
                               "since": "1970-01-01T00:01:00+00:00", "detail": "the last poll failed"}


def test_status_prints_the_alerts_in_force(redis_client: redis.Redis, keys: Keys, redis_url: str,
                                          tmp_path: Path) -> None:
    """``newsmon status`` ends with one ``alert:`` line per alert in force."""
    from tests.helpers import run_newsmon

    (tmp_path / "newsmon.yaml").write_text(f"redis: {{url: '{redis_url}', prefix: '{keys.prefix}'}}\n"
                                           "sources: [{name: a, feeds: ['https://a.example/f']}]\n")
    config = _config("a", failed_polls=1)
    record_poll(redis_client, keys, [_failed("a")], now=0.0)
    evaluate(redis_client, keys, config, now=60.0)
    result = run_newsmon("--config", str(tmp_path / "newsmon.yaml"), "status")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("alert: ")]
    assert lines == ["alert: [*] all_failing since 1970-01-01 00:01:00Z: the last poll of every source failed "
                     "(1 source)",
                     "alert: [a] failing since 1970-01-01 00:01:00Z: the last poll failed"]
