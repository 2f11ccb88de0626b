"""One page outside a crawl (``newsmon extract``): fetched behind the crawl's address guard,
and extracted to the record the pipeline would publish. Needs neither Redis nor the reactor.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from newsmon.crawler.extraction import extract
from newsmon.crawler.record import article_record, story_key
from newsmon.crawler.topic import TopicMatcher
from newsmon.settings.model import Config, Topic

if TYPE_CHECKING:
    from newsmon.crawler.middlewares.guard import IPNetwork


class FetchError(Exception):
    """The page was refused by the address guard or could not be fetched; one line."""


def fetch_page(url: str, config: Config) -> tuple[bytes, str]:
    """GET ``url`` with newsmon's user agent, timeout and size limit, behind the crawl's guard.

    As in a crawl, the address policy (``fetch.allow_private_addresses``,
    ``fetch.allowed_networks``) is applied to the URL, to every redirect hop (at most
    ``fetch.max_redirects``) and to the DNS answer the connection is made to, so a second,
    different answer (DNS rebinding) cannot reach a refused address. Proxies are not used.

    Returns:
        The body and the final URL, after redirects.

    Raises:
        FetchError: a refused address, a network or HTTP error, or a body larger than
            ``fetch.max_size``.
    """
    import urllib.error

    # The guard imports Scrapy: only a fetch pays for it, not the extraction of a file.
    from newsmon.crawler.middlewares.guard import AddressRefused, parse_networks
    from newsmon.crawler.scrapy_settings import user_agent

    fetch = config.fetch
    opener = _guarded_opener(fetch.allow_private_addresses, parse_networks(fetch.allowed_networks),
                             fetch.max_redirects)
    request = urllib.request.Request(url, headers={"User-Agent": user_agent(config)})  # noqa: S310 - scheme checked
    try:
        _check(url, fetch.allow_private_addresses, parse_networks(fetch.allowed_networks))
        with opener.open(request, timeout=fetch.timeout) as response:
            body = response.read(fetch.max_size + 1)
            final = response.geturl()
    except AddressRefused as exc:
        raise FetchError(str(exc)) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, AddressRefused):
            raise FetchError(str(exc.reason)) from None
        raise FetchError(f"cannot fetch {url}: {exc.reason}") from None
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise FetchError(f"cannot fetch {url}: {exc}") from None
    if len(body) > fetch.max_size:
        raise FetchError(f"cannot fetch {url}: larger than fetch.max_size ({fetch.max_size} bytes)")
    return body, final


def _check(url: str, allow_private: bool, allowed: Sequence[IPNetwork]) -> None:
    from newsmon.crawler.middlewares.guard import check_url

    check_url(url, allow_private=allow_private, allowed=allowed)


def _guarded_opener(allow_private: bool, allowed: Sequence[IPNetwork], max_redirects: int
                    ) -> urllib.request.OpenerDirector:
    """A urllib opener whose every hop and every connection passes the address guard."""
    from newsmon.crawler.middlewares.guard import AddressRefused, is_permitted

    def connect(address: tuple[str, int], timeout: Any = socket._GLOBAL_DEFAULT_TIMEOUT,  # type: ignore[attr-defined]
                source_address: Any = None, **kwargs: Any) -> socket.socket:
        """socket.create_connection, to an address the guard permits: resolved once, here."""
        host, port = address
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        if not allow_private:
            for info in infos:
                ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
                if not is_permitted(ip, allowed):
                    raise AddressRefused(f"refused {host}: it resolved to a non-public address ({ip})")
        last: OSError | None = None
        for family, kind, proto, _name, sockaddr in infos:
            sock = socket.socket(family, kind, proto)
            try:
                if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:  # type: ignore[attr-defined]
                    sock.settimeout(timeout)
                if source_address:
                    sock.bind(source_address)
                sock.connect(sockaddr)
                return sock
            except OSError as exc:
                sock.close()
                last = exc
        raise last or OSError(f"cannot connect to {host}")

    class Connection(http.client.HTTPConnection):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._create_connection = connect

    class SecureConnection(http.client.HTTPSConnection):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._create_connection = connect

    class Http(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(Connection, req)

    class Https(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(SecureConnection, req, context=ssl.create_default_context())

    class Redirects(urllib.request.HTTPRedirectHandler):
        max_redirections = max_redirects

        def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,  # noqa: PLR0917
                             headers: Any, newurl: str) -> urllib.request.Request | None:
            _check(newurl, allow_private, allowed)  # every hop, before it is asked for
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    return urllib.request.build_opener(urllib.request.ProxyHandler({}), Http, Https, Redirects)


#: The ``source`` of a record extracted without ``--source``.
NO_SOURCE = "extract"
#: A file extracted without ``--url`` is given the URL ``https://extract.invalid/<file name>``:
#: a record's URLs are http(s), and ``.invalid`` (RFC 2606) can never be a real site.
FILE_URL_BASE = "https://extract.invalid/"


class UnknownSource(KeyError):
    """``--source`` names no configured source."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True, slots=True)
