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
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from newsmon.crawler.extraction import extract
from newsmon.crawler.record import article_record, story_key
from newsmon.crawler.topic import TopicMatcher
from newsmon.settings.model import Config

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
