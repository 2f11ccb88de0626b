"""The address guard: only public http(s) addresses unless private ones are allowed."""

from __future__ import annotations

import ipaddress

import pytest

from newsmon.crawler.middlewares.guard import AddressRefused, check_url, is_public


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/feed.xml",
        "http://127.0.0.3:8080/a.html",
        "http://localhost/",
        "http://10.1.2.3/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
        "http://[fc00::1]/",
        "http://224.0.0.1/",
    ],
)
def test_private_addresses_are_refused(url: str) -> None:
    """Loopback, private, link-local, metadata, mapped and multicast addresses are refused."""
    with pytest.raises(AddressRefused, match="non-public address"):
        check_url(url, allow_private=False)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x", "gopher://x/", "data:text/html,hi"])
def test_only_http_and_https(url: str) -> None:
    """Other schemes are refused even when private addresses are allowed."""
    with pytest.raises(AddressRefused, match="only http and https"):
        check_url(url, allow_private=True)


def test_allow_private_addresses_lets_loopback_through() -> None:
    """With allow_private_addresses, loopback test outlets may be fetched."""
    check_url("http://127.0.0.3:8080/a.html", allow_private=True)


def test_unresolvable_host_is_refused_with_its_name() -> None:
    """A host that does not resolve is refused, and the message names it."""
    with pytest.raises(AddressRefused, match=r"nonexistent\.invalid"):
        check_url("http://nonexistent.invalid/", allow_private=False)


def test_public_addresses_pass() -> None:
    """Public addresses are public, IPv4-mapped ones included."""
    assert is_public(ipaddress.ip_address("93.184.216.34"))
    assert is_public(ipaddress.ip_address("::ffff:93.184.216.34"))
    check_url("http://93.184.216.34/", allow_private=False)
