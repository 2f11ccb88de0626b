"""The reactor's host name resolver, guarded: non-public answers never reach a connection.

:class:`~newsmon.crawler.middlewares.guard.AddressGuardMiddleware` checks each request's host
before it is sent, but Twisted resolves the name again when it connects; a hostile DNS server
can answer with a public address the first time and ``127.0.0.1`` or ``169.254.169.254`` the
second (DNS rebinding). :class:`GuardedResolver` wraps the reactor's own resolver and drops
every address the guard would refuse, so the connection fails with "no results for hostname
lookup" instead. It also bounds the look-up by ``fetch.connect_timeout``.

Scrapy's ``DNS_RESOLVER`` setting is only read by ``CrawlerProcess``; newsmon runs crawls with
``AsyncCrawlerRunner`` on a reactor of its own, so the guard installs this resolver itself
(:func:`install_guarded_resolver`), once per process, updating its policy on later crawls.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence
from typing import Any

from twisted.internet.interfaces import IAddress, IHostnameResolver, IHostResolution, IResolutionReceiver
from zope.interface import implementer, provider

from newsmon.crawler.middlewares.guard import IPNetwork, is_permitted

logger = logging.getLogger(__name__)


@provider(IResolutionReceiver)
class _Filter:
    """Passes the permitted addresses on; completes at most once (the look-up may time out)."""

    def __init__(self, receiver: Any, host: str, resolver: GuardedResolver) -> None:
        # Any: mypy reads zope Interface methods without their self (no zope plugin here).
        self.receiver = receiver
        self.host = host
        self.resolver = resolver
        self.done = False
        self.refused: list[str] = []
        self.timer: Any = None

    def resolutionBegan(self, resolution: IHostResolution) -> None:
        self.receiver.resolutionBegan(resolution)

    def addressResolved(self, address: IAddress) -> None:
        if self.done:
            return
        if self.resolver.permits(address):
            self.receiver.addressResolved(address)
        else:
            self.refused.append(str(getattr(address, "host", address)))

    def resolutionComplete(self) -> None:
        if self.done:
            return
        self.done = True
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        if self.refused:
            logger.warning("Refused to connect to %s: it resolved to non-public %s",
                           self.host, ", ".join(sorted(set(self.refused))))
        self.receiver.resolutionComplete()

    def time_out(self) -> None:
        if not self.done:
            logger.warning("Resolving %s took longer than %.1fs; given up", self.host, self.resolver.timeout)
            self.resolutionComplete()


@implementer(IHostnameResolver)
class GuardedResolver:
    """Wraps a reactor's ``nameResolver``; drops addresses the address guard would refuse."""

    def __init__(self, reactor: Any, original: Any) -> None:
        self.reactor = reactor
        self.original = original
        self.allow_private = False
        self.allowed: tuple[IPNetwork, ...] = ()
        self.timeout = 10.0

    def configure(self, *, allow_private: bool, allowed: Sequence[IPNetwork], timeout: float) -> None:
        self.allow_private = allow_private
        self.allowed = tuple(allowed)
        self.timeout = timeout

    def permits(self, address: IAddress) -> bool:
        if self.allow_private:
            return True
        host = getattr(address, "host", None)
        if not isinstance(host, str):
            return False
        try:
            ip = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        return is_permitted(ip, self.allowed)

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        receiver = _Filter(resolutionReceiver, hostName, self)
        if self.timeout > 0:
            receiver.timer = self.reactor.callLater(self.timeout, receiver.time_out)
        return self.original.resolveHostName(receiver, hostName, portNumber, addressTypes, transportSemantics)


def install_guarded_resolver(
    *, allow_private: bool, allowed: Sequence[IPNetwork], timeout: float, reactor: Any = None
) -> GuardedResolver:
    """Install (once) or reconfigure the guarded resolver on ``reactor`` (default: the global one)."""
    if reactor is None:
        from twisted.internet import reactor as global_reactor

        reactor = global_reactor
    current = reactor.nameResolver
    if not isinstance(current, GuardedResolver):
        current = GuardedResolver(reactor, current)
        reactor.installNameResolver(current)
    current.configure(allow_private=allow_private, allowed=allowed, timeout=timeout)
    return current
