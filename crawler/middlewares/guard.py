"""Refuse requests that would reach the crawler's own network (SSRF guard).

Only ``http`` and ``https`` are fetched. Unless ``fetch.allow_private_addresses`` is true, a
request whose host is, or resolves to, a loopback, private, link-local (cloud metadata at
169.254.169.254 included), multicast, reserved or unspecified address is dropped, IPv4-mapped
IPv6 addresses included. Redirects come back through the downloader middlewares as new
requests, so every hop is checked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from functools import lru_cache
from urllib.parse import urlsplit

from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request

from newsmon.crawler.context import CrawlContext, context_of

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(IgnoreRequest):
    """The request's address is not one newsmon may fetch."""


def is_public(address: IPAddress) -> bool:
    """True for an address on the public internet."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return is_public(mapped)
    return address.is_global and not (address.is_multicast or address.is_reserved)


@lru_cache(maxsize=4096)
def _resolve(host: str) -> tuple[str, ...]:
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return tuple(sorted({info[4][0] for info in infos}))


def check_url(url: str, *, allow_private: bool) -> None:
    """Raise :class:`AddressRefused` unless ``url`` may be fetched (blocking DNS look-up)."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise AddressRefused(f"refused {url}: only http and https are fetched")
    host = parts.hostname
    if not host:
        raise AddressRefused(f"refused {url}: no host")
    if allow_private:
        return
    try:
        addresses: tuple[str, ...] = (str(ipaddress.ip_address(host)),)
    except ValueError:
        try:
            addresses = _resolve(host)
        except OSError as exc:
            raise AddressRefused(f"refused {url}: cannot resolve {host} ({exc.strerror or exc})") from None
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not is_public(address):
            raise AddressRefused(f"refused {url}: {host} is a non-public address ({address})")


class AddressGuardMiddleware:
    """Downloader middleware applying :func:`check_url` to every request and redirect hop."""

    def __init__(self, ctx: CrawlContext) -> None:
        self.ctx = ctx
        self.allow_private = ctx.config.fetch.allow_private_addresses

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressGuardMiddleware:
        return cls(context_of(crawler))

    async def process_request(self, request: Request) -> None:
        try:
            # DNS is blocking; keep it off the reactor thread.
            await asyncio.to_thread(check_url, request.url, allow_private=self.allow_private)
        except AddressRefused as exc:
            source = request.meta.get("source")
            logger.warning("[%s] %s", source, exc)
            if source:
                self.ctx.report(source).error(str(exc))
            raise
