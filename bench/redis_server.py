"""The Redis server of one bench run: the one named, else an embedded one; left clean.

Imported by the bench scripts once they have put the repository root on ``sys.path``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from newsmon.scheduler.keys import Keys
from newsmon.scheduler.redis_conn import EmbeddedRedis, connect
from tests.helpers import delete_keys


@contextmanager
def bench_redis(url: str | None, work: Path, prefixes: Sequence[str]) -> Iterator[str]:
    """Yield the URL of ``url``'s server, or of an embedded one under ``work / "redis"``.

    On the way out, every key under ``prefixes`` (the run's own: the server may be shared) is
    deleted and the embedded server, if any, is released.
    """
    embedded = None
    if not url:
        embedded = EmbeddedRedis(work / "redis")
        url = embedded.acquire()
    try:
        yield url
    finally:
        client = connect(url)
        for prefix in prefixes:
            delete_keys(client, Keys(prefix))
        client.close()
        if embedded is not None:
            embedded.release()
