"""Per-host politeness over real processes: one daemon, three workers, two sources on one host.

Ordering only (the newsroom's request events, the gate's grant list), never durations: the
gaps themselves are measured by bench/politeness.py.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import redis

from newsmon.scheduler.hosts import HostGate
from newsmon.scheduler.keys import Keys
from newsmon.settings.model import FetchSettings
from tests.helpers import records, start_newsmon, stop, wait_for, write_config
from tests.newsroom import Newsroom

pytestmark = pytest.mark.slow

DELAY_MS = 500


@pytest.fixture
def room() -> Newsroom:
    with Newsroom(outlets=["wire-en"]) as newsroom:
        yield newsroom


def two_sources_on_one_host(room: Newsroom) -> list[dict[str, Any]]:
    """The wire's feed and its news sitemap as two sources: two poll jobs, one host."""
    outlet = room.outlet("wire-en")
    return [
        {"name": "wire-feed", "language": "en", "interval": "2s", "feeds": list(outlet.feeds)},
        {"name": "wire-sitemap", "language": "en", "interval": "2s", "sitemaps": list(outlet.sitemaps)},
    ]


def test_workers_share_the_hosts_delay_and_concurrency(
    room: Newsroom, redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """With 3 workers polling two sources of one host (concurrency_per_host 1), no two requests to the
    host are ever in flight at once, and the gate granted them one by one, each fetch.delay after the last."""
    config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix,
                          fetch={"delay": f"{DELAY_MS / 1000}s", "concurrency_per_host": 1},
                          sources=two_sources_on_one_host(room))
    host = room.outlet("wire-en").host
    gate = HostGate(redis_client, keys, FetchSettings())
    wanted = {a.canonical_url for a in room.articles_of("wire-en")}

    def polls(source: str) -> int:
        return int(redis_client.hget(keys.source_state(source), "polls") or 0)

    def workers_granted() -> set[str]:
        return {token.rsplit(":", 1)[0] for _, token in gate.grants(host)}

    daemon = start_newsmon("--config", str(config), "run", "--workers", "3", log=tmp_path / "daemon.log")
    try:
        wait_for(lambda: wanted <= {r["canonical_url"] for r in records(redis_client, keys)}, timeout=90,
                 what="every article of the host published")
        wait_for(lambda: polls("wire-feed") >= 3 and polls("wire-sitemap") >= 3, timeout=90,
                 what="three polls of each source (crawls in a row on one worker)")
        wait_for(lambda: len(workers_granted()) >= 2, timeout=90, what="requests to the host from two workers")
    finally:
        code = stop(daemon)
    assert code == 0, (tmp_path / "daemon.log").read_text()[-3000:]

    hits = sorted(room.requests(outlet="wire-en"), key=lambda hit: hit["start_event"])
    assert len(hits) > len(wanted)
    for before, after in itertools.pairwise(hits):
        assert before["end_event"] < after["start_event"], f"{before['path']} and {after['path']} overlapped"

    starts = [start for start, _ in gate.grants(host)]
    assert len(starts) >= min(len(hits), 100) - 1  # the list keeps the last 100
    for before, after in itertools.pairwise(starts):
        assert after - before >= DELAY_MS
