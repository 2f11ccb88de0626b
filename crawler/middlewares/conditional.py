"""Conditional GET for feeds, sitemaps and section pages.

ETag and Last-Modified of each document are kept in Redis and sent back; a hash of the body is
kept too, so that a server whose validators lie (never 304, or a new ETag for the same bytes)
does not make us parse the same document again. New validators are staged during the crawl and
written when it finishes, and only for documents whose articles were all processed: a poll that
was interrupted, or whose article fetches failed, reads the whole document again next time.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Request, Response

from newsmon.crawler.context import CrawlContext, context_of

logger = logging.getLogger(__name__)

#: Validators are forgotten after this many seconds without a poll.
VALIDATORS_TTL = 30 * 24 * 3600


class ConditionalGetMiddleware:
    """Downloader middleware for requests whose meta has ``conditional: True``."""

    def __init__(self, ctx: CrawlContext) -> None:
        self.ctx = ctx
        self.keys = ctx.keys

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalGetMiddleware:
        middleware = cls(context_of(crawler))
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def process_request(self, request: Request) -> None:
        if not request.meta.get("conditional"):
            return
        stored = self.ctx.client.hgetall(self.keys.validators(request.url))
        request.meta["validators"] = {k.decode(): v.decode() for k, v in stored.items()}
        etag = request.meta["validators"].get("etag")
        modified = request.meta["validators"].get("last_modified")
        if etag:
            request.headers.setdefault(b"If-None-Match", etag.encode("latin-1"))
        if modified:
            request.headers.setdefault(b"If-Modified-Since", modified.encode("latin-1"))

    def process_response(self, request: Request, response: Response) -> Response:
        if not request.meta.get("conditional") or response.status != 200:
            return response
        digest = hashlib.blake2b(response.body, digest_size=16).hexdigest()
        previous = request.meta.get("validators", {})
        staged: dict[str, str] = {"body_hash": digest}
        for header, field in ((b"ETag", "etag"), (b"Last-Modified", "last_modified")):
            value = response.headers.get(header)
            if value:
                staged[field] = value.decode("latin-1")
        if previous.get("body_hash") == digest:
            # response.meta is not tied to the request yet inside a downloader middleware.
            request.meta["unchanged"] = True
        self.ctx.staged_validators[request.url] = staged
        return response

    def spider_closed(self, spider: Any, reason: str) -> None:
        if reason != "finished":
            logger.info("Crawl ended (%s): conditional-GET validators not saved", reason)
            return
        pipe = self.ctx.client.pipeline(transaction=False)
        for url, staged in self.ctx.staged_validators.items():
            if url in self.ctx.failed_documents:
                continue
            key = self.keys.validators(url)
            pipe.delete(key)
            pipe.hset(key, mapping=staged)
            pipe.expire(key, VALIDATORS_TTL)
        pipe.execute()
