"""Item pipelines: a downloaded :class:`Page` is extracted, kept or dropped by topic, then
deduplicated and published in one atomic step.

Every page that is not published is marked seen, so that it is not fetched again; a page that
failed for a reason of ours (an exception) is not, and its discovery document is read again on
the next poll.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from newsmon.crawler.context import CrawlContext, context_of
from newsmon.crawler.extraction import Article, NotAnArticle, extract
from newsmon.crawler.fingerprint import Fingerprints
from newsmon.crawler.record import article_record, dropped_stub, story_key
from newsmon.crawler.spiders.poll import Page
from newsmon.crawler.topic import TopicMatcher
from newsmon.crawler.urls import canonicalize

logger = logging.getLogger(__name__)


@dataclass
class Story:
    """An extracted article with its record, between the topic and publish pipelines."""

    page: Page
    article: Article
    record: dict[str, Any]
    urls: list[str] = field(default_factory=list)  # canonical URLs the page is known by


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
            raise self._fail(page, exc) from exc

    def process(self, item: Any) -> Any:
        raise NotImplementedError

    def _fail(self, page: Page, exc: Exception) -> DropItem:
        """Record a failure of ours on the page's source; return the DropItem to raise."""
        self.ctx.failed_documents.add(page.via_url)
        problem = f"could not {self.step}: {type(exc).__name__}: {_first_line(exc)}"
        self.ctx.report(page.source).error(f"{page.url}: {problem}")
        logger.error("[%s] %s: %s; it is fetched again on the next poll", page.source, page.url, problem)
        logger.debug("[%s] %s: %s", page.source, page.url, self.step, exc_info=exc)
        return DropItem(f"[{page.source}] {page.url}: {problem}")

    def _drop(self, page: Page, counter: str, urls: list[str], why: str) -> DropItem:
        """Count, mark the page's URLs seen, and return the DropItem to raise."""
        self.ctx.report(page.source).count(counter)
        if urls and page.story_id is None:
            self.ctx.store.mark_seen(urls)
        return DropItem(f"[{page.source}] {page.url}: {why}")


class ExtractPipeline(_ContextPipeline):
    """Page -> Story: trafilatura and structured metadata into the record."""

    step = "extract"

    def process(self, item: Any) -> Any:
        if not isinstance(item, Page):
            return item
        page = item
        source = self.ctx.config.source(page.source)
        tracking = self.ctx.config.dedup.tracking_params
        urls = [page.listed_url]
        fetched = canonicalize(page.url, tracking)
        if fetched not in urls:
            urls.append(fetched)
        try:
            article = extract(
                page.body,
                page.url,
                page.entry,
                language_hint=source.language,
                selectors=source.selectors,
                settings=self.ctx.config.extraction,
            )
        except NotAnArticle as exc:
            raise self._drop(page, "rejected", urls, f"not an article ({exc.reason})") from None
        key, shown = story_key(page.url, article.canonical_url, tracking)
        if key in urls:
            urls.remove(key)
        urls.insert(0, key)
        record = article_record(
            article, url=page.url, key=key, canonical_url=shown, source=page.source,
            fetched_at=page.fetched_at, via={"kind": page.via_kind, "url": page.via_url},
            record_id=page.story_id,
        )
        return Story(page=page, article=article, record=record, urls=urls)


class TopicPipeline(_ContextPipeline):
    """Drop off-topic stories; say why the others matched."""

    step = "match the topic"

    def __init__(self, ctx: CrawlContext) -> None:
        super().__init__(ctx)
        topic = ctx.config.topic
        self.matcher = TopicMatcher(topic) if topic is not None else None

    def process(self, item: Any) -> Any:
        if not isinstance(item, Story) or self.matcher is None:
            return item
        record = item.record
        verdict = self.matcher.evaluate(
            {"title": record["title"], "description": record["description"], "text": record["text"]},
            record["language"],
        )
        if not verdict.kept:
            explained = {**verdict.to_record(), "missed": verdict.missed, "excluded": verdict.excluded}
            self.ctx.store.keep_dropped(dropped_stub(record, explained, item.urls, verdict.reason, datetime.now(UTC)))
            logger.debug("[%s] %s: off topic (%s)", item.page.source, item.page.url, verdict.reason)
            raise self._drop(item.page, "off_topic", item.urls, "off topic")
        record["topic"] = verdict.to_record()
        return item


class PublishPipeline(_ContextPipeline):
    """Deduplicate and publish in one atomic Redis script."""

    step = "publish"

    def process(self, item: Any) -> Any:
        if not isinstance(item, Story):
            return item
        page = item.page
        report = self.ctx.report(page.source)
        outcome = self.ctx.store.publish(item.record, Fingerprints.of(item.record, item.urls))
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
