"""Politeness policy: Retry-After, back-off, adaptive intervals, robots.txt outcomes, and where
the daemon applies them (the source state and the scheduler)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis

from newsmon.crawler import scrapy_settings
from newsmon.crawler.context import SourceReport
from newsmon.crawler.middlewares.robots import RobotsMiddleware, RobotsPolicy
from newsmon.crawler.politeness import (
    ALLOW_ALL,
    DENY_ALL,
    MAX_BACKOFF,
    RULES,
    adaptive_interval,
    backoff_delay,
    retry_after_seconds,
    robots_outcome,
    update_rate,
)
from newsmon.scheduler.daemon import Scheduler
from newsmon.scheduler.hosts import HostGate
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.status import record_poll
from newsmon.scheduler.worker import make_context
from newsmon.settings.loader import load_config
from newsmon.settings.model import Config, Source

NOW = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)


# -- Retry-After ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "seconds"),
    [("120", 120.0), (b"0", 0.0), (" 30 ", 30.0), (format_datetime(NOW + timedelta(hours=2), usegmt=True), 7200.0),
     ("Tue, 10 Jun 2025 11:00:00 GMT", 0.0), ("soon", None), ("", None), (None, None), ("-5", None),
     ("1e9", None), ("\u00b2", None)],
)
def test_retry_after_reads_seconds_and_dates(header: str | bytes | None, seconds: float | None) -> None:
    """Retry-After is delta-seconds or an HTTP-date (a past date is 0); anything else is None."""
    assert retry_after_seconds(header, NOW) == seconds


# -- back-off ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("interval", "failures", "delay"),
    [(900, 0, 900), (900, 1, 1800), (900, 2, 3600), (900, 4, 14400), (900, 5, MAX_BACKOFF), (900, 40, MAX_BACKOFF),
     (60, 10, 24 * 60), (86400, 3, 86400)],
)
def test_backoff_doubles_up_to_its_caps(interval: float, failures: int, delay: float) -> None:
    """interval x 2^failures, at most 24 intervals and 6 hours, never less than one interval."""
    assert backoff_delay(interval, failures) == delay


# -- adaptive interval ------------------------------------------------------------------------
def test_publishing_rate_is_an_average_over_polls() -> None:
    """The first poll says nothing; later ones fold new-per-second into an EWMA."""
    assert update_rate(None, 50, 0.0) is None
    first = update_rate(None, 6, 600.0)
    assert first == pytest.approx(0.01)
    assert update_rate(first, 0, 600.0) == pytest.approx(0.007)


@pytest.mark.parametrize(
    ("rate", "kwargs", "expected"),
    [
        (None, {}, 900.0),  # no observation yet: the configured interval
        (1.0, {}, 900.0),  # a wire service: never below the floor (the interval by default)
        (0.0, {}, 3600.0),  # silent: the ceiling, 4 intervals by default
        (1 / 1800, {}, 1800.0),  # one article every 30 min: poll every 30 min
        (1.0, {"floor": 120.0}, 120.0),
        (1.0, {"floor": 120.0, "declared_ttl": 600.0}, 600.0),  # the feed's ttl raises the floor
        (1.0, {"declared_ttl": 86400.0}, 3600.0),  # ... but not above the ceiling
        (0.0, {"ceiling": 7200.0}, 7200.0),
    ],
)
def test_adaptive_interval_follows_the_rate_within_bounds(rate: float | None, kwargs: dict[str, float],
                                                           expected: float) -> None:
    """One new article per poll, clamped to [floor, ceiling], never below the declared ttl."""
    assert adaptive_interval(900.0, rate, **kwargs) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, RULES), (404, ALLOW_ALL), (401, ALLOW_ALL), (429, DENY_ALL), (500, DENY_ALL), (503, DENY_ALL),
     (None, DENY_ALL), (302, DENY_ALL)],
)
def test_robots_outcomes_follow_rfc_9309(status: int | None, outcome: str) -> None:
    """2xx: rules; 4xx: allow all; 5xx, 429 or no answer: disallow all."""
    assert robots_outcome(status) == outcome


def test_robots_policy_matches_newsmon_user_agent() -> None:
    """Groups naming newsmon apply to its full User-Agent; Crawl-delay is read from the group."""
    policy = RobotsPolicy(RULES, "User-agent: newsmon\nDisallow: /x/\nCrawl-delay: 4\n\nUser-agent: *\nDisallow: /\n")
    agent = "newsmon/0.1.0 (+https://example.org)"
    assert policy.allowed("http://h/y/1", agent)
    assert not policy.allowed("http://h/x/1", agent)
    assert policy.crawl_delay(agent) == 4.0
    assert not RobotsPolicy(DENY_ALL).allowed("http://h/", agent)


def test_unreachable_robots_txt_keeps_the_previous_copy(redis_client: redis.Redis, keys: Keys) -> None:
    """A 5xx after a good robots.txt goes on with the stored copy (RFC 9309 §2.4), asked again soon."""
    config = Config(sources=(Source("a", feeds=("http://h/f",)),))
    ctx = make_context(config, redis_client, keys, ["a"])
    crawler = SimpleNamespace(settings={"USER_AGENT": "newsmon/1"}, stats=None)
    middleware = RobotsMiddleware(crawler, ctx)  # type: ignore[arg-type,unused-ignore]
    middleware._store("http://h", "a", RULES, 200, "User-agent: *\nDisallow: /private/\n")
    kept = middleware._store("http://h", "a", DENY_ALL, 503, "")
    assert kept.outcome == RULES
    assert not kept.allowed("http://h/private/1", "newsmon/1")
    expires = float(redis_client.hget(keys.robots("http://h"), "expires") or 0)
    assert time.time() < expires <= time.time() + 15 * 60
    fresh = Keys(keys.prefix + "x")
    try:
        denied = RobotsMiddleware(crawler, make_context(config, redis_client, fresh, ["a"]))  # type: ignore[arg-type,unused-ignore]
        assert denied._store("http://h", "a", DENY_ALL, None, "").outcome == DENY_ALL
    finally:
        redis_client.delete(fresh.robots("http://h"))


# -- the source state -------------------------------------------------------------------------
def _report(name: str, **counts: int) -> SourceReport:
    report = SourceReport(name)
    report.counts.update(counts)
    return report


def test_a_failed_poll_sets_backoff_and_a_good_one_clears_it(redis_client: redis.Redis, keys: Keys) -> None:
    """backoff_until is interval x 2^failures ahead (the interval the scheduler wrote); success clears it."""
    key = keys.source_state("a")
    redis_client.hset(key, "interval", "600")
    record_poll(redis_client, keys, [_report("a", documents_failed=1)], now=1000.0)
    record_poll(redis_client, keys, [_report("a", documents_failed=1)], now=2000.0)
    assert float(redis_client.hget(key, "backoff_until") or 0) == 2000.0 + 600 * 4
    assert redis_client.hget(key, "state") == b"failed"
    record_poll(redis_client, keys, [_report("a", documents_read=1)], now=3000.0)
    assert redis_client.hget(key, "backoff_until") is None
    assert redis_client.hget(key, "consecutive_failures") == b"0"


def test_polls_record_the_publishing_rate_and_declared_ttl(redis_client: redis.Redis, keys: Keys) -> None:
    """The second poll of a source turns its new entries into a rate; a declared ttl is kept."""
    key = keys.source_state("a")
    record_poll(redis_client, keys, [_report("a", documents_read=1, new=30)], now=1000.0)
    assert redis_client.hget(key, "rate") is None
    record_poll(redis_client, keys, [_report("a", documents_read=1, new=6, declared_ttl=300)], now=1600.0)
    assert float(redis_client.hget(key, "rate") or 0) == pytest.approx(0.01)
    record_poll(redis_client, keys, [_report("a", documents_unchanged=1)], now=2200.0)
    assert float(redis_client.hget(key, "rate") or 0) == pytest.approx(0.007)
    assert redis_client.hget(key, "declared_ttl") == b"300"


def test_a_poll_that_was_all_deferred_is_not_a_failure(redis_client: redis.Redis, keys: Keys) -> None:
    """Nothing read because the host asked to wait: state deferred, no back-off, no rate sample."""
    record_poll(redis_client, keys, [_report("a", deferred=1)], now=1000.0)
    record_poll(redis_client, keys, [_report("a", deferred=1)], now=1600.0)
    state = redis_client.hgetall(keys.source_state("a"))
    assert state[b"state"] == b"deferred"
    assert b"backoff_until" not in state
    assert b"rate" not in state


# -- the scheduler ----------------------------------------------------------------------------
def _run(client: redis.Redis, keys: Keys, config: Config, body: object) -> None:
    async def main() -> None:
        scheduler = Scheduler(config, client, keys)
        scheduler.start()
        scheduler.aps.pause()  # the test calls enqueue itself
        try:
            body(scheduler)  # type: ignore[operator]
        finally:
            scheduler.shutdown()

    asyncio.run(main())


def test_scheduler_skips_a_source_in_backoff(redis_client: redis.Redis, keys: Keys) -> None:
    """While backoff_until is ahead, enqueue queues nothing; once it is past, the poll is queued."""
    config = Config(sources=(Source("a", interval=timedelta(minutes=10), feeds=("http://a.example/f",)),))
    key = keys.source_state("a")

    def body(scheduler: Scheduler) -> None:
        redis_client.hset(key, "backoff_until", f"{time.time() + 3600}")
        scheduler.enqueue("a")
        assert scheduler.queue.queued() == 0
        redis_client.hset(key, "backoff_until", f"{time.time() - 1}")
        scheduler.enqueue("a")
        assert scheduler.queue.queued() == 1

    _run(redis_client, keys, config, body)


def test_scheduler_skips_a_source_whose_hosts_are_all_blocked(redis_client: redis.Redis, keys: Keys) -> None:
    """Retry-After blocks on every host of a source hold its poll; one free host lets it through."""
    source = Source("a", feeds=("http://a.example/f",), sitemaps=("http://b.example/s",))
    config = Config(sources=(source,))

    def body(scheduler: Scheduler) -> None:
        redis_client.set(keys.host_block("a.example"), "1", ex=60)
        redis_client.set(keys.host_block("b.example"), "1", ex=60)
        scheduler.enqueue("a")
        assert scheduler.queue.queued() == 0
        redis_client.delete(keys.host_block("b.example"))
        scheduler.enqueue("a")
        assert scheduler.queue.queued() == 1

    try:
        _run(redis_client, keys, config, body)
    finally:
        redis_client.delete(keys.host_block("a.example"), keys.host_block("b.example"))


def test_scheduler_adapts_the_interval_to_the_publishing_rate(redis_client: redis.Redis, keys: Keys) -> None:
    """A quiet source's job is rescheduled to its ceiling; a busy one with a low floor to that floor."""
    config = Config(sources=(
        Source("quiet", interval=timedelta(minutes=10), feeds=("http://q.example/f",)),
        Source("busy", interval=timedelta(minutes=10), min_interval=timedelta(minutes=2), feeds=("http://b.example/f",)),
    ))

    def body(scheduler: Scheduler) -> None:
        redis_client.hset(keys.source_state("quiet"), "rate", "0")
        redis_client.hset(keys.source_state("busy"), "rate", "1")
        scheduler.enqueue("quiet")
        scheduler.enqueue("busy")
        assert scheduler.aps.get_job("poll:quiet").trigger.interval == timedelta(minutes=40)
        assert scheduler.aps.get_job("poll:busy").trigger.interval == timedelta(minutes=2)
        assert float(redis_client.hget(keys.source_state("quiet"), "interval") or 0) == 2400.0

    _run(redis_client, keys, config, body)


