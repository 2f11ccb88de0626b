"""`newsmon extract`: one page to the record the pipeline would publish, without Redis."""

from __future__ import annotations

import json
from pathlib import Path

from newsmon.crawler.fingerprint import story_id
from newsmon.crawler.urls import canonicalize
from tests.helpers import child_env, run_newsmon

PAGES = Path(__file__).resolve().parent / "pages"


def test_extract_shows_the_declared_canonical_as_published_and_ids_it_strictly() -> None:
    """The record's canonical_url is the page's rel=canonical resolved and left as published
    (www kept); its id is derived from the strict form, exactly as in the feed."""
    url = "https://www.example.org/news/2024/03/14/riverside-bicycle-bridge?utm_source=x#top"
    # No Redis is named and none may be needed: an unreachable REDIS_URL must not matter.
    result = run_newsmon("extract", str(PAGES / "en_article.html"), "--url", url, "--compact",
                         env=child_env(REDIS_URL="redis://127.0.0.1:1/0"))
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["canonical_url"] == "https://www.example.org/news/2024/03/14/riverside-bicycle-bridge"
    assert record["id"] == story_id(canonicalize(record["canonical_url"]))
    assert record["url"] == url
    assert record["title"]
    assert record["text"]
