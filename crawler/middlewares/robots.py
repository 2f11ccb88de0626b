"""robots.txt: fetched once a day per host for all crawls, obeyed, its Crawl-delay applied.

Replaces Scrapy's ``RobotsTxtMiddleware``, whose cache lives only as long as one crawl (newsmon
runs a fresh crawl per poll). Each ``scheme://host[:port]`` has one Redis hash
(``Keys.robots``): the outcome, the body and when to fetch it again. What an answer allows
follows RFC 9309 (:func:`~newsmon.crawler.politeness.robots_outcome`):

- 2xx: its rules, kept :data:`FRESH_FOR` (24 h);
- 4xx (but 429): everything allowed, kept 24 h;
- 5xx, 429, or no answer (time-out, reset, DNS): nothing allowed, asked again after
  :data:`RETRY_AFTER_ERROR`; when an older copy exists (kept :data:`KEEP_FOR`), that copy
  goes on applying instead (RFC 9309 §2.4 allows a cached copy while the file is unreachable).

Rules are matched with Protego, Scrapy's default parser, against newsmon's User-Agent. A
``Crawl-delay`` (capped by ``fetch.max_crawl_delay``) goes to the host gate
(``host_slots.py``), which keeps it between two requests to the host from every worker when it is
longer than ``fetch.delay``.

The spider may ask for ``/robots.txt`` itself (``meta["kind"] == "robots"``, to read its
``Sitemap:`` lines); it is then answered from the same cache, without a second download.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from protego import Protego
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response, TextResponse
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.httpobj import urlparse_cached

from newsmon.crawler.context import CrawlContext, context_of
from newsmon.crawler.middlewares.guard import AddressRefused
from newsmon.crawler.middlewares.host_slots import CRAWL_DELAY
from newsmon.crawler.middlewares.retry_after import HostDeferred
from newsmon.crawler.politeness import ALLOW_ALL, DENY_ALL, RULES, robots_outcome

logger = logging.getLogger(__name__)

FRESH_FOR = 24 * 3600
RETRY_AFTER_ERROR = 10 * 60
KEEP_FOR = 30 * 24 * 3600
#: Google reads the first 500 KiB of a robots.txt; so does newsmon.
MAX_ROBOTS = 500 * 1024


class RobotsDenied(IgnoreRequest):
    """robots.txt does not let newsmon fetch this URL (or could not be read)."""


@dataclass
class RobotsPolicy:
    """What one host's robots.txt allows."""

    outcome: str  # politeness.RULES, ALLOW_ALL or DENY_ALL
    body: str = ""
    status: int | None = None  # of the answer the outcome comes from; None: no answer
    _parser: Protego | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.outcome == RULES and self._parser is None:
            self._parser = Protego.parse(self.body)

    def allowed(self, url: str, user_agent: str) -> bool:
        if self.outcome == DENY_ALL:
            return False
        return self._parser is None or self._parser.can_fetch(url, user_agent)

    def crawl_delay(self, user_agent: str) -> float | None:
        return self._parser.crawl_delay(user_agent) if self._parser is not None else None

    def why_denied(self) -> str:
        if self.outcome != DENY_ALL:
            return "disallowed by robots.txt"
        got = f"HTTP {self.status}" if self.status else "no answer"
        return f"robots.txt could not be read ({got}); nothing is fetched until it can"


