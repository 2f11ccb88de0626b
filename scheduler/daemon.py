"""The scheduler role, and the supervisor that ``newsmon run`` adds to it.

The scheduler decides what is due and queues poll jobs; it never crawls. Its policy is
explicit: one interval job per source (id ``poll:<source>``), ``coalesce`` (missed runs
collapse into one), ``max_instances=1``, a misfire grace time and jitter. A source whose poll is
still queued or running is not queued again (see :class:`~newsmon.scheduler.jobs.JobQueue`).

Politeness is applied here too (the policy is :mod:`newsmon.crawler.politeness`): a source
whose polls failed is left alone until its ``backoff_until``; a source whose hosts all asked
to be left alone (Retry-After) is not polled until one of them may be asked again; and each
job's interval adapts to how often the source publishes, between ``min_interval`` and
``max_interval``, never below the refresh period its feed declares.

The supervisor runs N ``newsmon worker`` processes beside it, restarts one that dies (with
back-off), replaces one that stops sending heartbeats (hung), and on a warm stop asks them to
finish their crawl and waits for them. When every worker dies at start a few times in a row
(a broken install or environment), it gives up with the workers' last error instead of
restarting them forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
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


#: A worker that exits with an error sooner than this after it started "died at start".
EARLY_EXIT = 15.0
#: When every worker died at start this many times in a row, the supervisor gives up.
CRASH_LOOP = 3


@dataclass
class _Slot:
    index: int
    instance: str = ""  # the daemon's instance id: names stay unique across daemons sharing a Redis
    process: asyncio.subprocess.Process | None = None
    started: float = 0.0
    restarts: int = 0
    backoff: float = 1.0
    next_start: float = 0.0
    early_exits: int = 0  # deaths at start in a row
    last_line: str = ""  # the last line the worker wrote to stderr: its error, when it died
    relay: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        if self.instance:
            return f"{socket.gethostname()}:{self.instance}:w{self.index}"
        return f"{socket.gethostname()}:w{self.index}"


class Supervisor:
    """Keeps N worker processes running."""

    def __init__(self, config: Config, client: redis.Redis, keys: Keys, *, workers: int,
                 redis_url: str, config_path: Path | None, instance: str = "") -> None:
        self.config = config
        self.client = client
        self.keys = keys
        self.redis_url = redis_url
        self.config_path = config_path
        self.slots = [_Slot(i, instance) for i in range(workers)]
        self.instance = instance
        #: The copy of the configuration file the workers load (see :meth:`snapshot`).
        self.snapshot_path: Path | None = None
        self.hung_after = config.scheduler.hung_after.total_seconds()
        self.outage = Outage("the supervisor")

    def snapshot(self, text: bytes | None) -> None:
        """Keep ``text``, the configuration file as the daemon validated it, for the workers.

        Workers load the copy, never the file itself: one started after the file was edited
        but before a reload (a replacement after a crash, or after its crawl budget) gets the
        configuration the daemon runs, valid, rather than a file that may be invalid (it would
        die at start, again and again). The copy lives under ``data_dir/run``; the workers take
        their data directory and Redis from the environment, so where the copy lives changes
        none of their settings.
        """
        if text is None:
            return
        directory = self.config.data_dir / "run"
        path = directory / f"config-{self.instance or os.getpid()}.yaml"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            temporary.write_bytes(text)
            temporary.replace(path)
        except OSError as exc:
            logger.warning("Could not keep a copy of the configuration for the workers (%s); they read %s",
                           exc, self.config_path or "the packaged example")
            return
        self.snapshot_path = path

    def _command(self, slot: _Slot) -> list[str]:
        # -P: the current directory is not put on sys.path, so a folder there (a source
        # checkout, a "newsmon/" of the user's) can never shadow the installed package.
        cmd = [sys.executable, "-P", "-m", "newsmon.scheduler.cli"]
        config_path = self.snapshot_path or self.config_path
        if config_path is not None:
            cmd += ["--config", str(config_path)]
        # The workers log at the daemon's level and format, whichever of flag, environment or file set it.
        return [*cmd, "--log-level", self.config.log_level, "--log-format", self.config.log_format,
                "worker", "--name", slot.name, "--supervised"]

    async def _spawn(self, slot: _Slot) -> None:
        env = dict(os.environ, REDIS_URL=self.redis_url, NEWSMON_DATA_DIR=str(self.config.data_dir))
        # A session of its own: a Ctrl-C in the terminal reaches the supervisor only, which
        # then stops the workers in order (a second signal to a worker is a cold stop).
        # Born with SIGHUP blocked (the mask is inherited through exec): a reload forwarded while
        # the worker is still starting waits until its handler is in place, rather than killing
        # it (SIGHUP's default action) or being lost. The worker unblocks it.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
        try:
            slot.process = await asyncio.create_subprocess_exec(
                *self._command(slot), env=env, stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        slot.started = time.monotonic()
        slot.last_line = ""
        slot.relay = asyncio.ensure_future(self._relay(slot, slot.process))
        logger.info("Worker %s started (pid %d)", slot.name, slot.process.pid)

    @staticmethod
    async def _relay(slot: _Slot, process: asyncio.subprocess.Process) -> None:
        """Copy the worker's stderr (its log) to ours, keeping its last line for a crash report."""
        assert process.stderr is not None
        out = sys.stderr.buffer
        while line := await process.stderr.readline():
            # Our stderr may be gone (a closed terminal): keep reading, or the worker would
            # block on a full pipe in the middle of its warm stop.
            with contextlib.suppress(OSError, ValueError):
                out.write(line)
                out.flush()
            text = line.decode("utf-8", "replace").strip()
            if text:
                slot.last_line = text[:500]

    async def run(self, stop: asyncio.Event) -> str | None:
        """Supervise until ``stop`` is set, then return None; the workers are stopped by :meth:`stop`.

        Returns:
            Why the workers cannot be kept running, when every one of them died at start
            :data:`CRASH_LOOP` times in a row (a broken install or environment: restarting
            them again would only loop).
        """
        for slot in self.slots:
            await self._spawn(slot)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)
            if stop.is_set():
                break
            await self._check(slot_list=self.slots)
            if all(slot.early_exits >= CRASH_LOOP for slot in self.slots):
                last = self.slots[-1]
                return (f"every worker exited within {EARLY_EXIT:.0f}s of starting, {CRASH_LOOP} times in a row; "
                        f"giving up. Last error from worker {last.name}: {last.last_line or '(nothing on stderr)'}")
        return None

    async def _check(self, slot_list: list[_Slot]) -> None:
        now = time.monotonic()
        beats = await self._heartbeats(slot_list)
        for slot in slot_list:
            proc = slot.process
            if proc is not None and proc.returncode is None:
                if beats is not None and now - slot.started > self.hung_after and self._hung(beats[slot.name]):
                    logger.error("Worker %s sent no heartbeat for %.0fs: killing it", slot.name, self.hung_after)
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    await proc.wait()
                else:
                    continue
            if proc is not None and proc.returncode is not None:
                code = proc.returncode
                lived = now - slot.started
                if slot.relay is not None:
                    # The pipe closes with the process; wait for its last lines.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(slot.relay, timeout=2.0)
                slot.process = None
                slot.restarts += 1
                slot.early_exits = slot.early_exits + 1 if code != 0 and lived < EARLY_EXIT else 0
                if code == 0:
                    logger.info("Worker %s exited (recycled after its crawl budget); replacing it", slot.name)
                    slot.backoff = 1.0
                    slot.next_start = now
                else:
                    slot.backoff = 1.0 if lived > 60 else min(slot.backoff * 2, 30.0)
                    slot.next_start = now + slot.backoff
                    logger.warning("Worker %s died (exit %s); restarting in %.0fs (restart %d)",
                                   slot.name, code, slot.backoff, slot.restarts)
            if slot.process is None and now >= slot.next_start:
                await self._spawn(slot)

    async def _heartbeats(self, slot_list: list[_Slot]) -> dict[str, bytes | None] | None:
        """The workers' heartbeats by name; None when they cannot be judged now: Redis is away,
        or came back less than ``hung_after`` ago (a worker could not beat while it was away)."""
        names = [slot.name for slot in slot_list]
        try:
            values = await asyncio.to_thread(self.client.mget, [self.keys.health("worker", n) for n in names])
        except redis.RedisError as exc:
            if not is_outage(exc):
                raise
            self.outage.failed(exc)
            return None
        self.outage.ok()
        if self.outage.back_at and time.monotonic() - self.outage.back_at < self.hung_after:
            return None
        return dict(zip(names, values, strict=True))

    def _hung(self, beat: bytes | None) -> bool:
        if beat is None:
            return True
        return time.time() - float(beat.split()[0]) > self.hung_after

    def reload(self, config: Config, text: bytes | None = None) -> None:
        """Take ``config`` (read from ``text``, when known) and pass the reload on: SIGHUP to
        every running worker.

        The workers stay: each reads the file again between two crawls (its crawl in flight
        finishes with the settings it began with). A worker started later reads the new file
        anyway. Restarting them instead would throw away their warm state (the Scrapy
        process, the robots and DNS caches) and their crawls in flight for nothing.
        """
        self.config = config
        self.hung_after = config.scheduler.hung_after.total_seconds()
        self.snapshot(text)
        for slot in self.slots:
            proc = slot.process
            if proc is not None and proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGHUP)

    async def stop(self, timeout: float) -> None:
        """Warm stop: SIGTERM every worker, wait, then SIGKILL the ones still running."""
        running = [s.process for s in self.slots if s.process is not None and s.process.returncode is None]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        if self.snapshot_path is not None:
            # The workers read it at start only; those stopping are past that.
            self.snapshot_path.unlink(missing_ok=True)
        if not running:
            return
        await asyncio.wait([asyncio.ensure_future(p.wait()) for p in running], timeout=timeout)
        for proc in running:
            if proc.returncode is None:
                logger.warning("Worker pid %d did not stop in %.0fs: killing it", proc.pid, timeout)
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()

    def kill(self, grace: float = 2.0) -> None:
        """Cold stop: SIGKILL every worker this supervisor started, and wait (at most ``grace``
        seconds) until they are gone, so that they no longer hold Redis connections.

        Synchronous, for a signal handler that exits right after. Only the processes of
        :attr:`slots` are signalled, and only while they have not been reaped (their PID is
        still theirs).
        """
        running = [s.process for s in self.slots if s.process is not None and s.process.returncode is None]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        if not hasattr(os, "waitid"):  # macOS before Python 3.13: no way to look without reaping
            return
        deadline = time.monotonic() + grace
        for proc in running:
            while time.monotonic() < deadline:
                try:
                    # WNOWAIT: only look; asyncio's child watcher reaps it.
                    if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                        break
                except ChildProcessError:
                    break
                time.sleep(0.01)  # a killed process is gone within milliseconds; bounded above
