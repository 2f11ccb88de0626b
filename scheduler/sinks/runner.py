"""Feeds the sinks from the article stream, each through its own consumer group.

Each sink has one consumer group (``sink:<name>``), one consumer in it (``runner``) and at most
one process delivering it at a time (a Redis lease, ``Keys.sink_lock``): that is what keeps its
records in order. Items are acknowledged once the sink says they are delivered, so a sink that
is down, or a process that dies, loses nothing: the next holder of the lease reads the group's
pending entries first, oldest first. Delivery is at-least-once and in order.

The daemon runs :meth:`SinkRunner.run` as an asyncio task (each sink works in a thread of its
own, so a slow webhook holds up nobody); ``newsmon crawl`` calls :meth:`SinkRunner.drain_once`.
A Redis outage stops no sink for good: each waits for Redis with the runner's bounded back-off
(one WARNING for the sinks, one INFO when Redis is back) and takes up its lease again, which
it recognises by its token (the lease may have outlived the outage).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from newsmon.scheduler.feed import (
    BLOCK_SLICE,
    FeedItem,
    FeedReader,
    MalformedRecord,
    add_dead_letter,
    dead_letter_key,
    default_consumer,
)
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.outage import OUTAGE_ERRORS, Outage, is_outage
from newsmon.scheduler.sinks.base import Sink, SinkError
from newsmon.settings.model import FeedSettings

logger = logging.getLogger(__name__)

#: The one consumer of every sink group.
CONSUMER = "runner"
#: Entries a dead-letter list keeps (the newest).
DEAD_LETTER_CAP = 10_000
#: Seconds a sink's lease lasts unless renewed; renewed every third of it.
LEASE = 60.0

# KEYS[1] the lease key. ARGV[1] our token, ARGV[2] lease (ms). Takes the lease if it is free
# or already ours (held before an outage); returns 1 if we hold it now, else 0.
_ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
# KEYS[1] the lease key. ARGV[1] our token, ARGV[2] lease (ms). Renews the lease if we hold it;
# returns 1 if we did, else 0.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# KEYS[1] the lease key. ARGV[1] our token. Deletes the lease if we hold it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential back-off: ``base`` seconds after the first failure, doubling up to ``cap``."""

    base: float = 1.0
    cap: float = 60.0

    def delay(self, failures: int) -> float:
        return min(self.cap, self.base * 2 ** max(0, failures - 1))


class LeaseLost(RuntimeError):
    """Another process took over a sink (this one stalled longer than the lease)."""


class _Lease:
    """The exclusive right to deliver one sink, renewed while held.

    ``token`` names the holder: one per sink and process, so that after an outage the process
    takes up the lease it still holds instead of waiting for it to expire.
    """

    def __init__(self, client: redis.Redis, key: str, seconds: float, token: str | None = None) -> None:
        self.client, self.key, self.seconds = client, key, seconds
        self.token = token or f"{default_consumer()}:{uuid.uuid4().hex[:8]}"
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._due = 0.0

    def acquire(self) -> bool:
        if self._acquire(keys=[self.key], args=[self.token, int(self.seconds * 1000)]):
            self._due = time.monotonic() + self.seconds / 3
            return True
        return False

    def renew_if_due(self) -> None:
        if time.monotonic() < self._due:
            return
        if not self._renew(keys=[self.key], args=[self.token, int(self.seconds * 1000)]):
            raise LeaseLost(f"lost the lease {self.key}")
        self._due = time.monotonic() + self.seconds / 3

    def release(self) -> None:
        try:
            self._release(keys=[self.key], args=[self.token])
        except redis.RedisError as exc:  # it expires on its own
            if is_outage(exc):
                logger.debug("Could not release %s while Redis is away; it expires in %.0fs unless taken up again",
                             self.key, self.seconds)
            else:
                logger.warning("Could not release %s (%s); it expires in %.0fs", self.key, exc, self.seconds)


