"""Fixtures shared by the whole suite: a real Redis, with a key prefix of each test's own.

With ``REDIS_URL`` set, tests use that server (CI points it at a DB index of its own); without
it, one embedded ``redis-server`` (the same code path ``newsmon`` uses) runs for the session.
Tests never flush a database: each works under its own key prefix and deletes only those keys.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis

from newsmon.scheduler.keys import Keys
from newsmon.scheduler.redis_conn import EmbeddedRedis, connect
from tests.helpers import delete_keys


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of the Redis server the suite uses."""
    url = os.environ.get("REDIS_URL")
    if url:
        connect(url).close()
        yield url
        return
    embedded = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    yield embedded.acquire()
    embedded.stop()  # the suite's own server: stopped even if a stray test process still holds it


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix no other test uses."""
    return f"newsmon-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def keys(redis_prefix: str) -> Keys:
    return Keys(redis_prefix)


@pytest.fixture
def redis_client(redis_url: str, keys: Keys) -> Iterator[redis.Redis]:
    """A client on the suite's server; the test's keys are deleted afterwards."""
    client = connect(redis_url)
    yield client
    delete_keys(client, keys)
    client.close()
