"""docs/feed.md shows records as they are published: its example's fields in a real record's order."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import redis

from newsmon.scheduler.feed import validate_record
from newsmon.scheduler.keys import Keys
from tests.helpers import delete_keys, records, run_newsmon, write_config
from tests.newsroom import Newsroom

FEED_MD = Path(__file__).resolve().parents[1] / "docs" / "feed.md"

pytestmark = pytest.mark.slow


def _example_record() -> dict[str, object]:
    """The first JSON block of the section "The record"."""
    section = FEED_MD.read_text(encoding="utf-8").split("## The record", 1)[1]
    block = re.search(r"```json\n(.*?)```", section, re.S)
    assert block is not None, "docs/feed.md: no ```json block under ## The record"
    return json.loads(block.group(1))


@pytest.fixture(scope="module")
def real_record(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> dict[str, object]:
    """A record published by a real crawl of one fixture outlet."""
    keys = Keys("newsmon-test-docs-feed")
    client = redis.Redis.from_url(redis_url)
    tmp = tmp_path_factory.mktemp("docs-feed")
    try:
        with Newsroom() as room:
            config = write_config(tmp / "newsmon.yaml", room, redis_url, keys.prefix, only=[room.outlets[0].name])
            result = run_newsmon("--config", str(config), "crawl")
            assert result.returncode == 0, result.stderr
        return records(client, keys)[0]
    finally:
        delete_keys(client, keys)
        client.close()


def test_the_example_record_has_a_real_records_fields_in_order(real_record: dict[str, object]) -> None:
    """The example record in docs/feed.md has exactly the keys of a published record, in the same order."""
    assert list(_example_record()) == list(real_record)


def test_the_example_record_is_valid() -> None:
    """The example record passes the published JSON Schema."""
    validate_record(_example_record())


def test_the_redis_cli_excerpt_starts_like_a_real_record(real_record: dict[str, object]) -> None:
    """The escaped record in the redis-cli session lists its first fields in a real record's order."""
    text = FEED_MD.read_text(encoding="utf-8")
    [line] = [line for line in text.splitlines() if '"{\\"' in line]
    shown = re.findall(r'\\"(\w+)\\":', line)
    assert shown == list(real_record)[: len(shown)]


def test_the_python_example_uses_the_configured_redis() -> None:
    """The Python example reads the configuration's Redis and settings, not a hard-coded server."""
    section = FEED_MD.read_text(encoding="utf-8").split("## From Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    assert "localhost" not in code.group(1)
    assert "redis_for(config)" in code.group(1)
    assert "settings=config.feed" in code.group(1)
