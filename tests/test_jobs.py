"""The poll-job stream: leases, reclaiming and one job per source."""

from __future__ import annotations

import time
from datetime import timedelta

import redis

from newsmon.scheduler.jobs import JobQueue
from newsmon.scheduler.keys import Keys


def test_one_job_per_source_until_acknowledged(redis_client: redis.Redis, keys: Keys) -> None:
    """A source with a job queued or running is not queued again until the job is acknowledged."""
    queue = JobQueue(redis_client, keys, timedelta(minutes=1))
    assert queue.enqueue("wire-en")
    assert not queue.enqueue("wire-en")
    jobs = queue.claim("w1", count=8, block_ms=10)
    assert [j.source for j in jobs] == ["wire-en"]
    assert not queue.enqueue("wire-en")
    queue.ack(jobs)
    assert queue.enqueue("wire-en")


def test_acknowledged_jobs_leave_the_stream(redis_client: redis.Redis, keys: Keys) -> None:
    """Acknowledged jobs are deleted, so the stream does not grow."""
    queue = JobQueue(redis_client, keys, timedelta(minutes=1))
    for name in ("a", "b", "c"):
        queue.enqueue(name)
    jobs = queue.claim("w1", count=8, block_ms=10)
    assert queue.pending() == 3
    queue.ack(jobs)
    assert queue.pending() == 0
    assert queue.queued() == 0


def test_a_dead_workers_jobs_are_claimed_after_the_lease(redis_client: redis.Redis, keys: Keys) -> None:
    """Jobs a worker read and never acknowledged go to another worker once idle past the lease."""
    queue = JobQueue(redis_client, keys, timedelta(seconds=1))
    queue.enqueue("a")
    taken = queue.claim("dead", count=8, block_ms=10)
    assert [j.source for j in taken] == ["a"]
    assert queue.claim("alive", count=8, block_ms=10) == []  # still leased
    # Age the pending entry instead of waiting: XCLAIM with IDLE sets its idle time.
    redis_client.xclaim(keys.jobs, "workers", "dead", 0, [taken[0].stream_id], idle=5000, justid=True)
    again = queue.claim("alive", count=8, block_ms=10)
    assert [j.stream_id for j in again] == [taken[0].stream_id]


def test_a_replacement_worker_reads_its_own_pending_jobs_at_once(redis_client: redis.Redis, keys: Keys) -> None:
    """A worker restarted under the same name gets its unacknowledged jobs back without waiting."""
    queue = JobQueue(redis_client, keys, timedelta(minutes=10))
    queue.enqueue("a")
    taken = queue.claim("host:w0", count=8, block_ms=10)
    again = queue.claim("host:w0", count=8, block_ms=10)
    assert [j.stream_id for j in again] == [j.stream_id for j in taken]


def test_extend_keeps_a_job_from_being_claimed(redis_client: redis.Redis, keys: Keys) -> None:
    """A worker that extends its lease keeps its job while it works."""
    queue = JobQueue(redis_client, keys, timedelta(seconds=1))
    queue.enqueue("a")
    taken = queue.claim("busy", count=8, block_ms=10)
    redis_client.xclaim(keys.jobs, "workers", "busy", 0, [taken[0].stream_id], idle=5000, justid=True)
    queue.extend("busy", taken)
    assert queue.claim("other", count=8, block_ms=10) == []


def test_prefixes_keep_installations_apart(redis_client: redis.Redis, keys: Keys) -> None:
    """Two key prefixes on one server have separate job streams."""
    other = Keys(keys.prefix + "-other")
    try:
        JobQueue(redis_client, keys, timedelta(minutes=1)).enqueue("a")
        assert JobQueue(redis_client, other, timedelta(minutes=1)).claim("w", block_ms=10) == []
    finally:
        redis_client.delete(other.jobs)


def test_a_job_held_longer_than_its_lease_keeps_its_source_busy(redis_client: redis.Redis, keys: Keys) -> None:
    """A slow crawl that outlives several leases (renewed by its worker) still blocks a second job
    for its source: the marker lives as long as the job, not a multiple of the lease."""
    queue = JobQueue(redis_client, keys, timedelta(seconds=1))
    assert queue.enqueue("slow")
    jobs = queue.claim("w1", count=8, block_ms=10)
    for _ in range(5):  # 2.5 s: the marker used to expire after two leases (2 s)
        queue.extend("w1", jobs)
        assert not queue.enqueue("slow")
        time.sleep(0.5)  # letting leases run out, not waiting on a race
    assert not queue.enqueue("slow")
    queue.ack(jobs)
    assert queue.enqueue("slow")


def test_a_marker_whose_job_is_gone_does_not_block_its_source(redis_client: redis.Redis, keys: Keys) -> None:
    """A marker left without its job (the stream entry deleted by hand, an old marker) is replaced."""
    queue = JobQueue(redis_client, keys, timedelta(minutes=1))
    assert queue.enqueue("wire-en")
    [job] = queue.claim("w1", count=8, block_ms=10)
    redis_client.xdel(keys.jobs, job.stream_id)
    assert queue.enqueue("wire-en")
    redis_client.set(keys.job_pending("wire-fr"), "1")  # the marker of an older newsmon
    assert queue.enqueue("wire-fr")
    assert sorted(j.source for j in queue.claim("w2", count=8, block_ms=10)) == ["wire-en", "wire-fr"]
