"""A source's ``timezone`` reaches extraction wherever a page is extracted: in a crawl (the
analysis step the pipelines and the extraction pool run) and in ``newsmon extract --source``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from newsmon.crawler.analysis import Analyzer
from newsmon.crawler.items import Page
from newsmon.settings.loader import load_config
from tests.helpers import run_newsmon

#: An invented article whose only date is a local time without an offset (Paris: UTC+1 in March).
PAGE = """<!DOCTYPE html><html lang="en"><head><title>Harbour ferry timetable changes next month</title>
<meta property="article:published_time" content="2024-03-14T08:30:00"></head><body><article>
<h1>Harbour ferry timetable changes next month</h1>
{paragraphs}
</article></body></html>"""
PARAGRAPHS = "\n".join(
    f"<p>The harbour authority said on Thursday that the ferry timetable will change from next month, "
    f"with earlier departures on weekdays and a later last crossing on Saturdays ({n}). Residents were "
    f"asked to check the new times before travelling, and the ticket office will open an hour earlier.</p>"
    for n in range(6)
)


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "newsmon.yaml"
    path.write_text("sources:\n  - name: harbour\n    feeds: [https://harbour.example/rss]\n"
                    "    timezone: Europe/Paris\n")
    return path


def test_a_crawl_reads_a_naive_page_time_in_the_source_timezone(tmp_path: Path) -> None:
    """The crawl's analysis step places 08:30 without an offset at 07:30Z for a Paris source."""
    config = load_config(_config(tmp_path), env={})
    url = "https://harbour.example/news/ferry-timetable"
    page = Page(source="harbour", url=url, listed_url=url, body=PAGE.format(paragraphs=PARAGRAPHS).encode(),
                entry=None, via_kind="feed", via_url="https://harbour.example/rss", fetched_at=datetime.now(UTC))
    analysis = Analyzer(config).analyze(page)
    assert analysis.record is not None, analysis
    assert analysis.record["published"] == "2024-03-14T07:30:00Z"


def test_extract_with_a_source_reads_a_naive_time_in_its_timezone(tmp_path: Path) -> None:
    """newsmon extract FILE --source harbour applies the source's timezone too."""
    page = tmp_path / "page.html"
    page.write_text(PAGE.format(paragraphs=PARAGRAPHS))
    result = run_newsmon("--config", str(_config(tmp_path)), "extract", str(page), "--source", "harbour",
                         "--url", "https://harbour.example/news/ferry-timetable")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["published"] == "2024-03-14T07:30:00Z"
