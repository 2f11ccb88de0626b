"""The guarded resolver closes the DNS-rebinding gap: non-public answers never reach a connection."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.task import Clock

from newsmon.crawler.middlewares.guard import check_url, is_permitted
from newsmon.crawler.resolver import GuardedResolver, install_guarded_resolver
from newsmon.scheduler.keys import Keys
from tests.hostile import HostileWeb, Outlet, build_outlets, write_config


class Receiver:
    def __init__(self) -> None:
        self.addresses: list[str] = []
        self.completed = 0

    def resolutionBegan(self, resolution: Any) -> None:
        pass

    def addressResolved(self, address: Any) -> None:
        self.addresses.append(address.host)

    def resolutionComplete(self) -> None:
        self.completed += 1


class Answers:
    """A resolver answering every name with fixed addresses, or never (``None``)."""

    def __init__(self, hosts: list[str] | None) -> None:
        self.hosts = hosts

    def resolveHostName(self, receiver: Any, name: str, port: int = 0, *args: Any) -> Any:
        receiver.resolutionBegan(object())
        if self.hosts is None:
            return None
        for host in self.hosts:
            kind = IPv6Address if ":" in host else IPv4Address
            receiver.addressResolved(kind("TCP", host, port))
        receiver.resolutionComplete()
        return None


def _resolve(answers: list[str] | None, *, allowed: tuple[str, ...] = (), clock: Clock | None = None) -> Receiver:
    resolver = GuardedResolver(clock or Clock(), Answers(answers))
    resolver.configure(allow_private=False, allowed=[ipaddress.ip_network(n) for n in allowed], timeout=2.0)
    receiver = Receiver()
    resolver.resolveHostName(receiver, "rebind.example", 80)
    return receiver


def test_non_public_answers_are_dropped() -> None:
    """Loopback, private, metadata and IPv4-mapped answers are dropped; public ones pass."""
    receiver = _resolve(["127.0.0.1", "10.1.2.3", "169.254.169.254", "::ffff:192.168.1.1", "::1", "93.184.216.34"])
    assert receiver.addresses == ["93.184.216.34"]
    assert receiver.completed == 1


def test_an_all_private_answer_leaves_nothing_to_connect_to() -> None:
    """A name that rebinds to 127.0.0.1 resolves to no address at all."""
    receiver = _resolve(["127.0.0.1"])
    assert (receiver.addresses, receiver.completed) == ([], 1)


def test_allowed_networks_pass_the_resolver_and_the_guard() -> None:
    """fetch.allowed_networks lets its networks through, and only those."""
    assert _resolve(["127.0.0.5", "10.0.0.1"], allowed=("127.0.0.0/8",)).addresses == ["127.0.0.5"]
    loopback = [ipaddress.ip_network("127.0.0.0/8")]
    check_url("http://127.0.0.9:8080/feed.xml", allow_private=False, allowed=loopback)
    assert is_permitted(ipaddress.ip_address("::ffff:127.0.0.1"), loopback)
    assert not is_permitted(ipaddress.ip_address("10.0.0.1"), loopback)


def test_a_lookup_that_never_answers_gives_up_at_connect_timeout() -> None:
    """A resolver that never answers completes empty after fetch.connect_timeout, exactly once."""
    clock = Clock()
    receiver = _resolve(None, clock=clock)
    assert receiver.completed == 0
    clock.advance(2.0)
    assert (receiver.addresses, receiver.completed) == ([], 1)


def test_install_wraps_the_reactor_resolver_once() -> None:
    """Installing twice wraps the reactor's resolver once and updates the policy."""

    class Reactor(Clock):
        nameResolver: Any = Answers(["127.0.0.1"])

        def installNameResolver(self, resolver: Any) -> Any:
            previous, self.nameResolver = self.nameResolver, resolver
            return previous

    reactor = Reactor()
    first = install_guarded_resolver(allow_private=False, allowed=(), timeout=1.0, reactor=reactor)
    second = install_guarded_resolver(allow_private=True, allowed=(), timeout=3.0, reactor=reactor)
    assert first is second is reactor.nameResolver
    assert isinstance(first.original, Answers)
    assert (second.allow_private, second.timeout) == (True, 3.0)


_REBIND = """
import sys
import newsmon.crawler.middlewares.guard as guard
# The first DNS answer (the address guard's) is public; the one Twisted gets when it
# connects is the real one, 127.0.0.1: a DNS-rebinding attack.
guard._resolve = lambda host: ("93.184.216.34",)
from newsmon.scheduler.cli import main
sys.argv = ["newsmon", *sys.argv[1:]]
main()
"""


def test_dns_rebinding_to_loopback_is_refused_in_a_crawl(tmp_path: Path, redis_url: str, keys: Keys) -> None:
    """A host that passes the guard but resolves to loopback when connecting is never contacted."""
    healthy = next(o for o in build_outlets() if o.name == "healthy")
    # Listening where "localhost" really points: without the resolver the request would arrive.
    target = Outlet("rebind", "127.0.0.1", routes=healthy.routes)
    with HostileWeb([target]) as web:
        source = {"name": "rebind", "feeds": [f"http://localhost:{target.port}/feed.xml"]}
        config = write_config(tmp_path, [source], redis_url, keys.prefix, allowed_networks=[], obey_robots=False)
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "NEWSMON_CONFIG"}}
        done = subprocess.run([sys.executable, "-c", _REBIND, "--config", str(config), "crawl", "--json"],
                              capture_output=True, text=True, timeout=120, env=env, check=False)
        assert web.requests() == []
    (report,) = json.loads(done.stdout)["sources"]
    assert report["failed"], done.stderr
    assert "resolved to non-public" in done.stderr
