"""The typed, frozen configuration model.

Every default lives here, once. ``newsmon.settings.loader`` builds a :class:`Config` from YAML,
validates it and reports every problem; nothing else in newsmon reads the YAML or the
environment. This module imports neither Scrapy nor Redis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

DEFAULT_TRACKING_PARAMS: tuple[str, ...] = (
    # Analytics and ad-click families (a trailing * matches a prefix): Google Analytics and Ads,
    # Mailchimp, HubSpot, Facebook, Microsoft, Yandex, Instagram, TikTok, Twitter, LinkedIn,
    # Marketo, Adobe (s_cid), Alibaba (spm), Yahoo's consent redirect (guccounter, guce_*).
    "utm_*", "mc_*", "_hs*", "hsa_*", "fbclid", "fb_ref", "fb_source", "fb_action_ids", "fb_action_types",
    "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "ttclid", "twclid",
    "li_fat_id", "mkt_tok", "s_cid", "spm", "guccounter", "guce_*", "ncid", "ocid", "cmpid", "cmp", "CMP",
    "clickid", "click_id", "aftr_source", "this_affiliate", "oly_enc_id", "oly_anon_id", "vero_id",
    "rb_clickid", "_openstat", "ito", "xtor", "at_medium", "at_campaign", "_ga", "_gl",
    "ns_mchannel", "ns_source", "ns_campaign", "ref", "ref_src", "taid", "src", "share", "smid",
    "partner", "outputType",
)


@dataclass(frozen=True, slots=True)
class RedisSettings:
    """Where state lives. ``url`` None means: start the embedded Redis under ``data_dir``."""

    url: str | None = None
    prefix: str = "newsmon"


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """How politely and defensively pages are fetched."""

    allow_private_addresses: bool = False
    contact_url: str = "https://github.com/newsmon/newsmon"
    user_agent: str | None = None  # None: "newsmon/<version> (+<contact_url>)"
    obey_robots: bool = True
    timeout: float = 30.0  # seconds, whole request
    connect_timeout: float = 10.0
    max_size: int = 5 * 1024 * 1024  # bytes after decompression
    max_redirects: int = 5
    max_url_length: int = 2048
    delay: float = 1.0  # seconds between requests to one host
    concurrency_per_host: int = 2
    concurrency: int = 16
    max_age: timedelta = timedelta(days=7)  # feed items older than this are skipped
    max_items_per_feed: int = 200
    sitemap_depth: int = 3
    retries: int = 2
    # Private networks (CIDR) that may be fetched even when allow_private_addresses is false,
    # e.g. an intranet outlet, or 127.0.0.0/8 for local test outlets; every other private
    # address stays refused, on every redirect hop and at connect time.
    allowed_networks: tuple[str, ...] = ()
    max_retry_after: timedelta = timedelta(days=1)  # a longer Retry-After is cut to this
    max_crawl_delay: timedelta = timedelta(seconds=10)  # a longer robots.txt Crawl-delay is cut to this


@dataclass(frozen=True, slots=True)
class SelectorOverrides:
    """Per-source selectors for outlets where generic extraction fails.

    Each is a CSS selector, or an XPath expression when it starts with ``/`` or ``(``.
    """

    body: str | None = None
    title: str | None = None
    date: str | None = None
    authors: str | None = None


@dataclass(frozen=True, slots=True)
class Source:
    """One outlet to poll."""

    name: str
    interval: timedelta = timedelta(minutes=15)
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    pages: tuple[str, ...] = ()  # section pages scraped for article links
    home: str | None = None  # feeds are autodiscovered from it when none are listed
    language: str | None = None  # hint
    timezone: str | None = None  # IANA zone of times the outlet's pages give without an offset
    allow: tuple[str, ...] = ()  # regular expressions an article URL must match (section pages)
    deny: tuple[str, ...] = ()  # regular expressions that exclude an article URL
    selectors: SelectorOverrides | None = None
    enabled: bool = True
    # Adaptive polling: the interval moves between these from how often the source publishes.
    min_interval: timedelta | None = None  # None: interval (never polled more often than configured)
    max_interval: timedelta | None = None  # None: 4 x interval
    robots_sitemaps: bool = False  # also read the sitemaps listed in the host's robots.txt


@dataclass(frozen=True, slots=True)
class Term:
    """A topic term: a word, a phrase, a prefix ending in ``*``, or two of them joined by
    ``NEAR/n`` (within n words, either order) or ``NEAR/s`` (in one sentence).

    The defaults are the plain term of the first topic syntax: it counts 1 wherever the topic
    looks, in every language.
    """

    text: str
    match_case: bool = False
    weight: float = 1.0  # what one hit adds to its group's score (negative: a penalty)
    fields: tuple[str, ...] = ()  # where it counts; empty: the topic's fields
    languages: tuple[str, ...] = ()  # the article languages it applies to; empty: every language
    unless_near: tuple[str, ...] = ()  # a hit does not count with one of these words close by
    within: int | None = None  # how close, in words, for unless_near; None: in the same sentence


@dataclass(frozen=True, slots=True)
class Topic:
    """Which articles to keep.

    An article matches when every group in ``all`` reaches its minimum score (by default: has at
    least one term in it), at least one ``any`` term is in it (when ``any`` is not empty), no
    ``none`` term is in it, and its total score reaches ``threshold`` (when set). A term found
    adds its weight to its group's score once, times ``title_weight`` when it is in the title.
    """

    name: str
    all: tuple[tuple[str, tuple[Term, ...]], ...] = ()  # (group name, terms)
    any: tuple[Term, ...] = ()
    none: tuple[Term, ...] = ()
    fields: tuple[str, ...] = ("title", "description", "text")
    minimums: tuple[tuple[str, float], ...] = ()  # (group name, min_score) where not 1
    threshold: float | None = None  # the total score an article needs; None: no total needed
    title_weight: float = 1.0  # a term found in the title counts this many times its weight
    inflect: bool = False  # English and French plurals and inflections match without "*"
    acronyms: bool = False  # US, U.S., USA (UK, UN, EU...) are one token that keeps its case


@dataclass(frozen=True, slots=True)
class ExtractionSettings:
    """Article extraction."""

    comments: bool = False
    min_text_length: int = 250  # characters; shorter pages are rejected as not articles


@dataclass(frozen=True, slots=True)
class DedupSettings:
    """Story deduplication."""

    window: timedelta = timedelta(days=30)  # how long a URL or text stays "seen"
    tracking_params: tuple[str, ...] = DEFAULT_TRACKING_PARAMS
    near_duplicates: str = "publish"  # "publish" as event "duplicate", or "drop"
    near_window: timedelta = timedelta(days=14)
    url_buckets: int = 4096
    # Fetch a new story again this long after its first publication, to catch updates
    # (e.g. 1h, 6h, 24h); empty: never.
    recheck: tuple[timedelta, ...] = ()


@dataclass(frozen=True, slots=True)
class FeedSettings:
    """The article stream."""

    retention: timedelta = timedelta(days=14)
    max_length: int | None = None
    claim_idle: timedelta = timedelta(minutes=5)  # a reader's pending entries are redelivered after this
    max_deliveries: int = 10  # a record delivered this often without an ack goes to the dead letters


@dataclass(frozen=True, slots=True)
class JsonlSink:
    enabled: bool = True
    directory: Path | None = None  # None: <data_dir>/feed


@dataclass(frozen=True, slots=True)
class WebhookSink:
    name: str
    url: str
    secret: str | None = field(default=None, repr=False)  # HMAC-SHA256 signature header when set
    max_attempts: int = 8
    timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class SinkSettings:
    jsonl: JsonlSink = field(default_factory=JsonlSink)
    webhooks: tuple[WebhookSink, ...] = ()
    stdout: bool = False


@dataclass(frozen=True, slots=True)
class SchedulerSettings:
    """The daemon's scheduling and supervision policy."""

    workers: int | None = None  # None: the CPU count
    jitter: timedelta = timedelta(seconds=5)
    misfire_grace: timedelta = timedelta(minutes=1)
    job_lease: timedelta = timedelta(minutes=10)  # a poll job unacknowledged this long is claimed again
    worker_max_polls: int = 500  # a worker process is replaced after this many crawls (bounds leaks)
    hung_after: timedelta = timedelta(seconds=60)  # a worker silent this long is killed and replaced
    stop_timeout: timedelta = timedelta(seconds=25)


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    """The Prometheus endpoint (``/metrics``, ``/healthz``) of ``run``, ``scheduler`` and ``worker``."""

    listen: str | None = None  # "host:port"; None: no metrics server


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """Silent-failure alerts, computed by the scheduler (see ``newsmon.scheduler.alerts``)."""

    enabled: bool = True
    check_every: timedelta = timedelta(minutes=1)
    failed_polls: int = 3  # a source whose last N polls failed is "failing"
    # "silent": no new article link for silence_factor x the source's learned gap between new
    # links, and for at least min_silence.
    silence_factor: float = 4.0
    min_silence: timedelta = timedelta(hours=2)
    # "rejected": in its last poll, at least min_pages pages were fetched and this share of them
    # was rejected (not an article, empty extraction): a template change.
    rejected_ratio: float = 0.8
    min_pages: int = 3
    webhooks: tuple[WebhookSink, ...] = ()  # alert events are POSTed here as JSON


@dataclass(frozen=True, slots=True)
class Config:
    """The whole, validated configuration. Built once at the entry point, then passed down."""

    sources: tuple[Source, ...]
    path: Path | None = None  # the file it was read from
    data_dir: Path = Path("var")
    redis: RedisSettings = field(default_factory=RedisSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    topic: Topic | None = None
    extraction: ExtractionSettings = field(default_factory=ExtractionSettings)
    dedup: DedupSettings = field(default_factory=DedupSettings)
    feed: FeedSettings = field(default_factory=FeedSettings)
    sinks: SinkSettings = field(default_factory=SinkSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    log_level: str = "INFO"
    log_format: str = "text"  # "text" or "json" (one JSON object per line)

    def source(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)