class SinkRunner:
    """Delivers the article stream to ``sinks``.

    Args:
        client: a Redis client (shared by the sinks' threads).
        keys: the key names.
        sinks: what :func:`~newsmon.scheduler.sinks.build_sinks` built.
        feed_settings: the feed settings (``claim_idle`` is not used: sink groups have one
            consumer, which takes up its own pending entries at start).
        batch: entries read from the stream at a time.
        backoff: waits between failed deliveries of one record, and between restarts.
        dead_letter_cap: how many entries each dead-letter list keeps.
        lease: seconds a process holds a sink without renewing.
    """

    def __init__(self, client: redis.Redis, keys: Keys, sinks: Sequence[Sink],
                 feed_settings: FeedSettings, *, batch: int = 100, backoff: Backoff | None = None,
                 dead_letter_cap: int = DEAD_LETTER_CAP, lease: float = LEASE) -> None:
        names = [sink.name for sink in sinks]
        if len(set(names)) != len(names):
            raise ValueError(f"sink names must be unique, got {names}")
        self.client = client
        self.keys = keys
        self.sinks = list(sinks)
        self.feed_settings = feed_settings
        self.batch = batch
        self.backoff = backoff or Backoff()
        self.dead_letter_cap = dead_letter_cap
        self.lease = lease
        #: Outcomes per (sink name, outcome): delivered, refused, unavailable, dead_lettered,
        #: restarted.
        self.counters: Counter[tuple[str, str]] = Counter()
        self.outage = Outage("the sinks")
        self._tokens = {sink.name: f"{default_consumer()}:{uuid.uuid4().hex[:8]}" for sink in self.sinks}

    # -- the daemon's task -------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set, then finish the chunk in hand and return.

        Cancelling the task is the cold stop: it returns at once, and what the sinks' threads
        have not acknowledged is delivered again next time.
        """
        if not self.sinks:
            await stop.wait()
            return
        halt = threading.Event()
        loop = asyncio.get_running_loop()
        pool = ThreadPoolExecutor(max_workers=len(self.sinks), thread_name_prefix="newsmon-sink")
        futures = [loop.run_in_executor(pool, self._serve, sink, halt) for sink in self.sinks]
        try:
            await stop.wait()
            halt.set()
            await asyncio.gather(*futures)
        finally:
            halt.set()
            pool.shutdown(wait=False)

    def _serve(self, sink: Sink, halt: threading.Event) -> None:
        failures = 0
        while not halt.is_set():
            started = time.monotonic()
            try:
                self._serve_until(sink, halt)
                return
            except OUTAGE_ERRORS as exc:
                halt.wait(self.outage.failed(exc))
                continue
            except (LeaseLost, SinkError, redis.RedisError) as exc:
                failures = self._failures(failures, started)
                logger.warning("Sink %s stopped: %s; restarting in %.1fs", sink.name, exc,
                               self.backoff.delay(failures))
            except Exception:
                failures = self._failures(failures, started)
                logger.exception("Sink %s failed; restarting in %.1fs", sink.name,
                                 self.backoff.delay(failures))
            self.counters[sink.name, "restarted"] += 1
            halt.wait(self.backoff.delay(failures))

    def _failures(self, failures: int, started: float) -> int:
        # A sink that had been working for a while starts its back-off over.
        return 1 if time.monotonic() - started > self.backoff.cap else failures + 1

    def _serve_until(self, sink: Sink, halt: threading.Event) -> None:
        lease = _Lease(self.client, self.keys.sink_lock(sink.name), self.lease, self._tokens[sink.name])
        waiting = False
        while not lease.acquire():
            if not waiting:
                logger.info("Sink %s is delivered by another process; waiting for it",
                            sink.name)
                waiting = True
            if halt.wait(self.lease / 6):
                return
        try:
            reader = self._start(sink)
            try:
                while not halt.is_set():
                    lease.renew_if_due()
                    items = reader.read(self.batch, block_ms=int(BLOCK_SLICE * 1000))
                    self.outage.ok()
                    if items:
                        self._deliver(sink, reader, items, lease, halt)
            except (LeaseLost, SinkError):
                _close(reader)  # not the records' fault: nothing it holds is blamed
                raise
            _close(reader)
        finally:
            lease.release()

    # -- ``newsmon crawl`` -------------------------------------------------------------------
    def drain_once(self) -> int:
        """Deliver everything the sinks have not had yet, without waiting; return how many.

        A sink whose destination is unavailable is left for later, its entries kept; a record
        a sink refuses is retried at once, up to its ``max_attempts``. A sink another process
        is delivering is skipped.

        Raises:
            redis.RedisError: Redis failed (nothing is lost: the entries stay pending).
        """
        total = 0
        for sink in self.sinks:
            lease = _Lease(self.client, self.keys.sink_lock(sink.name), self.lease)
            if not lease.acquire():
                logger.info("Sink %s is delivered by another process; skipped", sink.name)
                continue
            try:
                try:
                    reader = self._start(sink)
                except SinkError as exc:
                    logger.warning("Sink %s: %s; left for later", sink.name, exc)
                    continue
                while True:
                    lease.renew_if_due()
                    items = reader.read(self.batch)
                    if not items and reader.last_read_count == 0:
                        break
                    delivered, finished = self._deliver(sink, reader, items, lease, None)
                    total += delivered
                    if not finished:
                        break
                _close(reader)
            except LeaseLost as exc:  # this process stalled; the other holder carries on
                logger.warning("Sink %s: %s", sink.name, exc)
            except redis.RedisError:
                raise
            except Exception:  # a sink's bug must not end the crawl; its entries stay pending
                logger.exception("Sink %s failed; its records are left for later", sink.name)
            finally:
                lease.release()
        return total

    # -- delivery ----------------------------------------------------------------------------
    def _start(self, sink: Sink) -> FeedReader:
        reader = FeedReader(self.client, self.keys, sink.group, CONSUMER,
                            settings=self.feed_settings, from_id="0", claim_stale=False)
        sink.recover(reader.is_pending)
        return reader

    def _deliver(self, sink: Sink, reader: FeedReader, items: list[FeedItem], lease: _Lease,
                 halt: threading.Event | None) -> tuple[int, bool]:
        """Deliver ``items`` in order; returns (how many, whether all were dealt with).

        With ``halt`` (the daemon), failures are retried with back-off until they succeed or
        ``halt`` is set; without (a drain), an unavailable sink ends the attempt.
        """
        queue, delivered, refusals, failures = list(items), 0, 0, 0
        while queue:
            chunk = queue[: sink.chunk_size]
            try:
                sink.deliver(chunk)
            except MalformedRecord as exc:  # the reader screens entries; a sink may judge further
                bad = next((item for item in chunk if _malformed(item)), chunk[0])
                queue.remove(bad)
                self._dead_letter(sink, bad, f"malformed entry: {exc}", 1)
                continue
            except SinkError as exc:
                done = chunk[: max(0, exc.delivered)]
                if done:
                    reader.ack(done)
                    delivered += len(done)
                    self.counters[sink.name, "delivered"] += len(done)
                    queue, refusals = queue[len(done):], 0
                failures += 1
                self.counters[sink.name, "refused" if exc.rejected else "unavailable"] += 1
                if exc.rejected:
                    refusals += 1
                    if sink.max_attempts is not None and refusals >= sink.max_attempts:
                        self._dead_letter(sink, queue.pop(0), str(exc), refusals)
                        refusals = failures = 0
                        continue
                if halt is None and (not exc.rejected or sink.max_attempts is None):
                    logger.warning("Sink %s: %s; %d entries left for later", sink.name, exc,
                                   len(queue))
                    return delivered, False
                delay = self.backoff.delay(failures)
                if exc.retry_after is not None:
                    delay = min(max(delay, exc.retry_after), self.backoff.cap)
                if halt is None:  # a drain: a refusal is retried at once, up to max_attempts
                    logger.debug("Sink %s: %s; retrying entry %s", sink.name, exc, queue[0].id)
                    continue
                log = logger.warning if failures == 1 else logger.debug
                log("Sink %s: %s; retrying entry %s in %.1fs (failure %d)", sink.name, exc,
                    queue[0].id, delay, failures)
                if self._wait(delay, halt, lease):
                    return delivered, False
                continue
            reader.ack(chunk)
            delivered += len(chunk)
            self.counters[sink.name, "delivered"] += len(chunk)
            queue, refusals = queue[len(chunk):], 0
            if failures:
                logger.info("Sink %s: delivering again after %d failures", sink.name, failures)
                failures = 0
            if halt is not None and halt.is_set():
                return delivered, not queue
            lease.renew_if_due()
        return delivered, True

    def _wait(self, delay: float, halt: threading.Event, lease: _Lease) -> bool:
        """Wait ``delay`` seconds, keeping the lease; True if ``halt`` was set meanwhile."""
        deadline = time.monotonic() + delay
        while (left := deadline - time.monotonic()) > 0:
            if halt.wait(min(left, self.lease / 6)):
                return True
            lease.renew_if_due()
        return halt.is_set()

    def _dead_letter(self, sink: Sink, item: FeedItem, error: str, attempts: int,
                     reader: FeedReader | None = None) -> None:
        key = dead_letter_key(self.keys, sink.group)
        letter = {
            "sink": sink.name,
            "group": sink.group,
            "stream_id": item.id,
            "failed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "attempts": attempts,
            "error": error,
            "fields": dict(item.fields),
        }
        pipe = self.client.pipeline(transaction=True)
        add_dead_letter(pipe, key, letter, self.dead_letter_cap)
        pipe.xack(self.keys.articles, sink.group, item.id)
        pipe.hdel(self.keys.feed_requeue(sink.group), item.id)
        pipe.execute()
        self.counters[sink.name, "dead_lettered"] += 1
        logger.warning("Sink %s gave up on entry %s (record %s) after %d attempts: %s; "
                       "kept in %s", sink.name, item.id, item.fields.get("id"), attempts, error, key)


def _malformed(item: FeedItem) -> bool:
    try:
        item.line()
    except MalformedRecord:
        return True
    return False


def _close(reader: FeedReader) -> None:
    """A clean stop of a sink's reader; if Redis is gone, the note simply outlives it."""
    try:
        reader.close()
    except redis.RedisError as exc:
        logger.debug("Could not close the reader of %s: %s", reader.group, exc)
