"""Cumulative politeness counters per host, folded into Redis after each crawl.

Each worker's crawl counts, in its Scrapy stats, the requests that waited for a host's slot
(``newsmon/host_slots/waited/<host>``, ``wait_ms/<host>``) and the Retry-After blocks a host set
(``newsmon/retry_after/blocks/<host>``, ``deferred/<host>``). :func:`record_host_stats` adds them
to one Redis hash (``Keys.host_stats``) so that the metrics endpoint reads the sum over every
worker, past and present. The hash is bounded: past :data:`MAX_HOSTS` hosts, only hosts already
in it are counted (the label set of the exported metrics stays bounded too).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import redis

from newsmon.scheduler.keys import Keys

#: Hosts counted at most; a new host past this bound is not counted.
MAX_HOSTS = 500
#: (Scrapy stats prefix, field counter name): the per-host stats that are kept.
STATS = (
    ("newsmon/host_slots/waited/", "waits"),
    ("newsmon/host_slots/wait_ms/", "wait_ms"),
    ("newsmon/retry_after/blocks/", "retry_after_blocks"),
    ("newsmon/retry_after/deferred/", "retry_after_deferred"),
)
COUNTER_NAMES = tuple(name for _, name in STATS)


def per_host(stats: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """The per-host counters of one crawl's Scrapy stats: host -> counter -> value."""
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for key, value in stats.items():
        for prefix, name in STATS:
            if key.startswith(prefix) and isinstance(value, int):
                out[key[len(prefix):]][name] = value
    return dict(out)


def record_host_stats(client: redis.Redis, keys: Keys, stats: Mapping[str, Any]) -> None:
    """Add one crawl's per-host counters to the shared hash."""
    hosts = per_host(stats)
    if not hosts:
        return
    known = client.hlen(keys.host_stats)
    if known >= MAX_HOSTS * len(COUNTER_NAMES):
        present = client.hmget(keys.host_stats, [f"{h}|waits" for h in hosts])
        hosts = {h: c for (h, c), value in zip(hosts.items(), present, strict=True) if value is not None}
    pipe = client.pipeline(transaction=False)
    for host, counts in hosts.items():
        for name in COUNTER_NAMES:
            pipe.hincrby(keys.host_stats, f"{host}|{name}", counts.get(name, 0))
    pipe.execute()


def read_host_stats(client: redis.Redis, keys: Keys) -> dict[str, dict[str, int]]:
    """Every counted host's counters: host -> counter -> value."""
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for field, value in client.hgetall(keys.host_stats).items():
        host, _, name = field.decode().rpartition("|")
        if host and name in COUNTER_NAMES:
            out[host][name] = int(value)
    return dict(out)
