"""Is the daemon healthy? The answer of ``/healthz`` (:mod:`newsmon.scheduler.metrics`).

Healthy means: Redis answers, the scheduler's heartbeat is fresh and at least one worker's is.
A worker started alone (``newsmon worker --metrics``) is healthy when Redis answers and its own
heartbeat is fresh. The heartbeats are the TTL'd health keys the processes write every few
seconds (``Keys.health``), so the check holds across processes and hosts.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from newsmon.scheduler.keys import Keys
from newsmon.scheduler.status import alive


@dataclass(frozen=True, slots=True)
class Health:
    ok: bool
    reason: str  # one line: what is wrong, or what is alive


def check(client: redis.Redis, keys: Keys, *, worker: str | None = None) -> Health:
    """The daemon's health (``worker`` None), or the health of the one worker named ``worker``."""
    try:
        client.ping()
        schedulers = alive(client, keys, "scheduler")
        workers = alive(client, keys, "worker")
    except redis.RedisError as exc:
        return Health(False, f"Redis does not answer: {type(exc).__name__}")
    if worker is not None:
        if worker not in workers:
            return Health(False, f"worker {worker} sent no heartbeat recently")
        return Health(True, f"worker {worker} alive")
    if not schedulers:
        return Health(False, "the scheduler sent no heartbeat recently")
    if not workers:
        return Health(False, "no worker alive (no worker heartbeat recently)")
    return Health(True, f"scheduler alive, {len(workers)} worker(s) alive")
