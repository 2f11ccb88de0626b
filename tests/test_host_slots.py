"""The host gate: ``host_slot.lua`` against a real Redis, and the middleware that waits on it.

Times are the ones the script hands out and stores (a ``now`` the test passes, or the Redis
server's clock), never gaps measured by the test: those are in bench/politeness.py.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
import redis
from scrapy import Spider, signals
from scrapy.http import Request, Response
from scrapy.utils.test import get_crawler

from newsmon.crawler.middlewares.host_slots import CrawlClosing, HostSlotsMiddleware
from newsmon.crawler.middlewares.retry_after import HostDeferred
from newsmon.scheduler.hosts import LEASE_MARGIN, HostGate
from newsmon.scheduler.keys import Keys
from newsmon.settings.model import FetchSettings

HOST = "news.example"
T0 = 1_750_000_000_000  # ms


def _gate(client: redis.Redis, keys: Keys, **fetch: float) -> HostGate:
    return HostGate(client, keys, replace(FetchSettings(), **fetch))  # type: ignore[arg-type]


def test_grants_keep_the_delay_between_request_starts(redis_client: redis.Redis, keys: Keys) -> None:
    """After a grant the host's next start is delay later; an ask before it waits exactly the rest."""
    gate = _gate(redis_client, keys, delay=1.0, concurrency_per_host=4)
    assert gate.acquire(HOST, now_ms=T0).granted
    assert gate.next_start(HOST) == T0 + 1000
    early = gate.acquire(HOST, now_ms=T0 + 400)
    assert (early.granted, early.reason, early.wait) == (False, "delay", 0.6)
    assert gate.acquire(HOST, now_ms=T0 + 1000).granted
    assert gate.acquire(HOST, now_ms=T0 + 2500).granted
    assert [start for start, _ in gate.grants(HOST)] == [T0, T0 + 1000, T0 + 2500]
    assert gate.next_start(HOST) == T0 + 3500
    assert gate.next_start("other.example") is None


def test_grants_on_the_server_clock_keep_the_delay(redis_client: redis.Redis, keys: Keys) -> None:
    """Without a given time the script uses Redis TIME: the stored next start is the grant's start plus the delay."""
    gate = _gate(redis_client, keys, delay=30.0)
    assert gate.acquire(HOST).granted
    (start, _), = gate.grants(HOST)
    assert gate.next_start(HOST) == start + 30_000
    second = gate.acquire(HOST)
    assert (second.granted, second.reason) == (False, "delay")
    assert 0 < second.wait <= 30.0


def test_concurrency_limit_refuses_the_next_until_a_release(redis_client: redis.Redis, keys: Keys) -> None:
    """With concurrency_per_host 2, a third ask is refused as busy until one of the two is released."""
    gate = _gate(redis_client, keys, delay=0.0, concurrency_per_host=2)
    first, second = gate.acquire(HOST, now_ms=T0), gate.acquire(HOST, now_ms=T0)
    assert first.granted
    assert second.granted
    assert first.token != second.token
    third = gate.acquire(HOST, now_ms=T0 + 10)
    assert (third.granted, third.reason) == (False, "busy")
    assert 0 < third.wait <= 0.05
    assert first.token is not None
    gate.release(HOST, first.token)
    assert gate.in_flight(HOST) == 1
    assert gate.acquire(HOST, now_ms=T0 + 20).granted
    assert gate.in_flight(HOST) == 2


def test_an_expired_lease_comes_back(redis_client: redis.Redis, keys: Keys) -> None:
    """A slot never released (a crashed worker) is handed out again once its lease, timeout plus margin, is over."""
    gate = _gate(redis_client, keys, delay=0.0, concurrency_per_host=1, timeout=10.0)
    lease_ms = int((10.0 + LEASE_MARGIN) * 1000)
    assert gate.acquire(HOST, now_ms=T0).granted
    assert gate.acquire(HOST, now_ms=T0 + lease_ms - 1).reason == "busy"
    assert gate.acquire(HOST, now_ms=T0 + lease_ms).granted
    assert gate.in_flight(HOST) == 1
    ttl = redis_client.pttl(keys.host_leases(HOST))
    assert 0 < ttl <= lease_ms


def test_crawl_delay_raises_the_hosts_delay_for_every_asker(redis_client: redis.Redis, keys: Keys) -> None:
    """A Crawl-delay longer than fetch.delay spaces grants, also for askers that do not know it; 0 clears it."""
    gate = _gate(redis_client, keys, delay=1.0, concurrency_per_host=10)
    other_worker = _gate(redis_client, keys, delay=1.0, concurrency_per_host=10)
    assert gate.acquire(HOST, crawl_delay=3.0, now_ms=T0).granted
    assert gate.next_start(HOST) == T0 + 3000
    assert other_worker.acquire(HOST, now_ms=T0 + 1000).reason == "delay"
    assert other_worker.acquire(HOST, now_ms=T0 + 3000).granted
    assert gate.next_start(HOST) == T0 + 6000  # the stored Crawl-delay applied
    assert gate.acquire(HOST, crawl_delay=0.5, now_ms=T0 + 6000).granted
    assert gate.next_start(HOST) == T0 + 7000  # fetch.delay is the floor


