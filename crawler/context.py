"""What one crawl's components share: the configuration, the story store and per-source reports.

Whoever runs a crawl (the scheduler's worker, ``newsmon crawl``) builds one :class:`CrawlContext`
and passes it to the spider; middlewares and pipelines read it in ``from_crawler`` with
:func:`context_of` (the spider exists before they are built). It cannot travel in the Scrapy
settings: those are deep-copied.

The crawler never imports the scheduler: what it needs of the stateful side arrives here,
typed by the small protocols below (:class:`StoryStore`, :class:`CrawlKeys`, :class:`HostSlots`),
which the scheduler's Redis store, key names and host gate implement.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import redis
    from scrapy.crawler import Crawler

    from newsmon.crawler.analysis import PagePool
    from newsmon.crawler.fingerprint import Fingerprints
    from newsmon.settings.model import Config

logger = logging.getLogger(__name__)

#: Counters kept per source, in the order ``newsmon crawl`` prints them.
COUNTERS = (
    "documents_read",  # feeds, sitemaps and section pages parsed
    "documents_unchanged",  # 304 Not Modified, or the same body as last time
    "documents_failed",
    "entries",  # article links found
    "new",  # article links not seen before
    "fetched",  # article pages downloaded
    "published",  # records appended to the feed (new, duplicate, updated)
    "duplicates",  # copies of stories seen before (published as "duplicate" or dropped)
    "off_topic",
    "rejected",  # not an article
    "robots_denied",  # article URLs robots.txt disallows
    "deferred",  # requests held back by a host's Retry-After (fetched after it expires)
    "errors",
)


class PublishOutcome(Protocol):
    """What the store decided for one story."""

    @property
    def event(self) -> str | None:
        """``new``, ``duplicate`` or ``updated`` when a record was published, else None."""

    @property
    def reason(self) -> str:
        """Why, in a word (``same-text``, ``near-duplicate``...), for counters and DEBUG lines."""


class StoryStore(Protocol):
    """The dedup state a crawl reads and writes: seen URLs, the atomic publish, and the stubs of
    the stories the topic dropped."""

    def unseen(self, urls: Sequence[str]) -> list[str]:
        """The canonical URLs of ``urls`` not seen before, in order."""

    def mark_seen(self, urls: Sequence[str]) -> None:
        """Remember canonical URLs that were handled without being published."""

    def publish(self, record: Mapping[str, Any], fp: Fingerprints) -> PublishOutcome:
        """Deduplicate ``record`` and publish it (or not) in one atomic step."""

    def keep_dropped(self, stub: Mapping[str, Any]) -> None:
        """Keep the compact stub of a story the topic dropped (``newsmon topic why`` reads it)."""


class CrawlKeys(Protocol):
    """The Redis key names the crawl's middlewares keep their state under."""

    def validators(self, url: str) -> str:
        """Conditional-GET validators of one feed or sitemap URL."""

    def host_block(self, host: str) -> str:
        """Set while a host's Retry-After lasts."""

    def robots(self, origin: str) -> str:
        """The cached robots.txt of one origin."""


@dataclass(frozen=True, slots=True)
class HostSlot:
    """The answer to a request for one of a host's slots: granted, or how long to wait."""

    token: str | None  # the lease to release once the answer arrived; None: not granted
    wait: float = 0.0  # seconds before asking again, when not granted
    reason: str = "granted"  # else "delay", "busy" or "blocked" (a Retry-After block)

    @property
    def granted(self) -> bool:
        return self.token is not None


class HostSlots(Protocol):
    """Per-host politeness shared by every crawl of every worker: ``fetch.delay`` (or a longer
    Crawl-delay) between request starts, at most ``concurrency_per_host`` requests in flight.

    Both calls are short and never wait themselves: the caller sleeps ``wait`` and asks again.
    """

    def acquire(self, host: str, *, crawl_delay: float | None = None) -> HostSlot:
        """A slot for one request to ``host`` now, or how long to wait.

        Args:
            host: the request's host name, lower case.
            crawl_delay: the host's robots.txt Crawl-delay (seconds, capped; 0 for none);
                None when the caller does not know it (the one last given applies).
        """

    def release(self, host: str, token: str) -> None:
        """Give back a granted slot (its answer arrived, or the request failed)."""


@dataclass
class SourceReport:
    """What happened to one source during one crawl."""

    name: str
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)  # one line each, newest last, capped
    degraded: list[str] = field(default_factory=list)  # documents that parsed only in part

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] += n

    def error(self, message: str) -> None:
        self.counts["errors"] += 1
        if len(self.errors) < 20:
            self.errors.append(message)

    @property
    def failed(self) -> bool:
        """True when nothing of the source could be read."""
        return (
            self.counts["documents_failed"] > 0
            and self.counts["documents_read"] == 0
            and self.counts["documents_unchanged"] == 0
        )

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"source": self.name}
        data.update({name: self.counts[name] for name in COUNTERS})
        data["failed"] = self.failed
        data["degraded"] = list(self.degraded)
        data["last_errors"] = list(self.errors[-3:])
        return data


@dataclass
class CrawlContext:
    """Everything a crawl's Scrapy components need, built once by the runner."""

    config: Config
    client: redis.Redis
    keys: CrawlKeys
    store: StoryStore
    sources: tuple[str, ...]
    hosts: HostSlots
    reports: dict[str, SourceReport] = field(default_factory=dict)
    recheck: tuple[tuple[str, str, str], ...] = ()  # (story id, url, source) to fetch again
    # Conditional-GET validators are written only when the crawl finished and every article
    # found in the document was processed, so that an interrupted poll is redone in full.
    staged_validators: dict[str, dict[str, str]] = field(default_factory=dict)
    failed_documents: set[str] = field(default_factory=set)
    # The processes that extract the pages; None: extraction runs in this process.
    pool: PagePool | None = None

    def report(self, source: str) -> SourceReport:
        if source not in self.reports:
            self.reports[source] = SourceReport(source)
        return self.reports[source]


def context_of(crawler: Crawler) -> CrawlContext:
    """The context of the crawl ``crawler`` runs."""
    ctx = getattr(crawler.spider, "ctx", None)
    if not isinstance(ctx, CrawlContext):
        raise TypeError("newsmon components need a spider built with a CrawlContext (ctx=...)")
    return ctx
