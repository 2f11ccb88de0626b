"""A page that fails in a pipeline for a reason of ours is never a silent loss: it is an error on
its source, nothing of it reaches the log but one line, and the next poll fetches it again."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import redis

from newsmon.scheduler.keys import Keys
from tests.helpers import COMMAND_TIMEOUT, child_env, records, run_newsmon, write_config
from tests.newsroom import Newsroom

pytestmark = pytest.mark.slow

#: ``newsmon ARGS...`` whose extraction raises an exception for one URL (argv[1]): a bug of ours
#: (the patch is in this process: the crawl runs with ``--workers 1``).
_BROKEN_EXTRACTION = """
import sys
import newsmon.crawler.analysis as analysis
real, broken = analysis.extract, sys.argv.pop(1)
def extract(body, url, *args, **kwargs):
    if url == broken:
        raise RuntimeError("a bug of ours\\nsecond line")
    return real(body, url, *args, **kwargs)
analysis.extract = extract
from newsmon.scheduler.cli import main
sys.argv = ["newsmon", *sys.argv[1:]]
main()
"""


def test_a_page_that_fails_in_a_pipeline_is_an_error_and_is_fetched_again(
    redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """An exception while extracting one page: the source reports the error, the other pages are
    published, and the next crawl publishes the page (the feed is read again in full)."""
    with Newsroom(outlets=["wire-en"]) as room:
        config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix)
        broken = room.articles[0]
        done = subprocess.run([sys.executable, "-c", _BROKEN_EXTRACTION, broken.url, "--config", str(config),
                               "crawl", "--workers", "1", "--json"], capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT, env=child_env(), check=False)
        [report] = json.loads(done.stdout)["sources"]
        assert report["errors"] == 1, done.stderr[-3000:]
        assert f"{broken.url}: could not extract: RuntimeError: a bug of ours" in report["last_errors"]
        assert "Traceback" not in done.stderr
        assert "<p>" not in done.stderr
        assert "second line" not in done.stderr
        published = {r["canonical_url"] for r in records(redis_client, keys)}
        assert broken.canonical_url not in published
        assert published == {a.canonical_url for a in room.articles} - {broken.canonical_url}

        again = run_newsmon("--config", str(config), "crawl", "--json")
        assert again.returncode == 0, again.stderr[-3000:]
        counts = Counter(r["canonical_url"] for r in records(redis_client, keys))
        assert set(counts) == {a.canonical_url for a in room.articles}
        assert max(counts.values()) == 1


def test_no_page_content_reaches_the_log_at_any_level(
    redis_url: str, redis_prefix: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    """A crawl at DEBUG that publishes, drops off-topic pages and rejects non-articles logs one
    line per outcome: no HTML, no article text, no item."""
    with Newsroom(outlets=2) as room:
        config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix, topic=True)
        done = run_newsmon("--config", str(config), "--log-level", "DEBUG", "crawl", "--json")
        assert done.returncode == 0, done.stderr[-3000:]
        [*reports] = json.loads(done.stdout)["sources"]
        assert sum(r["off_topic"] for r in reports) > 0
        assert sum(r["published"] for r in reports) > 0
        assert "Dropped: " in done.stderr
        for tag in ("<p", "</", "<html", "<meta", "Entry(", "Page("):
            assert tag not in done.stderr
        for article in room.articles:
            assert article.paragraphs[0][:60] not in done.stderr