def test_a_retry_after_block_holds_the_host(redis_client: redis.Redis, keys: Keys) -> None:
    """While the host's Retry-After key lives, no slot is granted, however long ago the last one was."""
    gate = _gate(redis_client, keys, delay=0.0)
    redis_client.set(keys.host_block(HOST), "1", px=4000)
    blocked = gate.acquire(HOST, now_ms=T0)
    assert (blocked.granted, blocked.reason) == (False, "blocked")
    assert 0 < blocked.wait <= 4.0
    redis_client.delete(keys.host_block(HOST))
    assert gate.acquire(HOST, now_ms=T0).granted


def test_host_keys_expire(redis_client: redis.Redis, keys: Keys) -> None:
    """Every key the gate writes carries a TTL, and the grant list is capped."""
    gate = HostGate(redis_client, keys, FetchSettings(delay=0.0, concurrency_per_host=100), max_grants=3)
    for i in range(5):
        assert gate.acquire(HOST, now_ms=T0 + i).granted
    assert len(gate.grants(HOST)) == 3
    for key in (keys.host_state(HOST), keys.host_leases(HOST), keys.host_grants(HOST)):
        assert redis_client.pttl(key) > 0


# -- the middleware -----------------------------------------------------------------------------
def _middleware(gate: HostGate) -> tuple[HostSlotsMiddleware, object]:
    crawler = get_crawler(Spider)
    return HostSlotsMiddleware(crawler, gate), crawler


def test_middleware_gives_the_slot_back_on_answer_and_on_failure(redis_client: redis.Redis, keys: Keys) -> None:
    """A request holds a slot from process_request until its response or its exception."""
    gate = _gate(redis_client, keys, delay=0.0, concurrency_per_host=2)
    middleware, _ = _middleware(gate)
    ok, failing = Request(f"http://{HOST}/a"), Request(f"http://{HOST}/b")

    async def main() -> None:
        await middleware.process_request(ok)
        await middleware.process_request(failing)

    asyncio.run(main())
    assert gate.in_flight(HOST) == 2
    middleware.process_response(ok, Response(ok.url, request=ok))
    middleware.process_exception(failing, ConnectionError("reset"))
    assert gate.in_flight(HOST) == 0
    # An answer the request never asked a slot for (a middleware answered it) changes nothing.
    middleware.process_response(ok, Response(ok.url, request=ok))
    assert gate.in_flight(HOST) == 0


def test_closing_the_crawl_gives_slots_back_and_stops_waiters(redis_client: redis.Redis, keys: Keys) -> None:
    """When the crawl closes, slots still held are released, and a request waiting for its host is dropped."""
    gate = _gate(redis_client, keys, delay=60.0, concurrency_per_host=2)
    middleware, crawler = _middleware(gate)
    first, second = Request(f"http://{HOST}/a"), Request(f"http://{HOST}/b")

    async def main() -> None:
        await middleware.process_request(first)
        waiting = asyncio.ensure_future(middleware.process_request(second))
        await asyncio.sleep(0)  # let it ask and start waiting out the 60 s delay
        crawler.signals.send_catch_log(signal=signals.spider_closed)  # type: ignore[attr-defined]
        assert gate.in_flight(HOST) == 0
        with pytest.raises(CrawlClosing):
            await waiting
        with pytest.raises(CrawlClosing):
            await middleware.process_request(Request(f"http://{HOST}/c"))

    asyncio.run(main())


def test_a_long_block_defers_a_request_and_a_short_one_is_waited(redis_client: redis.Redis, keys: Keys) -> None:
    """A Retry-After block longer than the crawl waits defers the request; a short one is slept out."""
    gate = _gate(redis_client, keys, delay=0.0)
    middleware, _ = _middleware(gate)
    redis_client.set(keys.host_block(HOST), "1", ex=3600)
    with pytest.raises(HostDeferred):
        asyncio.run(middleware.process_request(Request(f"http://{HOST}/a")))
    redis_client.set(keys.host_block(HOST), "1", px=50)
    request = Request(f"http://{HOST}/b")
    asyncio.run(middleware.process_request(request))
    assert request.meta["retry_after_waits"] == 1
    assert gate.in_flight(HOST) == 1
