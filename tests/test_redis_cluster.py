"""newsmon on a real 3-master Redis Cluster (started by the test from the redis-server binary):
the URL of any node is enough, and the daemon survives the migration of its slot."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.cluster import RedisCluster as ClusterClient
from redis.crc import key_slot

from newsmon.scheduler.keys import Keys
from newsmon.scheduler.redis_conn import connect
from tests.helpers import run_newsmon, start_newsmon, stop, wait_for, write_config
from tests.newsroom import Newsroom
from tests.redis_cluster import RedisCluster

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    with RedisCluster(tmp_path_factory.mktemp("cluster")) as started:
        yield started


@pytest.fixture
def room() -> Newsroom:
    with Newsroom() as newsroom:
        yield newsroom


def _published(client: ClusterClient, keys: Keys) -> set[str]:
    return {json.loads(fields[b"record"])["canonical_url"] for _id, fields in client.xrange(keys.articles)}


@pytest.mark.parametrize("node", [0, 1, 2])
def test_any_node_url_connects_to_the_cluster(cluster: RedisCluster, node: int) -> None:
    """connect() on the URL of any node detects the cluster and returns a cluster client that
    reaches the slot of the prefix, wherever it is served."""
    client = connect(cluster.url(node))
    try:
        assert isinstance(client, ClusterClient)
        client.set("{newsmon-probe}:x", "1")
        assert client.get("{newsmon-probe}:x") == b"1"
        client.delete("{newsmon-probe}:x")
    finally:
        client.close()


@pytest.mark.parametrize("node", [0, 1, 2])
def test_crawl_feed_read_and_status_exit_0_whichever_node_the_url_names(
    cluster: RedisCluster, room: Newsroom, tmp_path: Path, node: int
) -> None:
    """crawl (Lua dedup scripts, transactions, the job stream), feed read (a consumer group) and
    status exit 0 with redis.url naming node 0, 1 or 2, and nothing else set."""
    prefix = f"cluster-{node}-{tmp_path.name[-8:]}"
    config = write_config(tmp_path / "newsmon.yaml", room, cluster.url(node), prefix, only=["wire-en"])
    crawl = run_newsmon("--config", str(config), "crawl", "--json")
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    client = connect(cluster.url((node + 1) % 3))
    try:
        published = _published(client, Keys(prefix))
    finally:
        client.close()
    assert published == {a.canonical_url for a in room.articles if a.outlet == "wire-en"}
    read = run_newsmon("--config", str(config), "feed", "read", "--group", "g", "--count", str(len(published)))
    assert read.returncode == 0, read.stderr[-3000:]
    assert {json.loads(line)["canonical_url"] for line in read.stdout.splitlines()} == published
    status = run_newsmon("--config", str(config), "status")
    assert status.returncode == 0, status.stderr[-3000:]
    again = run_newsmon("--config", str(config), "crawl", "--json")
    assert again.returncode == 0, again.stderr[-3000:]


def test_run_keeps_publishing_after_its_slot_moves_to_another_master(
    cluster: RedisCluster, room: Newsroom, tmp_path: Path
) -> None:
    """`newsmon run` on a cluster: its slot is migrated (SETSLOT IMPORTING/MIGRATING, MIGRATE,
    SETSLOT NODE) while it runs; it stays up, publishes an article added after the move, and
    exits 0 on SIGTERM."""
    prefix = f"cluster-run-{tmp_path.name[-8:]}"
    keys = Keys(prefix)
    config = write_config(tmp_path / "newsmon.yaml", room, cluster.url(0), prefix, only=["wire-en"])
    log = tmp_path / "daemon.log"
    daemon = start_newsmon("--config", str(config), "run", "--workers", "2", log=log)
    client = connect(cluster.url(1))
    try:
        wanted = {a.canonical_url for a in room.articles if a.outlet == "wire-en"}
        wait_for(lambda: _published(client, keys) >= wanted, timeout=90, what="the first poll")
        slot = key_slot(keys.tag.encode())
        before = cluster.owner(slot)
        assert cluster.migrate(slot, (before + 1) % 3) > 0
        assert cluster.owner(slot) == (before + 1) % 3
        article = room.publish("wire-en", title="Drone strike reported after the migration", on_topic=True)
        wait_for(lambda: article.canonical_url in _published(client, keys), timeout=90,
                 what="the article added after the migration")
        assert daemon.poll() is None
    finally:
        client.close()
        code = stop(daemon, signal.SIGTERM)
    output = log.read_text()
    assert code == 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
