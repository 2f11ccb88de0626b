"""Poll jobs: from the scheduler to the workers through a Redis Stream consumer group.

Nothing is popped destructively. A worker reads a job (it becomes pending under the worker's
name), keeps it alive while it works (``XCLAIM ... JUSTID`` resets its idle time), and
acknowledges it only when the crawl finished. A job whose worker died stays pending; after the
lease it is claimed by another worker with ``XAUTOCLAIM``, or re-read at once by a replacement
worker of the same name. At most one job per source is in the stream at a time: its marker
(``lua/enqueue.lua``) names the job and lives exactly as long as it, however long the crawl.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from typing import TypedDict

import redis

from newsmon.scheduler.keys import WORKERS_GROUP, Keys

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Job:
    """One poll job."""

    stream_id: str
    source: str
    kind: str  # "poll" or "recheck"
    enqueued_at: float


class EnqueueArgs(TypedDict):
    """The argument of ``lua/enqueue.lua``."""

    source: str
    kind: str
    enqueued_at: str


def _decode(entry_id: bytes | str, fields: dict[bytes, bytes]) -> Job:
    data = {k.decode(): v.decode() for k, v in fields.items()}
    return Job(
        stream_id=entry_id.decode() if isinstance(entry_id, bytes) else entry_id,
        source=data.get("source", ""),
        kind=data.get("kind", "poll"),
        enqueued_at=float(data.get("enqueued_at", "0")),
    )


class JobQueue:
    """The poll-job stream of one newsmon installation."""

    def __init__(self, client: redis.Redis, keys: Keys, lease: timedelta) -> None:
        self.client = client
        self.keys = keys
        self.lease_ms = max(1000, int(lease.total_seconds() * 1000))
        self._group_ready = False
        script = resources.files("newsmon.scheduler").joinpath("lua/enqueue.lua").read_text(encoding="utf-8")
        self._enqueue = client.register_script(script)

    def ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            self.client.xgroup_create(self.keys.jobs, WORKERS_GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def enqueue(self, source: str, kind: str = "poll") -> bool:
        """Queue a job for ``source`` unless one is already queued or running."""
        self.ensure_group()
        argument = EnqueueArgs(source=source, kind=kind, enqueued_at=f"{time.time():.3f}")
        queued = self._enqueue(keys=[self.keys.jobs, self.keys.job_pending(source)], args=[json.dumps(argument)])
        if queued is None:
            logger.debug("[%s] a poll job is already queued or running; not queuing another", source)
            return False
        return True

    def claim(self, consumer: str, count: int = 8, block_ms: int = 1000) -> list[Job]:
        """Jobs for ``consumer``: abandoned ones first, then its own pending, then new ones."""
        self.ensure_group()
        jobs: list[Job] = []
        reply = self.client.xautoclaim(
            self.keys.jobs, WORKERS_GROUP, consumer, min_idle_time=self.lease_ms, start_id="0-0", count=count
        )
        jobs += [_decode(i, f) for i, f in reply[1] if f]
        if jobs:
            logger.info("Claimed %d abandoned poll jobs", len(jobs))
        if len(jobs) < count:
            own = self.client.xreadgroup(WORKERS_GROUP, consumer, {self.keys.jobs: "0"}, count=count - len(jobs))
            held = {j.stream_id for j in jobs}
            for _stream, entries in own or []:
                jobs += [job for job in (_decode(i, f) for i, f in entries if f) if job.stream_id not in held]
        if not jobs:
            new = self.client.xreadgroup(
                WORKERS_GROUP, consumer, {self.keys.jobs: ">"}, count=count, block=block_ms
            )
            for _stream, entries in new or []:
                jobs += [_decode(i, f) for i, f in entries if f]
        return jobs

    def extend(self, consumer: str, jobs: list[Job]) -> None:
        """Reset the idle time of jobs still being worked on, so nobody claims them."""
        if jobs:
            self.client.xclaim(
                self.keys.jobs, WORKERS_GROUP, consumer, 0, [j.stream_id for j in jobs], justid=True
            )

    def ack(self, jobs: list[Job]) -> None:
        """The jobs are done: acknowledge, delete and free their sources for the next poll."""
        if not jobs:
            return
        ids = [j.stream_id for j in jobs]
        pipe = self.client.pipeline(transaction=True)
        pipe.xack(self.keys.jobs, WORKERS_GROUP, *ids)
        pipe.xdel(self.keys.jobs, *ids)
        pipe.delete(*{self.keys.job_pending(j.source) for j in jobs})
        pipe.execute()

    def pending(self) -> int:
        """Jobs read by a worker and not yet acknowledged."""
        self.ensure_group()
        return int(self.client.xpending(self.keys.jobs, WORKERS_GROUP)["pending"])

    def queued(self) -> int:
        """Jobs in the stream (pending or not yet read)."""
        return int(self.client.xlen(self.keys.jobs))
