"""Item pipelines: a downloaded :class:`Page` is extracted, kept or dropped by topic, then
deduplicated and published in one atomic step.

Every page that is not published is marked seen, so that it is not fetched again; a page that
failed for a reason of ours (an exception) is not, and its discovery document is read again on
the next poll.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from newsmon.crawler.analysis import Analysis, Analyzer
from newsmon.crawler.context import CrawlContext, PublishOutcome, context_of
from newsmon.crawler.fingerprint import Fingerprints
from newsmon.crawler.spiders.poll import Page

logger = logging.getLogger(__name__)


@dataclass
class Story:
    """An extracted article with its record, between the topic and publish pipelines."""

    page: Page
    record: dict[str, Any]
    urls: list[str] = field(default_factory=list)  # canonical URLs the page is known by
    analysis: Analysis = field(default_factory=lambda: Analysis("story", []))


class _ContextPipeline:
    """A pipeline of the crawl's context. A page that fails in it for a reason of ours (an
    exception, not a decision) is an error on its source, and its discovery document is read in
    full on the next poll (its validators are not saved), so the page is fetched again: never
    a silent loss."""

    #: What the pipeline does, for the error line ("could not extract: ...").
    step = "process"

    def __init__(self, ctx: CrawlContext) -> None:
        self.ctx = ctx

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Any:
        return cls(context_of(crawler))

    def process_item(self, item: Any) -> Any:
        try:
            return self.process(item)
        except DropItem:
            raise
        except Exception as exc:
            page = item.page if isinstance(item, Story) else item
            if not isinstance(page, Page):
                raise
            problem = f"{type(exc).__name__}: {_first_line(exc)}"
            raise self._fail(page, self.step, problem, exc) from exc

    def process(self, item: Any) -> Any:
        raise NotImplementedError

    def _fail(self, page: Page, step: str, error: str, detail: Exception | str) -> DropItem:
        """Record a failure of ours (``error``: "TypeName: message") in ``step`` on the page's
        source; return the DropItem to raise. ``detail``, the exception or its traceback, is
        logged at DEBUG only."""
        self.ctx.failed_documents.add(page.via_url)
        problem = f"could not {step}: {error}"
        self.ctx.report(page.source).error(f"{page.url}: {problem}")
        logger.error("[%s] %s: %s; it is fetched again on the next poll", page.source, page.url, problem)
        if isinstance(detail, Exception):
            logger.debug("[%s] %s: %s", page.source, page.url, step, exc_info=detail)
        else:
            logger.debug("[%s] %s: %s\n%s", page.source, page.url, step, detail)
        return DropItem(f"[{page.source}] {page.url}: {problem}")

    def _drop(self, page: Page, counter: str, urls: list[str], why: str) -> DropItem:
        """Count, mark the page's URLs seen, and return the DropItem to raise."""
        self.ctx.report(page.source).count(counter)
        if urls and page.story_id is None:
            self.ctx.store.mark_seen(urls)
        return DropItem(f"[{page.source}] {page.url}: {why}")


class ExtractPipeline(_ContextPipeline):
    """Page -> Story: trafilatura and structured metadata into the record, the topic's verdict
    and the fingerprints (:mod:`newsmon.crawler.analysis`), in the crawl's pool of processes
    when it has one, else in-process."""

    step = "extract"

    def __init__(self, ctx: CrawlContext) -> None:
        super().__init__(ctx)
        self.analyzer = Analyzer(ctx.config)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, Page):
            return item
        page = item
        pool = self.ctx.pool
        analysis = self.analyzer.analyze(page) if pool is None else await pool.analyze(page)
        if analysis.outcome == "failed":
            raise self._fail(page, analysis.step, analysis.error, analysis.detail)
        if analysis.outcome == "rejected":
            raise self._drop(page, "rejected", analysis.urls, analysis.why)
        assert analysis.record is not None
        return Story(page=page, record=analysis.record, urls=analysis.urls, analysis=analysis)


class TopicPipeline(_ContextPipeline):
    """Drop off-topic stories (the verdict came with the extraction); say why the others matched."""

    step = "match the topic"

    def process(self, item: Any) -> Any:
        if not isinstance(item, Story) or item.analysis.outcome != "off_topic":
            return item
        assert item.analysis.stub is not None
        self.ctx.store.keep_dropped(item.analysis.stub)
        logger.debug("[%s] %s: off topic (%s)", item.page.source, item.page.url, item.analysis.why)
        raise self._drop(item.page, "off_topic", item.urls, "off topic")


class PublishPipeline(_ContextPipeline):
    """Deduplicate and publish in one atomic Redis script, in a thread: the reactor goes on
    with other pages while the script runs (Redis serializes the scripts of every thread and
    every worker, so it decides alone)."""

    step = "publish"

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, Story):
            return item
        try:
            fingerprints = item.analysis.fingerprints or Fingerprints.of(item.record, item.urls)
            outcome = await asyncio.to_thread(self.ctx.store.publish, item.record, fingerprints)
        except Exception as exc:
            raise self._fail(item.page, self.step, f"{type(exc).__name__}: {_first_line(exc)}", exc) from exc
        return self._published(item, outcome)

    def _published(self, item: Story, outcome: PublishOutcome) -> dict[str, Any]:
        page = item.page
        report = self.ctx.report(page.source)
        if outcome.event == "duplicate" or outcome.reason in {"same-text", "near-duplicate"}:
            report.count("duplicates")
        if outcome.event is not None:
            report.count("published")
            report.count(f"published:{outcome.event}")  # per event, for the daemon's metrics
            logger.info("[%s] published %s %s (%s)", page.source, outcome.event, item.record["id"], page.url)
        else:
            logger.debug("[%s] %s: not published (%s)", page.source, page.url, outcome.reason)
        return {"id": item.record["id"], "event": outcome.event, "reason": outcome.reason}


def _first_line(exc: Exception) -> str:
    """The first line of an exception's message, capped: never a page body in a log line."""
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else ""
