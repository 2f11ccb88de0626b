"""Refuse requests that would reach the crawler's own network (SSRF guard).

Only ``http`` and ``https`` are fetched. Unless ``fetch.allow_private_addresses`` is true, a
request whose host is, or resolves to, a loopback, private, link-local (cloud metadata at
169.254.169.254 included), multicast, reserved or unspecified address is dropped, IPv4-mapped
IPv6 addresses included; networks listed in ``fetch.allowed_networks`` are let through.
Redirects come back through the downloader middlewares as new requests, so every hop is checked.

The check resolves the host name in a thread; Twisted resolves it again when it connects, and a
DNS server may answer differently the second time (DNS rebinding). The middleware therefore also
installs :class:`~newsmon.crawler.resolver.GuardedResolver` on the reactor, which drops
non-public answers at connect time.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Sequence
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
    return tuple(sorted({str(info[4][0]) for info in infos}))


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(texts: Sequence[str]) -> tuple[IPNetwork, ...]:
    """``fetch.allowed_networks`` as networks; a bad entry is a configuration error."""
    networks = []
    for i, text in enumerate(texts):
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(
                f"fetch.allowed_networks[{i}]: expected a network like 10.0.0.0/8 or an address, got {text!r}"
            ) from None
    return tuple(networks)


def is_permitted(address: IPAddress, allowed: Sequence[IPNetwork] = ()) -> bool:
    """True for a public address, or one inside ``allowed`` (IPv4-mapped IPv6 unwrapped)."""
    if is_public(address):
        return True
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == net.version and address in net for net in allowed)


def check_url(url: str, *, allow_private: bool, allowed: Sequence[IPNetwork] = ()) -> None:
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
        if not is_permitted(address, allowed):
            raise AddressRefused(f"refused {url}: {host} is a non-public address ({address})")


class AddressGuardMiddleware:
    """Downloader middleware applying :func:`check_url` to every request and redirect hop."""

    def __init__(self, ctx: CrawlContext) -> None:
        self.ctx = ctx
        self.allow_private = ctx.config.fetch.allow_private_addresses
        self.allowed = parse_networks(ctx.config.fetch.allowed_networks)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressGuardMiddleware:
        from newsmon.crawler.resolver import install_guarded_resolver

        middleware = cls(context_of(crawler))
        fetch = middleware.ctx.config.fetch
        install_guarded_resolver(
            allow_private=middleware.allow_private, allowed=middleware.allowed, timeout=fetch.connect_timeout
        )
        return middleware

    async def process_request(self, request: Request) -> None:
        try:
            # DNS is blocking; keep it off the reactor thread.
            await asyncio.to_thread(check_url, request.url, allow_private=self.allow_private, allowed=self.allowed)
        except AddressRefused as exc:
            # The request's errback reports and logs it (counting it here too counted it twice).
            logger.debug("[%s] %s", request.meta.get("source"), exc)
            raise
