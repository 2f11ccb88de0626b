"""`newsmon extract`: one page to the record the pipeline would publish, without Redis."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from newsmon.crawler.fingerprint import story_id
from newsmon.crawler.urls import canonicalize
from newsmon.scheduler.feed import record_problems
from tests.helpers import COMMAND_TIMEOUT, child_env, newsmon_cmd, run_newsmon

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


def _config(tmp_path: Path, topic: str = "") -> Path:
    path = tmp_path / "newsmon.yaml"
    path.write_text("sources:\n  - name: courier\n    feeds: [https://courier.example/rss]\n" + topic,
                    "utf-8")
    return path


def test_extract_file_without_url_is_a_complete_valid_record(tmp_path: Path) -> None:
    """extract FILE without --url prints a complete record (every README field) that the shipped
    schema accepts, its URL the documented placeholder https://extract.invalid/<file name>."""
    result = run_newsmon("--config", str(_config(tmp_path)), "extract", str(PAGES / "en_article.html"))
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record_problems(record) == []
    assert record["url"] == "https://extract.invalid/en_article.html"
    assert record["source"] == "extract"
    assert record["discovered_via"] == {"kind": "page", "url": record["url"]}
    assert (record["event"], record["duplicate_of"], record["cluster_id"], record["revision"],
            record["changes"]) == ("new", None, record["id"], 1, [])
    assert record["topic"] is None
    assert result.stderr.strip() == "newsmon: kept: no topic is configured"


def test_extract_with_a_source_names_it(tmp_path: Path) -> None:
    """With --source, the record carries that source's name and is still valid."""
    result = run_newsmon("--config", str(_config(tmp_path)), "extract", str(PAGES / "en_article.html"),
                         "--source", "courier", "--url", "https://courier.example/a?utm_source=x")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["source"] == "courier"
    assert record_problems(record) == []


def test_extract_shows_a_kept_topic_decision(tmp_path: Path) -> None:
    """A page the topic keeps: its record's topic lists the terms found; stderr says kept, by
    which terms."""
    topic = "topic:\n  name: cycling\n  all:\n    what: [bicycle*, bridge]\n  any: [Wend]\n"
    result = run_newsmon("--config", str(_config(tmp_path, topic)), "extract",
                         str(PAGES / "en_article.html"))
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record_problems(record) == []
    assert record["topic"] == {"name": "cycling", "matched": ["bicycle*", "bridge", "Wend"],
                               "groups": {"what": ["bicycle*", "bridge"]},
                               "score": 3.0, "scores": {"what": 2.0, "any": 1.0}}
    assert result.stderr.strip() == 'newsmon: kept by topic "cycling" (score 3): "bicycle*", "bridge", "Wend"'


def test_extract_shows_a_dropped_topic_decision_and_why(tmp_path: Path) -> None:
    """A page the topic drops is still printed as a valid record; stderr says dropped and names
    each failed condition (an excluded term, an empty all group, no any term)."""
    topic = ("topic:\n  name: t\n  all:\n    what: [bicycle*]\n    where: [Paris]\n"
             "  any: [election]\n  none: [lorry]\n")
    result = run_newsmon("--config", str(_config(tmp_path, topic)), "extract",
                         str(PAGES / "en_article.html"))
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record_problems(record) == []
    assert record["topic"] == {"name": "t", "matched": ["bicycle*"],
                               "groups": {"what": ["bicycle*"], "where": []},
                               "score": 1.0, "scores": {"what": 1.0, "where": 0.0, "any": 0.0}}
    assert result.stderr.strip() == ('newsmon: dropped by topic "t": it contains "lorry" (none); '
                                     'too little of the all group "where" (score 0); no term of any')


def test_extract_unknown_source_is_one_line_exit_2(tmp_path: Path) -> None:
    """--source naming no configured source is one line on stderr and exit status 2."""
    result = run_newsmon("--config", str(_config(tmp_path)), "extract", str(PAGES / "en_article.html"),
                         "--source", "nosuch")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == 'newsmon: unknown source "nosuch" (configured: courier)\n'


def test_extract_bad_url_is_one_line_exit_2(tmp_path: Path) -> None:
    """--url that is not an absolute http(s) URL is one line on stderr and exit status 2."""
    result = run_newsmon("--config", str(_config(tmp_path)), "extract", str(PAGES / "en_article.html"),
                         "--url", "story.html")
    assert result.returncode == 2
    assert result.stderr == "newsmon: 'story.html': not an absolute http(s) URL\n"


def test_extract_into_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    """When the reader of stdout is gone (| head), extract exits 0 without a traceback."""
    read, write = os.pipe()
    os.close(read)  # the reader has gone before extract writes
    try:
        result = subprocess.run(newsmon_cmd("--config", str(_config(tmp_path)), "extract",
                                            str(PAGES / "en_article.html")),
                                stdout=write, stderr=subprocess.PIPE, text=True, env=child_env(),
                                timeout=COMMAND_TIMEOUT, check=False)
    finally:
        os.close(write)
    assert result.returncode == 0
    assert "Traceback" not in result.stderr
    assert "Error" not in result.stderr
