"""The poll spider: one pass over some sources' feeds, sitemaps and section pages.

For each source it reads the discovery documents, keeps the fresh entries whose canonical
URL has not been seen, and fetches those article pages. The pages become :class:`Page` items
that the pipelines extract, filter by topic, deduplicate and publish.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from newsmon.crawler.context import CrawlContext
from newsmon.crawler.discovery.feeds import parse_feed
from newsmon.crawler.discovery.headers import response_headers
from newsmon.crawler.discovery.pages import find_article_links, find_feed_links
from newsmon.crawler.discovery.sitemaps import parse_sitemap, robots_sitemaps
from newsmon.crawler.items import Discovery, DiscoveryError, Entry, Page
from newsmon.crawler.middlewares.retry_after import HostDeferred
from newsmon.crawler.middlewares.robots import RobotsDenied
from newsmon.crawler.urls import canonicalize
from newsmon.settings.model import Source

logger = logging.getLogger(__name__)

_HTML_TYPES = (b"text/html", b"application/xhtml+xml")
#: Sitemaps taken from one robots.txt (sites list archives by the dozen; the newest come first).
MAX_ROBOTS_SITEMAPS = 5


class PollSpider(scrapy.Spider):
    """Polls the sources named in the crawl context."""

    name = "poll"

    def __init__(self, ctx: CrawlContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ctx = ctx
        self.fetch = ctx.config.fetch
        self._sitemaps_seen: set[str] = set()
        self._new: dict[str, set[str]] = {}  # per source: unseen article URLs found (counter "new")
        # Canonical article URLs requested in this crawl: a story listed by two documents under
        # two URL variants is fetched once, even while its first copy is still being extracted.
        self._requested: set[str] = set()

    # -- start -------------------------------------------------------------------------------
    async def start(self) -> AsyncIterator[Any]:
        for name in self.ctx.sources:
            source = self.ctx.config.source(name)
            self.ctx.report(name)
            for request in self._source_requests(source):
                yield request
        for story_id, url, source_name in self.ctx.recheck:
            yield scrapy.Request(
                url,
                callback=self.parse_article,
                errback=self.on_article_error,
                dont_filter=True,
                meta={"source": source_name, "via": ("recheck", url), "listed_url": url, "story_id": story_id},
            )

    def _source_requests(self, source: Source) -> Iterable[scrapy.Request]:
        for url in source.feeds:
            yield self._document(source.name, "feed", url, self.parse_feed)
        for url in source.sitemaps:
            self._sitemaps_seen.add(url)
            yield self._document(source.name, "sitemap", url, self.parse_sitemap, depth=0)
        for url in source.pages:
            yield self._document(source.name, "page", url, self.parse_section)
        if source.home and not source.feeds:
            yield self._document(source.name, "home", source.home, self.parse_home, conditional=False)
        if source.robots_sitemaps:
            first = source.home or next(iter((*source.feeds, *source.sitemaps, *source.pages)))
            yield self._robots(source.name, first, fallback=False)

    def _robots(self, source: str, url: str, *, fallback: bool) -> scrapy.Request:
        """robots.txt of ``url``'s host, for its ``Sitemap:`` lines (served from the robots cache)."""
        parts = urlsplit(url)
        request = self._document(source, "robots", f"{parts.scheme}://{parts.netloc}/robots.txt",
                                 self.parse_robots, conditional=False)
        request.meta["handle_httpstatus_all"] = True
        request.meta["fallback"] = fallback
        return request

    def _document(
        self, source: str, kind: str, url: str, callback: Any, *, conditional: bool = True, depth: int = 0
    ) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.on_document_error,
            dont_filter=True,
            meta={
                "source": source,
                "kind": kind,
                "conditional": conditional,
                "depth": depth,
                "handle_httpstatus_list": [304],
            },
        )

    # -- discovery documents ---------------------------------------------------------------
    def _unchanged(self, response: Response) -> bool:
        if response.status == 304 or response.meta.get("unchanged"):
            self.ctx.report(response.meta["source"]).count("documents_unchanged")
            logger.debug("[%s] %s unchanged", response.meta["source"], response.url)
            return True
        return False

    def parse_feed(self, response: Response) -> Iterable[scrapy.Request]:
        if self._unchanged(response):
            return
        try:
            found = parse_feed(response.body, response.url, max_items=self.fetch.max_items_per_feed,
                               headers=response_headers(response.headers))
        except DiscoveryError as exc:
            self._document_failed(response, f"{exc}")
            return
        yield from self._follow_entries(response, found, "feed")

    def parse_sitemap(self, response: Response) -> Iterable[scrapy.Request]:
        if self._unchanged(response):
            return
        source = response.meta["source"]
        try:
            found = parse_sitemap(response.body, response.url, max_items=self.fetch.max_items_per_feed,
                                  headers=response_headers(response.headers))
        except DiscoveryError as exc:
            self._document_failed(response, f"{exc}")
            return
        depth = response.meta.get("depth", 0)
        for child in found.sitemaps:
            if child in self._sitemaps_seen:
                continue
            if depth + 1 > self.fetch.sitemap_depth:
                logger.warning("[%s] sitemap %s: index deeper than %d levels, not followed",
                               source, child, self.fetch.sitemap_depth)
                break
            self._sitemaps_seen.add(child)
            yield self._document(source, "sitemap", child, self.parse_sitemap, depth=depth + 1)
        yield from self._follow_entries(response, found, "sitemap")

    def parse_section(self, response: Response) -> Iterable[scrapy.Request]:
        if self._unchanged(response):
            return
        source = self.ctx.config.source(response.meta["source"])
        if not self._is_html(response):
            self._document_failed(response, "section page is not HTML")
            return
        entries = find_article_links(response.body, response.url, allow=source.allow, deny=source.deny)
        yield from self._follow_entries(response, Discovery(kind="page", entries=entries), "page")

    def parse_home(self, response: Response) -> Iterable[scrapy.Request]:
        source = response.meta["source"]
        feeds = find_feed_links(response.body, response.url) if self._is_html(response) else []
        if not feeds:
            config = self.ctx.config.source(source)
            if config.sitemaps:
                self._document_failed(response, "no feed found on the home page")
            elif not config.robots_sitemaps:  # with it, robots.txt is already being read
                logger.info("[%s] %s: no feed link; trying the sitemaps in robots.txt", source, response.url)
                yield self._robots(source, response.url, fallback=True)
            return
        self.ctx.report(source).count("documents_read")
        for url in feeds[:3]:
            yield self._document(source, "feed", url, self.parse_feed)

    def parse_robots(self, response: Response) -> Iterable[scrapy.Request]:
        source = response.meta["source"]
        text = response.body.decode("utf-8", "replace") if response.status == 200 else ""
        found = [url for url in robots_sitemaps(text, response.url) if url not in self._sitemaps_seen]
        if not found:
            if response.meta.get("fallback"):
                self._document_failed(response, "no feed link on the home page, and no Sitemap: line in robots.txt")
            return
        for url in found[:MAX_ROBOTS_SITEMAPS]:
            self._sitemaps_seen.add(url)
            yield self._document(source, "sitemap", url, self.parse_sitemap, depth=0)

    def _follow_entries(self, response: Response, found: Discovery, kind: str) -> Iterable[scrapy.Request]:
        source = response.meta["source"]
        report = self.ctx.report(source)
        report.count("documents_read")
        if found.degraded:
            report.degraded.append(response.url)
            logger.warning("[%s] %s is malformed; read what could be recovered", source, response.url)
        if found.ttl is not None:
            # The refresh period the feed declares; the scheduler never polls faster than this.
            ttl = int(found.ttl.total_seconds())
            report.counts["declared_ttl"] = max(report.counts["declared_ttl"], ttl)
        fresh = self._fresh(found.entries)
        canonical: dict[str, Entry] = {}
        for entry in fresh:
            if len(entry.url) > self.fetch.max_url_length:
                continue
            canonical.setdefault(canonicalize(entry.url, self.ctx.config.dedup.tracking_params), entry)
        report.count("entries", len(canonical))
        if not canonical:
            return
        unseen = self.ctx.store.unseen(list(canonical))
        new = self._new.setdefault(source, set())
        report.count("new", len(set(unseen) - new))  # how often the source publishes: adaptive interval
        new.update(unseen)
        for url in unseen:
            if url in self._requested:
                continue
            self._requested.add(url)
            entry = canonical[url]
            yield scrapy.Request(
                entry.url,
                callback=self.parse_article,
                errback=self.on_article_error,
                meta={"source": source, "entry": entry, "via": (kind, response.url), "listed_url": url},
            )

    def _fresh(self, entries: list[Entry]) -> list[Entry]:
        """Entries not older than ``fetch.max_age`` (undated entries are kept)."""
        cutoff = datetime.now(UTC) - self.fetch.max_age
        return [e for e in entries if (e.published or e.updated) is None or (e.published or e.updated) >= cutoff]  # type: ignore[operator]

    # -- articles --------------------------------------------------------------------------
    def parse_article(self, response: Response) -> Iterable[Page]:
        source = response.meta["source"]
        if not self._is_html(response):
            self.ctx.report(source).count("rejected")
            logger.info("[%s] %s: skipped, not an HTML page (%s)", source, response.url,
                        (response.headers.get(b"Content-Type") or b"?").decode("latin-1"))
            self.ctx.store.mark_seen([response.meta["listed_url"]])
            return
        self.ctx.report(source).count("fetched")
        via_kind, via_url = response.meta["via"]
        yield Page(
            source=source,
            url=response.url,
            listed_url=response.meta["listed_url"],
            body=response.body,
            entry=response.meta.get("entry"),
            via_kind=via_kind,
            via_url=via_url,
            fetched_at=datetime.now(UTC),
            story_id=response.meta.get("story_id"),
        )

    @staticmethod
    def _is_html(response: Response) -> bool:
        ctype = (response.headers.get(b"Content-Type") or b"").lower()
        return not ctype or any(t in ctype for t in _HTML_TYPES)

    # -- errors ----------------------------------------------------------------------------
    def _document_failed(self, fetch: scrapy.Request | Response, why: str) -> None:
        """Count a discovery document (by its request or response) as failed, with the reason."""
        source, url = fetch.meta["source"], fetch.url
        report = self.ctx.report(source)
        report.count("documents_failed")
        # Its body hash is not kept: the same broken body must fail again, not pass as unchanged.
        self.ctx.failed_documents.add(url)
        report.error(f"{url}: {why}")
        logger.warning("[%s] %s: %s", source, url, why)

    def on_document_error(self, failure: Failure) -> None:
        _raise_if_redis_is_away(failure)
        request = failure.request  # type: ignore[attr-defined]
        source = request.meta["source"]
        report = self.ctx.report(source)
        if failure.check(HostDeferred):
            report.count("deferred")  # not a failure: read again once the host's block is over
            logger.info("[%s] %s: %s", source, request.url, failure.value)
            return
        self._document_failed(request, _describe(failure, request.url))

    def on_article_error(self, failure: Failure) -> None:
        _raise_if_redis_is_away(failure)
        request = failure.request  # type: ignore[attr-defined]
        source = request.meta["source"]
        report = self.ctx.report(source)
        if failure.check(HostDeferred):
            # Not seen and not an error; the document is read in full again next poll.
            report.count("deferred")
            self.ctx.failed_documents.add(request.meta["via"][1])
            logger.info("[%s] article %s: %s", source, request.url, failure.value)
            return
        if failure.check(RobotsDenied):
            # Not an error of the source's: remembered as seen, so it is not asked for again.
            report.count("robots_denied")
            if request.meta.get("story_id") is None:
                self.ctx.store.mark_seen([request.meta["listed_url"]])
            logger.info("[%s] article %s: %s", source, request.url, failure.value)
            return
        why = _describe(failure, request.url)
        self.ctx.report(source).error(f"{request.url}: {why}")
        self.ctx.failed_documents.add(request.meta["via"][1])
        logger.warning("[%s] article %s: %s", source, request.url, why)


def _raise_if_redis_is_away(failure: Failure) -> None:
    """A middleware's Redis call failed: not the source's failure but an outage, which whoever
    runs the crawl handles (Scrapy logs the re-raised error with its exception attached)."""
    import redis

    if failure.check(redis.ConnectionError, redis.TimeoutError):
        failure.raiseException()


def _describe(failure: Failure, url: str) -> str:
    """Why fetching ``url`` failed, in one line; messages are logged after ``url``, so a URL
    the exception repeats is left out (``refused: cannot resolve ...``)."""
    from scrapy.spidermiddlewares.httperror import HttpError

    exc = failure.value
    if isinstance(exc, HttpError):
        return f"HTTP {exc.response.status}"
    text = (str(exc).strip() or type(exc).__name__).splitlines()[0]
    return text.replace(f" {url}:", ":", 1)