class RobotsMiddleware:
    """Downloader middleware obeying robots.txt, cached in Redis across crawls."""

    def __init__(self, crawler: Crawler, ctx: CrawlContext) -> None:
        self.crawler = crawler
        self.ctx = ctx
        fetch = ctx.config.fetch
        self.user_agent: str = crawler.settings.get("USER_AGENT") or "newsmon"
        self.max_delay = fetch.max_crawl_delay.total_seconds()
        self.base_delay = fetch.delay
        # Per crawl: the policy of each origin, or the in-flight fetch other requests wait on.
        self._policies: dict[str, RobotsPolicy | asyncio.Future[RobotsPolicy]] = {}
        self._delayed: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RobotsMiddleware:
        ctx = context_of(crawler)
        if not ctx.config.fetch.obey_robots:
            raise NotConfigured("fetch.obey_robots is false")
        return cls(crawler, ctx)

    async def process_request(self, request: Request) -> Response | None:
        if request.meta.get("dont_obey_robotstxt"):
            return None
        parts = urlparse_cached(request)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            return None  # the address guard refuses these
        origin = f"{parts.scheme}://{parts.netloc.lower()}"
        policy = await self.policy(origin, request)
        if request.meta.get("kind") == "robots" and parts.path == "/robots.txt":
            # The spider reads Sitemap: lines: answer from the cache.
            return TextResponse(request.url, status=200, body=policy.body.encode("utf-8"), encoding="utf-8",
                                request=request)
        if not policy.allowed(request.url, self.user_agent):
            self._count("denied")
            raise RobotsDenied(policy.why_denied())
        self._apply_delay(request, origin, policy)
        return None

    # -- the policy of one origin ----------------------------------------------------------
    async def policy(self, origin: str, request: Request) -> RobotsPolicy:
        known = self._policies.get(origin)
        if isinstance(known, RobotsPolicy):
            return known
        if known is not None:
            return await asyncio.shield(known)
        future: asyncio.Future[RobotsPolicy] = asyncio.get_running_loop().create_future()
        self._policies[origin] = future
        try:
            policy = self._cached(origin)
            if policy is None:
                policy = await self._download(origin, request)
        except asyncio.CancelledError:
            del self._policies[origin]
            future.cancel()
            raise
        except Exception as exc:
            # HostDeferred, AddressRefused or a Redis error: not an answer about robots.txt.
            # Nothing is cached; requests waiting for it fail the same way, later ones ask again.
            del self._policies[origin]
            future.set_exception(exc)
            future.exception()  # marks it retrieved: the waiters re-raise it
            raise
        self._policies[origin] = policy
        future.set_result(policy)
        return policy

    def _cached(self, origin: str) -> RobotsPolicy | None:
        stored = self.ctx.client.hgetall(self.ctx.keys.robots(origin))
        if not stored or float(stored.get(b"expires", b"0")) < time.time():
            return None
        status = stored.get(b"status")
        return RobotsPolicy(
            outcome=stored[b"outcome"].decode(),
            body=stored.get(b"body", b"").decode("utf-8", "replace"),
            status=int(status) if status else None,
        )

    async def _download(self, origin: str, request: Request) -> RobotsPolicy:
        source = request.meta.get("source")
        robots_request = Request(
            f"{origin}/robots.txt",
            callback=NO_CALLBACK,
            dont_filter=True,
            meta={"dont_obey_robotstxt": True, "source": source, "handle_httpstatus_all": True},
        )
        self._count("fetched")
        status: int | None
        try:
            response = await self.crawler.engine.download_async(robots_request)
        except (HostDeferred, AddressRefused):
            raise
        except Exception as exc:  # any failure to get an answer means "unreachable"
            logger.info("[%s] %s/robots.txt: no answer (%s)", source, origin, _describe(exc))
            status, body = None, ""
        else:
            status = response.status
            body = response.body[:MAX_ROBOTS].decode("utf-8", "replace") if status < 300 else ""
        return self._store(origin, source, robots_outcome(status), status, body)

    def _store(self, origin: str, source: str | None, outcome: str, status: int | None, body: str) -> RobotsPolicy:
        key = self.ctx.keys.robots(origin)
        now = time.time()
        if outcome == DENY_ALL:
            previous = self.ctx.client.hgetall(key)
            if previous and previous.get(b"outcome") in (RULES.encode(), ALLOW_ALL.encode()):
                fetched = float(previous.get(b"fetched", b"0"))
                logger.warning("[%s] %s/robots.txt unreachable (%s); going on with the copy of %s",
                               source, origin, f"HTTP {status}" if status else "no answer",
                               time.strftime("%Y-%m-%d %H:%M", time.gmtime(fetched)))
                self.ctx.client.hset(key, "expires", f"{now + RETRY_AFTER_ERROR:.0f}")
                previous_status = previous.get(b"status")
                return RobotsPolicy(
                    outcome=previous[b"outcome"].decode(),
                    body=previous.get(b"body", b"").decode("utf-8", "replace"),
                    status=int(previous_status) if previous_status else None,
                )
            logger.warning("[%s] %s/robots.txt unreachable (%s): nothing fetched from the host for %d min",
                           source, origin, f"HTTP {status}" if status else "no answer", RETRY_AFTER_ERROR // 60)
        fresh_for = RETRY_AFTER_ERROR if outcome == DENY_ALL else FRESH_FOR
        pipe = self.ctx.client.pipeline(transaction=True)
        pipe.delete(key)
        pipe.hset(key, mapping={
            "outcome": outcome,
            "body": body,
            "status": "" if status is None else str(status),
            "fetched": f"{now:.0f}",
            "expires": f"{now + fresh_for:.0f}",
        })
        pipe.expire(key, KEEP_FOR)
        pipe.execute()
        return RobotsPolicy(outcome=outcome, body=body, status=status)

    # -- Crawl-delay -----------------------------------------------------------------------
    def _apply_delay(self, request: Request, origin: str, policy: RobotsPolicy) -> None:
        """Hand the host's Crawl-delay (capped; 0 for none) to the host gate, which keeps the
        longer of it and ``fetch.delay`` between two requests of every worker."""
        asked = policy.crawl_delay(self.user_agent) or 0.0
        delay = min(asked, self.max_delay)
        request.meta[CRAWL_DELAY] = delay
        if origin in self._delayed:
            return
        self._delayed.add(origin)
        if delay < asked and asked > self.base_delay:
            logger.info("[%s] %s asks for a Crawl-delay of %.0fs; using %.0fs (fetch.max_crawl_delay)",
                        request.meta.get("source"), origin, asked, delay)

    def _count(self, what: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"newsmon/robots/{what}")


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
