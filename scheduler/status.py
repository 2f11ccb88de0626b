"""Per-source state in Redis: what ``newsmon status`` shows and the scheduler reads.

One hash per source (``Keys.source_state``), bounded: a fixed set of fields, overwritten or
incremented on every poll.

Besides counters it keeps what the scheduler's policy needs (``newsmon.crawler.politeness``):

- ``backoff_until``: set when a poll failed entirely (every document of the source failed),
  ``interval x 2^failures`` ahead; the scheduler does not poll the source before then.
- ``rate``: new entries per second, an average over polls; ``declared_ttl``: the refresh
  period its feeds declare. The scheduler derives the adaptive ``interval`` from them and
  writes it back here.
- ``state``: ``ok``, ``degraded`` (a document was malformed and read in part), ``deferred``
  (nothing read: the host asked to be left alone, Retry-After) or ``failed``.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

import redis

from newsmon.crawler.context import COUNTERS, SourceReport
from newsmon.crawler.politeness import backoff_delay, update_rate
from newsmon.scheduler.feed import retention_warnings
from newsmon.scheduler.jobs import JobQueue
from newsmon.scheduler.keys import Keys
from newsmon.settings.model import Config

#: The events a published record carries; each is counted apart (``total:published:<event>``).
PUBLISH_EVENTS = ("new", "duplicate", "updated")
#: The interval assumed for back-off when the scheduler never wrote one (``newsmon crawl``).
DEFAULT_INTERVAL = timedelta(minutes=15).total_seconds()
_PREVIOUS = ("last_poll", "rate", "interval", "consecutive_failures", "state")


def _state(report: SourceReport, previous: str | None) -> str:
    c = report.counts
    if report.failed:
        return "failed"
    if c["deferred"] and not (c["documents_read"] or c["documents_unchanged"]):
        return "deferred"
    if report.degraded:
        return "degraded"
    if previous == "degraded" and c["documents_unchanged"] and not c["documents_read"]:
        return "degraded"  # the malformed document has not changed since it was read
    return "ok"


def record_poll(client: redis.Redis, keys: Keys, reports: Iterable[SourceReport], now: float | None = None) -> None:
    """Fold one crawl's reports into the sources' state."""
    now = time.time() if now is None else now
    reports = list(reports)
    read = client.pipeline(transaction=False)
    for report in reports:
        read.hmget(keys.source_state(report.name), _PREVIOUS)
    previous = [dict(zip(_PREVIOUS, values, strict=True)) for values in read.execute()]
    pipe = client.pipeline(transaction=False)
    for report, before in zip(reports, previous, strict=True):
        key = keys.source_state(report.name)
        c = report.counts
        state = _state(report, before["state"].decode() if before["state"] else None)
        fields: dict[str, str] = {
            "last_poll": f"{now:.3f}",
            "last_published": str(c["published"]),
            "last_entries": str(c["entries"]),
            "last_new": str(c["new"]),
            "last_errors": str(c["errors"]),
            "last_deferred": str(c["deferred"]),
            "last_fetched": str(c["fetched"]),
            "last_rejected": str(c["rejected"]),
            "state": state,
        }
        if report.errors:
            fields["last_error"] = report.errors[-1][:500]
        if c["declared_ttl"]:
            fields["declared_ttl"] = str(c["declared_ttl"])
        if state in ("ok", "degraded"):
            # Only a poll that read the source says how often it publishes.
            last_poll = _float(before["last_poll"])
            rate = update_rate(_float(before["rate"]), c["new"], now - last_poll if last_poll else 0.0)
            if rate is not None:
                fields["rate"] = f"{rate:.9f}"
        _mark_activity(fields, c, before["rate"], now)
        if not report.failed:
            fields["last_ok"] = f"{now:.3f}"
        pipe.hset(key, mapping=fields)
        pipe.hincrby(key, "polls", 1)
        pipe.hincrby(key, "published_total", c["published"])
        pipe.hincrby(key, "errors_total", c["errors"])
        # Cumulative counters for the metrics endpoint: written once per poll, here, so the
        # counts of every worker process add up, and survive a worker's restart.
        for name in COUNTERS:
            pipe.hincrby(key, f"total:{name}", c[name])
        for event in PUBLISH_EVENTS:
            pipe.hincrby(key, f"total:published:{event}", c[f"published:{event}"])
        if report.failed:
            failures = int(_float(before["consecutive_failures"]) or 0) + 1
            delay = backoff_delay(_float(before["interval"]) or DEFAULT_INTERVAL, failures)
            pipe.hincrby(key, "consecutive_failures", 1)
            pipe.hset(key, "backoff_until", f"{now + delay:.3f}")
        else:
            pipe.hset(key, "consecutive_failures", 0)
            pipe.hdel(key, "backoff_until")
        pipe.sadd(keys.sources, report.name)
    pipe.execute()


def _mark_activity(fields: dict[str, str], c: Counter[str], rate_before: bytes | None, now: float) -> None:
    """When the source last found new links and published, and its cadence then (the silence alert)."""
    if c["new"]:
        fields["last_new_at"] = f"{now:.3f}"
        # The rate decays while a source is silent: the alert measures against the one it had.
        if cadence := fields.get("rate") or (rate_before.decode() if rate_before else None):
            fields["rate_at_new"] = cadence
    if c["published"]:
        fields["last_published_at"] = f"{now:.3f}"


def _float(value: bytes | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


#: Causes of a failed fetch, as their messages say them, and what they mean when every source
#: failed of them: (words in the error, the sentence).
_CAUSES = (
    ("cannot resolve", "no source could be resolved: is there a network?"),
    ("timed out", "every request timed out: is there a network?"),
    ("timeout", "every request timed out: is there a network?"),
    ("connection refused", "every connection was refused"),
    ("non-public address", "the sources resolve to private addresses (see fetch.allow_private_addresses)"),
)


def failure_cause(errors: Iterable[str]) -> str:
    """The commonest cause among fetch errors (``"<url>: <why>"``), as one sentence."""
    counts: Counter[str] = Counter()
    for message in errors:
        lowered = message.lower()
        cause = next((sentence for words, sentence in _CAUSES if words in lowered), None)
        if cause is None:
            # Group the rest by what follows the URL ("HTTP 503", "not a feed"...).
            why = message.split(": ", 1)[-1]
            cause = f"commonest error: {why}"
        counts[cause] += 1
    if not counts:
        return "no error was recorded"
    return counts.most_common(1)[0][0]


def alive(client: redis.Redis, keys: Keys, role: str) -> list[str]:
    """Names of the processes of ``role`` whose heartbeat has not expired."""
    head = keys.health(role, "")
    pattern = head.replace("{", r"\{").replace("}", r"\}") + "*"
    return sorted(k.decode()[len(head):] for k in client.scan_iter(match=pattern, count=1000))


def next_poll_after_backoff(tick: float, backoff_until: float | None, interval: float | None) -> float:
    """When the scheduler polls a source whose job ticks next at ``tick``, every ``interval``
    seconds: ticks that fall in the back-off are skipped, except the one within half an
    interval of its end (the slack of the scheduler's ``_held_back``)."""
    if backoff_until is None or not interval or interval <= 0 or backoff_until - tick <= interval / 2:
        return tick
    skipped = math.ceil((backoff_until - tick - interval / 2) / interval)
    return tick + skipped * interval


def set_next_poll(client: redis.Redis, keys: Keys, source: str, when: float, interval: float | None = None) -> None:
    fields: dict[str, str] = {"next_poll": f"{when:.3f}"}
    if interval is not None:
        fields["interval"] = f"{interval:.3f}"
    client.hset(keys.source_state(source), mapping=fields)
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
    backoff_until: float | None = None  # no poll before this (the source's polls failed)
    interval: float | None = None  # seconds, as the scheduler adapts it
    new_per_hour: float | None = None  # how often the source publishes (average over polls)
    declared_ttl: float | None = None  # seconds; the refresh period its feeds declare

    def shown_state(self, now: float | None = None) -> str:
        """``state``, or ``backoff`` while the scheduler leaves the source alone."""
        now = time.time() if now is None else now
        if self.backoff_until is not None and self.backoff_until > now:
            return "backoff"
        return self.state

    def expected_poll(self) -> float | None:
        """The next poll as the scheduler will make it: its next tick, or the first one it does
        not skip for back-off. None before the scheduler ever scheduled the source."""
        if self.next_poll is None:
            return None
        return next_poll_after_backoff(self.next_poll, self.backoff_until, self.interval)


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
                backoff_until=num("backoff_until"),
                interval=num("interval"),
                new_per_hour=None if "rate" not in data else float(data["rate"]) * 3600,
                declared_ttl=num("declared_ttl"),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class Overview:
    """What ``newsmon status`` shows: the sources, the live workers, the job queue, the feed."""

    sources: list[SourceStatus]
    schedulers: list[str]  # hosts of the schedulers whose heartbeat has not expired
    workers: list[str]  # names of the workers whose heartbeat has not expired
    jobs_queued: int
    jobs_pending: int  # read by a worker and not yet acknowledged
    warnings: list[str]  # the feed's retention warnings

    @property
    def stale(self) -> bool:
        """No scheduler runs: the sources' state is from the last daemon's run, and no poll is due."""
        return not self.schedulers


def overview(client: redis.Redis, keys: Keys, config: Config) -> Overview:
    """The state of every configured source and of the daemon around them."""
    sources = read_status(client, keys, [s.name for s in config.sources])
    queue = JobQueue(client, keys, config.scheduler.job_lease)
    schedulers, workers = alive(client, keys, "scheduler"), alive(client, keys, "worker")
    queued, pending = queue.queued(), queue.pending()
    warnings = list(retention_warnings(client, keys, config.feed))
    return Overview(sources=sources, schedulers=schedulers, workers=workers, jobs_queued=queued,
                    jobs_pending=pending, warnings=warnings)
