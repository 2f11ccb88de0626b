"""`newsmon topic test|why|replay` as real processes; stubs of dropped stories from a real crawl."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import redis

from newsmon.scheduler.keys import Keys
from tests.helpers import COMMAND_TIMEOUT, child_env, newsmon_cmd, records, run_newsmon, write_config
from tests.newsroom import Newsroom

DATA = Path(__file__).parent / "data" / "topic"


def test_topic_test_reads_stdin_and_prints_one_line_per_item() -> None:
    """`topic test -` prints {id, kept, score, matched, missed} per item on stdout and a summary on stderr."""
    items = [
        {"id": "a", "title": "U.S. warship downs Houthi drones", "text": "In the Red Sea.", "language": "en"},
        {"id": "b", "title": "Pentagon chief warns Israel", "text": "Austin spoke.", "language": "en"},
        {"id": "c", "title": "Frappes américaines au Yémen", "text": "", "language": "fr"},
    ]
    stdin = "".join(json.dumps(item) + "\n" for item in items)
    result = subprocess.run(newsmon_cmd("topic", "test", "-"), input=stdin, capture_output=True, text=True,
                            timeout=COMMAND_TIMEOUT, env=child_env(), check=False)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(line["id"], line["kept"]) for line in lines] == [("a", True), ("b", False), ("c", True)]
    assert set(lines[0]) == {"id", "kept", "score", "matched", "missed"}
    assert lines[1]["missed"] == ["us_military"]
    assert "US warship" in lines[0]["matched"]["us_military"]
    assert "3 items, 2 kept, 1 dropped" in result.stderr


def test_topic_test_refuses_a_line_that_is_not_json(tmp_path: Path) -> None:
    """A line that is not JSON is a usage error naming the file and line, exit 2."""
    path = tmp_path / "items.jsonl"
    path.write_text('{"id": 1, "title": "x"}\nnot json\n')
    result = run_newsmon("topic", "test", str(path))
    assert result.returncode == 2
    assert f"{path}:2: not JSON" in result.stderr


@pytest.mark.slow
def test_crawl_keeps_stubs_of_dropped_stories_and_topic_why_explains_them(
    redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """Each off-topic article of a crawl leaves a stub (no text) and a counter; `topic why` shows its
    missed group, says when a story was kept, and `topic replay` reports no change under the same topic."""
    with Newsroom() as room:
        config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix, topic=True)
        crawl = run_newsmon("--config", str(config), "crawl", "--json")
        assert crawl.returncode == 0, crawl.stderr
        off_topic = [a for a in room.articles if not a.on_topic]
    summary = json.loads(crawl.stdout)
    assert sum(s["off_topic"] for s in summary["sources"]) == len(off_topic)
    stubs = [json.loads(fields[b"stub"]) for _, fields in redis_client.xrange(keys.dropped)]
    assert sorted(s["title"] for s in stubs) == sorted(a.title for a in off_topic)
    assert all("text" not in s and len(s["lead"]) <= 400 and s["missed"] for s in stubs)
    assert 0 < redis_client.pttl(keys.dropped) <= 7 * 86400 * 1000

    why = run_newsmon("--config", str(config), "topic", "why", off_topic[0].url, "--json")
    assert why.returncode == 0, why.stderr
    answer = json.loads(why.stdout)
    assert answer["kept"] is False
    assert answer["stub"]["missed"]
    assert answer["stub"]["reason"].startswith("no match in")
    human = run_newsmon("--config", str(config), "topic", "why", off_topic[0].url)
    assert "MISSED" in human.stdout

    kept = records(redis_client, keys)[0]
    why_kept = run_newsmon("--config", str(config), "topic", "why", kept["url"])
    assert why_kept.returncode == 0, why_kept.stderr
    assert why_kept.stdout.startswith("kept:"), why_kept.stdout
    assert run_newsmon("--config", str(config), "topic", "why", "https://nowhere.example/x").returncode == 1

    replay = run_newsmon("--config", str(config), "topic", "replay", "--since", "1d")
    assert replay.returncode == 0, replay.stderr
    assert f"replayed {len(off_topic)} dropped stubs" in replay.stderr
    assert "0 would now be dropped" in replay.stderr
