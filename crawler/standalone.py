"""One page outside a crawl (``newsmon extract``): fetched behind the crawl's address guard,
and extracted to the record the pipeline would publish. Needs neither Redis nor the reactor.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from newsmon.crawler.extraction import extract
from newsmon.crawler.record import article_record, story_key
from newsmon.crawler.topic import TopicMatcher
from newsmon.settings.model import Config


class FetchError(Exception):
    """The page was refused by the address guard or could not be fetched; one line."""


def fetch_page(url: str, config: Config) -> tuple[bytes, str]:
    """GET ``url`` with newsmon's user agent, timeout and size limit.

    Returns:
        The body and the final URL, after redirects.

    Raises:
        FetchError: a non-public address (unless ``fetch.allow_private_addresses``), a network
            or HTTP error, or a body larger than ``fetch.max_size``.
    """
    import urllib.error
    import urllib.request

    # The guard imports Scrapy: only a fetch pays for it, not the extraction of a file.
    from newsmon.crawler.middlewares.guard import AddressRefused, check_url
    from newsmon.crawler.scrapy_settings import user_agent

    try:
        check_url(url, allow_private=config.fetch.allow_private_addresses)
    except AddressRefused as exc:
        raise FetchError(str(exc)) from None
    request = urllib.request.Request(url, headers={"User-Agent": user_agent(config)})  # noqa: S310 - scheme checked
    try:
        with urllib.request.urlopen(request, timeout=config.fetch.timeout) as response:  # noqa: S310
            body = response.read(config.fetch.max_size + 1)
            final = response.geturl()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"cannot fetch {url}: {reason}") from None
    if len(body) > config.fetch.max_size:
        raise FetchError(f"cannot fetch {url}: larger than fetch.max_size ({config.fetch.max_size} bytes)")
    return body, final


def page_record(body: bytes, url: str, config: Config, source: str | None = None) -> dict[str, Any]:
    """The record the pipeline would build for the page at ``url``, with the topic match shown.

    ``source`` names a configured source whose language hint and selectors apply. Unlike the
    pipeline, an off-topic page is not dropped: its record says that no term matched.

    Raises:
        NotAnArticle: the page is not an article (:mod:`newsmon.crawler.extract`).
        KeyError: ``source`` is not a configured source.
    """
    settings = config.source(source) if source else None
    article = extract(body, url, None, language_hint=settings.language if settings else None,
                      selectors=settings.selectors if settings else None, settings=config.extraction)
    key, shown = story_key(url, article.canonical_url, config.dedup.tracking_params)
    topic = None
    if config.topic is not None:
        match = TopicMatcher(config.topic).match(
            {"title": article.title, "description": article.description, "text": article.text})
        topic = match.to_record() if match else {"name": config.topic.name, "matched": [], "groups": {}}
    return article_record(article, url=url, key=key, canonical_url=shown, source=source,
                          fetched_at=datetime.now(UTC), via=None, topic=topic)
