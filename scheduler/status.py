"""Per-source state in Redis: what ``newsmon status`` shows and the scheduler reads.

One hash per source (``Keys.source_state``), bounded: a fixed set of fields, overwritten or
incremented on every poll.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import redis

from newsmon.crawler.context import SourceReport
from newsmon.scheduler.keys import Keys


def record_poll(client: redis.Redis, keys: Keys, reports: Iterable[SourceReport], now: float | None = None) -> None:
    """Fold one crawl's reports into the sources' state."""
    now = time.time() if now is None else now
    pipe = client.pipeline(transaction=False)
    for report in reports:
        key = keys.source_state(report.name)
        c = report.counts
        fields: dict[str, str] = {
            "last_poll": f"{now:.3f}",
            "last_published": str(c["published"]),
            "last_entries": str(c["entries"]),
            "last_errors": str(c["errors"]),
            "state": "failed" if report.failed else ("degraded" if report.degraded else "ok"),
        }
        if report.errors:
            fields["last_error"] = report.errors[-1][:500]
        if not report.failed:
            fields["last_ok"] = f"{now:.3f}"
        pipe.hset(key, mapping=fields)
        pipe.hincrby(key, "polls", 1)
        pipe.hincrby(key, "published_total", c["published"])
        pipe.hincrby(key, "errors_total", c["errors"])
        if report.failed:
            pipe.hincrby(key, "consecutive_failures", 1)
        else:
            pipe.hset(key, "consecutive_failures", 0)
        pipe.sadd(keys.sources, report.name)
    pipe.execute()


def alive(client: redis.Redis, keys: Keys, role: str) -> list[str]:
    """Names of the processes of ``role`` whose heartbeat has not expired."""
    head = keys.health(role, "")
    pattern = head.replace("{", r"\{").replace("}", r"\}") + "*"
    return sorted(k.decode()[len(head):] for k in client.scan_iter(match=pattern, count=1000))


def set_next_poll(client: redis.Redis, keys: Keys, source: str, when: float) -> None:
    client.hset(keys.source_state(source), "next_poll", f"{when:.3f}")
    client.sadd(keys.sources, source)


@dataclass(frozen=True, slots=True)
class SourceStatus:
    name: str
    state: str
    last_poll: float | None
    next_poll: float | None
    polls: int
    last_published: int
    published_total: int
    errors_total: int
    consecutive_failures: int
    last_error: str | None


def read_status(client: redis.Redis, keys: Keys, names: Iterable[str]) -> list[SourceStatus]:
    names = list(names)
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(keys.source_state(name))
    out = []
    for name, raw in zip(names, pipe.execute(), strict=True):
        data = {k.decode(): v.decode() for k, v in raw.items()}

        def num(field: str, data: dict[str, str] = data) -> float | None:
            return float(data[field]) if field in data else None

        out.append(
            SourceStatus(
                name=name,
                state=data.get("state", "never polled"),
                last_poll=num("last_poll"),
                next_poll=num("next_poll"),
                polls=int(data.get("polls", 0)),
                last_published=int(data.get("last_published", 0)),
                published_total=int(data.get("published_total", 0)),
                errors_total=int(data.get("errors_total", 0)),
                consecutive_failures=int(data.get("consecutive_failures", 0)),
                last_error=data.get("last_error"),
            )
        )
    return out
