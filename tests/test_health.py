"""The health check behind /healthz reads the processes' heartbeat keys in Redis."""

from __future__ import annotations

import redis

from newsmon.scheduler.health import check
from newsmon.scheduler.keys import Keys


def test_health_needs_the_scheduler_and_one_worker(redis_client: redis.Redis, keys: Keys) -> None:
    """Unhealthy without a scheduler heartbeat, then without a worker's, healthy with both, and
    unhealthy again once the worker's heartbeat is gone (a hung or dead worker)."""
    assert check(redis_client, keys).reason == "the scheduler sent no heartbeat recently"
    redis_client.set(keys.health("scheduler", "host"), "1", ex=15)
    health = check(redis_client, keys)
    assert not health.ok
    assert health.reason.startswith("no worker alive")
    redis_client.set(keys.health("worker", "host:w0"), "1", ex=15)
    assert check(redis_client, keys).ok
    assert check(redis_client, keys, worker="host:w0").ok
    redis_client.delete(keys.health("worker", "host:w0"))
    assert not check(redis_client, keys).ok
    assert check(redis_client, keys, worker="host:w0").reason == "worker host:w0 sent no heartbeat recently"


def test_an_unreachable_redis_is_unhealthy(keys: Keys) -> None:
    """When Redis does not answer, the check says so instead of raising."""
    client = redis.Redis(unix_socket_path="/nonexistent/redis.sock", socket_timeout=1, socket_connect_timeout=1)
    health = check(client, keys)
    assert not health.ok
    assert health.reason.startswith("Redis does not answer")
