"""Scrapy settings derived from the newsmon configuration.

Named ``scrapy_settings`` (never ``scrapy``) so that it cannot shadow the Scrapy package.
"""

from __future__ import annotations

from typing import Any

from newsmon.settings.model import Config
from newsmon.settings.version import __version__

_MW = "newsmon.crawler.middlewares"


def user_agent(config: Config) -> str:
    return config.fetch.user_agent or f"newsmon/{__version__} (+{config.fetch.contact_url})"


def build(config: Config) -> dict[str, Any]:
    """The settings of one poll crawl."""
    fetch = config.fetch
    return {
        "BOT_NAME": "newsmon",
        "USER_AGENT": user_agent(config),
        # robots.txt is newsmon's RobotsMiddleware (cached in Redis across crawls), not Scrapy's.
        "ROBOTSTXT_OBEY": False,
        # Scrapy 2.19 opens a code-execution HTTP port and a telnet console by default.
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "DOWNLOAD_TIMEOUT": fetch.timeout,
        "DNS_TIMEOUT": fetch.connect_timeout,
        "DOWNLOAD_MAXSIZE": fetch.max_size,
        "DOWNLOAD_WARNSIZE": 0,
        "REDIRECT_MAX_TIMES": fetch.max_redirects,
        "METAREFRESH_MAXDELAY": 10,  # meta refreshes share REDIRECT_MAX_TIMES, so a loop ends
        "DOWNLOAD_FAIL_ON_DATALOSS": True,  # a body shorter than its Content-Length is an error
        "URLLENGTH_LIMIT": fetch.max_url_length,
        "CONCURRENT_REQUESTS": fetch.concurrency,
        # A local cap only: the host gate (HostSlotsMiddleware, Redis) keeps concurrency_per_host
        # and fetch.delay for every worker and crawl. Scrapy's own per-slot delay would add to
        # the gate's (and dies with the crawl), so it is off.
        "CONCURRENT_REQUESTS_PER_DOMAIN": fetch.concurrency_per_host,
        "DOWNLOAD_DELAY": 0.0,
        "DOWNLOAD_DELAY_JITTER": 0.0,
        "RETRY_TIMES": fetch.retries,
        # Scrapy's list without DownloadTimeoutError: a server that let a whole request time
        # out will mostly do it again, and each retry held the crawl (and every source polled
        # with it) for another fetch.timeout. The next poll tries again anyway.
        "RETRY_EXCEPTIONS": [
            "scrapy.exceptions.CannotResolveHostError",
            "scrapy.exceptions.DownloadConnectionRefusedError",
            "scrapy.exceptions.DownloadFailedError",
            "scrapy.exceptions.ResponseDataLossError",
            "twisted.internet.error.ConnectionDone",
            "twisted.internet.error.ConnectError",
            "twisted.internet.error.ConnectionLost",
            OSError,  # HttpCompressionMiddleware, on an empty compressed body
            "scrapy.core.downloader.handlers.http11.TunnelError",
        ],
        "COOKIES_ENABLED": False,
        "HTTPCACHE_ENABLED": False,
        "LOG_ENABLED": False,  # newsmon's entry points configure logging
        "DEFAULT_REQUEST_HEADERS": {
            "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "Accept-Language": "en,fr;q=0.9,*;q=0.5",
        },
        "DOWNLOADER_MIDDLEWARES": {
            f"{_MW}.guard.AddressGuardMiddleware": 40,
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            f"{_MW}.robots.RobotsMiddleware": 100,
            # Above RetryMiddleware (550): sees 429/503 answers first, so Scrapy never retries
            # into a Retry-After block.
            f"{_MW}.retry_after.RetryAfterMiddleware": 555,
            f"{_MW}.conditional.ConditionalGetMiddleware": 560,
            # Last in request order, first in response and exception order: a request leaves only
            # with its host's shared slot, which is given back before any redirect or retry.
            f"{_MW}.host_slots.HostSlotsMiddleware": 950,
        },
        # Item log lines without the items (pages and records: whole article bodies).
        "LOG_FORMATTER": "newsmon.crawler.logformatter.QuietLogFormatter",
        "ITEM_PIPELINES": {
            "newsmon.crawler.pipelines.ExtractPipeline": 100,
            "newsmon.crawler.pipelines.TopicPipeline": 200,
            "newsmon.crawler.pipelines.PublishPipeline": 300,
        },
        "EXTENSIONS": {
            "scrapy.extensions.telnet.TelnetConsole": None,
            "scrapy.extensions.logstats.LogStats": None,
        },
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    }