def test_an_unchanged_degraded_document_stays_degraded(redis_client: redis.Redis, keys: Keys) -> None:
    """A malformed feed found unchanged next poll is still degraded; a clean read clears it."""
    degraded = _report("a", documents_read=1)
    degraded.degraded.append("http://a.example/feed")
    record_poll(redis_client, keys, [degraded], now=1000.0)
    record_poll(redis_client, keys, [_report("a", documents_unchanged=1)], now=1600.0)
    assert redis_client.hget(keys.source_state("a"), "state") == b"degraded"
    record_poll(redis_client, keys, [_report("a", documents_read=1)], now=2200.0)
    assert redis_client.hget(keys.source_state("a"), "state") == b"ok"


# -- fetch.delay ------------------------------------------------------------------------------
@pytest.mark.parametrize("delay", ["1", "2.5s"])
def test_fetch_delay_is_left_to_the_host_gate(tmp_path: Path, delay: str) -> None:
    """Scrapy's per-slot delay is off (it would add to the shared gate's and die with the crawl); the
    host gate is the last downloader middleware, and gets fetch.delay in milliseconds."""
    path = tmp_path / "newsmon.yaml"
    path.write_text(f"fetch:\n  delay: {delay}\nsources:\n  - name: a\n    feeds: [https://a.example/rss]\n")
    config = load_config(path, env={})
    settings = scrapy_settings.build(config)
    assert settings["DOWNLOAD_DELAY"] == 0
    assert settings["DOWNLOAD_DELAY_JITTER"] == 0
    middlewares = {name: order for name, order in settings["DOWNLOADER_MIDDLEWARES"].items() if order is not None}
    assert max(middlewares, key=middlewares.__getitem__).endswith("HostSlotsMiddleware")
    assert max(middlewares.values()) > 600  # after RedirectMiddleware: first to see an answer
    assert HostGate(redis.Redis(), Keys(), config.fetch).delay_ms == config.fetch.delay * 1000
