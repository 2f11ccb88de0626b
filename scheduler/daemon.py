"""The scheduler role: what is due, queued as poll jobs (``newsmon run`` adds the supervised
workers of :mod:`newsmon.scheduler.supervisor`).

The scheduler decides what is due and queues poll jobs; it never crawls. Its policy is
explicit: one interval job per source (id ``poll:<source>``), ``coalesce`` (missed runs
collapse into one), ``max_instances=1``, a misfire grace time and jitter. A source whose poll is
still queued or running is not queued again (see :class:`~newsmon.scheduler.jobs.JobQueue`).

Politeness is applied here too (the policy is :mod:`newsmon.crawler.politeness`): a source
whose polls failed is left alone until its ``backoff_until``; a source whose hosts all asked
to be left alone (Retry-After) is not polled until one of them may be asked again; and each
job's interval adapts to how often the source publishes, between ``min_interval`` and
``max_interval``, never below the refresh period its feed declares.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import redis
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from newsmon.crawler.politeness import adaptive_interval
from newsmon.scheduler.alerts import Notifier, evaluate
from newsmon.scheduler.jobs import JobQueue
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.outage import Outage, is_outage
from newsmon.scheduler.reload import Changes
from newsmon.scheduler.status import failure_cause, next_poll_after_backoff, set_next_poll
from newsmon.settings.model import Config, Source

logger = logging.getLogger(__name__)


class Scheduler:
    """Queues a poll job for each source at its interval."""

    def __init__(self, config: Config, client: redis.Redis, keys: Keys) -> None:
        self.config = config
        self.client = client
        self.keys = keys
        self.queue = JobQueue(client, keys, config.scheduler.job_lease)
        self.outage = Outage("the scheduler")
        self._missed: set[str] = set()  # sources whose tick fell in a Redis outage
        self._round_from = time.time()  # the current round of polls: every source polled since then
        self._all_failed = False  # the last round's every poll failed (warned once, until one succeeds)
        self._held: dict[str, str] = {}  # why each source was last held back (logged once per reason)
        self.notifier: Notifier | None = None
        policy = config.scheduler
        self.aps = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": int(policy.misfire_grace.total_seconds()) or None,
            },
        )

    def _jitter(self, interval: float) -> int | None:
        jitter = int(self.config.scheduler.jitter.total_seconds()) or None
        # Jitter spreads sources over time; never more than a tenth of the interval.
        return min(jitter, max(0, int(interval / 10))) if jitter else None

    def _schedule(self, source: Source, next_run_time: datetime) -> None:
        try:
            interval = self._interval(source)
        except redis.RedisError as exc:
            # Redis away (a reload in an outage): the configured interval; the job adapts at
            # its first run once Redis is back (see _adapt).
            logger.debug("[%s] adaptive interval unknown (%s); polling every %s", source.name, exc, source.interval)
            interval = source.interval.total_seconds()
        self.aps.add_job(
            self.enqueue,
            "interval",
            seconds=interval,
            jitter=self._jitter(interval),
            id=f"poll:{source.name}",
            name=f"poll {source.name}",
            replace_existing=True,
            args=[source.name],
            next_run_time=next_run_time,
        )

    def start(self) -> None:
        self.queue.ensure_group()
        now = datetime.now(UTC)
        for source in self.config.sources:
            if source.enabled:
                self._schedule(source, now)
        # Every 2s: the heartbeat is also what notices that Redis is back after an outage.
        self.aps.add_job(self.heartbeat, "interval", seconds=2, id="heartbeat", replace_existing=True,
                         next_run_time=now)
        self.aps.add_job(self.check_round, "interval", seconds=5, id="check-round", replace_existing=True)
        self.aps.add_job(self.maintain_feed, "interval", minutes=10, id="maintain-feed", replace_existing=True,
                         next_run_time=now)
        if self.config.alerts.enabled:
            self.notifier = Notifier.from_config(self.config)
            self.aps.add_job(self.check_alerts, "interval", seconds=self.config.alerts.check_every.total_seconds(),
                             id="check-alerts", replace_existing=True)
        self.aps.start()
        logger.info("Scheduler started: %d sources", sum(1 for s in self.config.sources if s.enabled))
        self._report_backoff()

    def _report_backoff(self) -> None:
        """One INFO line at start when sources are in back-off from earlier failed polls (each is
        then named once, at its first skipped tick): a restart never waits for them silently."""
        names = [s.name for s in self.config.sources if s.enabled]
        try:
            pipe = self.client.pipeline(transaction=False)
            for name in names:
                pipe.hget(self.keys.source_state(name), "backoff_until")
            ends = [float(v) for v in pipe.execute() if v]
        except redis.RedisError:
            return  # the first tick reports the outage
        now = time.time()
        ends = [end for end in ends if end > now]
        if ends:
            first, last = (datetime.fromtimestamp(t, UTC).strftime("%H:%M:%SZ") for t in (min(ends), max(ends)))
            logger.info("%d of %d sources are in back-off after failed polls, until %s%s (newsmon status "
                        "shows each)", len(ends), len(names), first, "" if first == last else f" to {last}")

    def apply(self, config: Config, changes: Changes) -> None:
        """Run ``config`` from now on (a reload): add, remove and replace the sources' jobs.

        An added source is polled at once; a changed one keeps its next poll when it is sooner
        than its new interval (its job is replaced with the new settings), else it is polled
        at once; a removed or disabled one loses its job (its queued poll, if any, is dropped
        by the worker that claims it).
        """
        self.config = config
        self.queue = JobQueue(self.client, self.keys, config.scheduler.job_lease)
        now = datetime.now(UTC)
        for name in changes.removed:
            with contextlib.suppress(JobLookupError):
                self.aps.remove_job(f"poll:{name}")
            self._missed.discard(name)
        for name in changes.added:
            self._schedule(config.source(name), now)
        for name in changes.changed:
            source = config.source(name)
            job = self.aps.get_job(f"poll:{name}")
            due = job.next_run_time if job is not None else None
            limit = now + source.interval
            self._schedule(source, due if due is not None and due <= limit else now)

    def enqueue(self, source: str) -> None:
        if not any(s.name == source and s.enabled for s in self.config.sources):
            return  # removed by a reload while this run was due
        if not self.outage.due():
            self._missed.add(source)  # Redis is away: queued as soon as it is back
            return
        try:
            held = self._held_back(self.config.source(source))
            queued = False if held else self.queue.enqueue(source)
            interval = self._adapt(self.config.source(source))
            job = self.aps.get_job(f"poll:{source}")
            if job is not None and job.next_run_time is not None:
                # The poll that will happen: the next tick, or the first one after the back-off.
                backoff_until, = self._state(source, "backoff_until")
                when = next_poll_after_backoff(job.next_run_time.timestamp(), backoff_until,
                                               interval or job.trigger.interval.total_seconds())
                set_next_poll(self.client, self.keys, source, when, interval)
        except redis.RedisError as exc:
            if is_outage(exc):
                self.outage.failed(exc)
                self._missed.add(source)
            else:
                logger.error("[%s] could not queue a poll job: %s", source, exc)
            return
        self._missed.discard(source)
        if self.outage.ok():
            self._catch_up()
        if held:
            # Once per back-off (its end is in the reason), not at every tick it skips.
            if self._held.get(source) != held:
                logger.info("[%s] not polled: %s", source, held)
            self._held[source] = held
        else:
            self._held.pop(source, None)
        if queued:
            logger.debug("[%s] poll job queued", source)

    def _state(self, source: str, *fields: str) -> list[float | None]:
        values = self.client.hmget(self.keys.source_state(source), list(fields))
        return [float(v) if v else None for v in values]

    def _interval(self, source: Source) -> float:
        """The source's poll interval now: adapted to its publishing rate (see politeness)."""
        rate, declared_ttl = self._state(source.name, "rate", "declared_ttl")
        return adaptive_interval(
            source.interval.total_seconds(),
            rate,
            floor=source.min_interval.total_seconds() if source.min_interval is not None else None,
            ceiling=source.max_interval.total_seconds() if source.max_interval is not None else None,
            declared_ttl=declared_ttl,
        )

    def _adapt(self, source: Source) -> float | None:
        """Reschedule the source's job when its adaptive interval moved by more than 10%."""
        job = self.aps.get_job(f"poll:{source.name}")
        if job is None:
            return None
        current = job.trigger.interval.total_seconds()
        interval = self._interval(source)
        if abs(interval - current) > current / 10:
            logger.info("[%s] poll interval %.0fs -> %.0fs (publishing rate, bounds, declared ttl)",
                        source.name, current, interval)
            self.aps.reschedule_job(job.id, trigger="interval", seconds=interval, jitter=self._jitter(interval))
            return interval
        return current

    def _held_back(self, source: Source) -> str | None:
        """Why the source is not to be polled now (back-off, Retry-After), or None."""
        now = time.time()
        backoff_until, interval = self._state(source.name, "backoff_until", "interval")
        # Half an interval of slack: a tick a little before the end of the back-off goes ahead.
        if backoff_until is not None and backoff_until - now > (interval or source.interval.total_seconds()) / 2:
            until = datetime.fromtimestamp(backoff_until, UTC).strftime("%H:%M:%SZ")
            return f"backing off after failed polls until {until}"
        urls = (*source.feeds, *source.sitemaps, *source.pages, *((source.home,) if source.home else ()))
        hosts = sorted({h for h in (urlsplit(u).hostname for u in urls) if h})
        if hosts:
            pipe = self.client.pipeline(transaction=False)
            for host in hosts:
                pipe.exists(self.keys.host_block(host))
            if all(pipe.execute()):
                return f"{', '.join(hosts)} asked to be left alone (Retry-After)"
        return None

    def check_round(self) -> None:
        """One WARNING when every source failed in a round of polls (each source polled once
        since the last round): no network, most likely, which no single source's line says."""
        names = [s.name for s in self.config.sources if s.enabled]
        if not names or not self.outage.due():
            return
        try:
            pipe = self.client.pipeline(transaction=False)
            for name in names:
                pipe.hmget(self.keys.source_state(name), ["last_poll", "state", "last_error"])
            rows = pipe.execute()
        except redis.RedisError as exc:
            if is_outage(exc):
                self.outage.failed(exc)
            else:
                logger.error("Could not read the sources' state: %s", exc)
            return
        polled = [float(last_poll) for last_poll, _, _ in rows if last_poll]
        if len(polled) < len(names) or min(polled) < self._round_from:
            return  # the round is not over
        self._round_from = max(polled)
        all_failed = all(state == b"failed" for _, state, _ in rows)
        if all_failed and not self._all_failed:
            errors = [error.decode("utf-8", "replace") for _, _, error in rows if error]
            logger.warning("Every source failed in the last round of polls (%d sources): %s",
                           len(names), failure_cause(errors))
        elif self._all_failed and not all_failed:
            logger.info("Sources answer again: not every poll of the last round failed")
        self._all_failed = all_failed

    def maintain_feed(self) -> None:
        """Trim the article stream by age/length and warn before a group loses unread records."""
        from newsmon.scheduler.feed import retention_warnings, trim

        try:
            trimmed = trim(self.client, self.keys, self.config.feed)
            if trimmed:
                logger.info("Trimmed %d records older than the feed's retention", trimmed)
            for warning in retention_warnings(self.client, self.keys, self.config.feed):
                logger.warning("%s", warning)
        except redis.RedisError as exc:
            if is_outage(exc):
                self.outage.failed(exc)  # tried again at the next run
            else:
                logger.error("Could not maintain the article stream: %s", exc)

    def check_alerts(self) -> None:
        """Bring the silent-failure alerts up to date and notify the webhooks of changes."""
        try:
            started, ended = evaluate(self.client, self.keys, self.config)
        except redis.RedisError as exc:
            if is_outage(exc):
                self.outage.failed(exc)
            else:
                logger.error("Could not evaluate the alerts: %s", exc)
            return
        if self.notifier is not None:
            self.notifier.send(started, "firing")
            self.notifier.send(ended, "resolved")

    def heartbeat(self) -> None:
        """The scheduler's health key; also the probe that notices Redis is back during an outage."""
        try:
            self.client.set(self.keys.health("scheduler", socket.gethostname()), f"{time.time():.3f}", ex=15)
        except redis.RedisError as exc:
            if is_outage(exc):
                self.outage.failed(exc)
            else:
                logger.error("Could not write the scheduler's heartbeat: %s", exc)
            return
        if self.outage.ok() or self._missed:
            self._catch_up()

    def _catch_up(self) -> None:
        """Queue at once the polls whose ticks fell in the outage, rather than an interval later."""
        for source in sorted(self._missed):
            self.enqueue(source)

    def shutdown(self) -> None:
        if self.aps.running:
            self.aps.shutdown(wait=False)
        if self.notifier is not None:
            self.notifier.close()
        with contextlib.suppress(redis.RedisError):
            self.client.delete(self.keys.health("scheduler", socket.gethostname()))