class PageRecord:
    """A page's record, complete as the feed would carry a new story, and the topic's verdict.

    ``kept`` is False when the configured topic would drop the page (the crawl would not
    publish it); ``reason`` says why, in one line.
    """

    record: dict[str, Any]
    kept: bool
    reason: str


def file_url(path: Path) -> str:
    """The placeholder URL of a file extracted without ``--url``."""
    return FILE_URL_BASE + quote(path.name)


def page_record(body: bytes, url: str, config: Config, source: str | None = None) -> PageRecord:
    """The record the pipeline would publish for the page at ``url``, as a new story.

    ``source`` names a configured source whose language hint and selectors apply; without it
    the record's ``source`` is :data:`NO_SOURCE` and ``discovered_via`` points at the page
    itself. Unlike the pipeline, an off-topic page is not dropped: it is returned with
    ``kept=False``, and its ``topic`` lists the terms that were found.

    Raises:
        NotAnArticle: the page is not an article (:mod:`newsmon.crawler.extract`).
        UnknownSource: ``source`` is not a configured source.
        InvalidURL: ``url`` is not an absolute http(s) URL.
    """
    settings = None
    if source is not None:
        try:
            settings = config.source(source)
        except KeyError:
            names = ", ".join(s.name for s in config.sources) or "none"
            raise UnknownSource(f'unknown source "{source}" (configured: {names})') from None
    article = extract(body, url, None, language_hint=settings.language if settings else None,
                      timezone=settings.timezone if settings else None,
                      selectors=settings.selectors if settings else None, settings=config.extraction)
    key, shown = story_key(url, article.canonical_url, config.dedup.tracking_params)
    fields = {"title": article.title, "description": article.description, "text": article.text}
    topic, kept, reason = _topic_verdict(config.topic, fields, article.language)
    record = article_record(article, url=url, key=key, canonical_url=shown,
                            source=source or NO_SOURCE, fetched_at=datetime.now(UTC),
                            via={"kind": "page", "url": url}, topic=topic)
    # What the publisher adds to a story it has not seen before.
    record.update(event="new", duplicate_of=None, cluster_id=record["id"], revision=1, changes=[])
    return PageRecord(record, kept, reason)


def _topic_verdict(topic: Topic | None, fields: dict[str, str | None], language: str | None
                   ) -> tuple[dict[str, Any] | None, bool, str]:
    """The record's ``topic``, whether the topic keeps the page, and why."""
    if topic is None:
        return None, True, "kept: no topic is configured"
    verdict = TopicMatcher(topic).evaluate(fields, language)
    if verdict.kept:
        terms = ", ".join(f'"{term}"' for term in verdict.matched) or "no term needed"
        return verdict.to_record(), True, f'kept by topic "{topic.name}" (score {verdict.score:g}): {terms}'
    why = []
    if verdict.excluded:
        why.append("it contains " + ", ".join(f'"{text}"' for text in verdict.excluded) + " (none)")
    for name in verdict.missed:
        if name == "any":
            why.append("no term of any")
        else:
            why.append(f'too little of the all group "{name}" (score {verdict.scores.get(name, 0):g})')
    if not why and verdict.threshold is not None:
        why.append(f"score {verdict.score:g} below the threshold {verdict.threshold:g}")
    return verdict.to_record(), False, f'dropped by topic "{topic.name}": {"; ".join(why) or "no match"}'
