"""URL canonicalization: the table of real-world variants, IP hosts, and the canonical picker."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsmon.crawler.fingerprint import story_id
from newsmon.crawler.urls import InvalidURL, canonicalize, choose_canonical, site

TABLE = Path(__file__).parent / "data" / "dedup" / "url_variants.txt"


def groups() -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for raw in TABLE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("= "):
            out.append((line[2:], []))
        elif line and not line.startswith("#"):
            out[-1][1].append(line)
    return out


@pytest.mark.parametrize(("expected", "variants"), groups(), ids=[g[0] for g in groups()])
def test_every_variant_maps_to_its_canonical_url(expected: str, variants: list[str]) -> None:
    """Each URL of a group of the variant table canonicalizes to the group's URL."""
    assert {v: canonicalize(v) for v in [expected, *variants]} == dict.fromkeys([expected, *variants], expected)


def test_table_groups_stay_distinct_stories() -> None:
    """Different articles in the table keep different canonical URLs and story ids."""
    canon = [canonicalize(expected) for expected, _ in groups()]
    assert len({story_id(c) for c in canon}) == len(canon) > 10


def test_canonical_form_is_stable() -> None:
    """Canonicalizing a canonical URL changes nothing."""
    for expected, variants in groups():
        for url in variants:
            once = canonicalize(url)
            assert canonicalize(once) == once == expected


def test_http_and_https_are_one_story_except_on_ip_hosts_and_ports() -> None:
    """http is upgraded to https for names; IP hosts, localhost and explicit ports keep their scheme."""
    assert canonicalize("http://example.com/a") == "https://example.com/a"
    assert canonicalize("http://127.0.0.3:8080/a") == "http://127.0.0.3:8080/a"
    assert canonicalize("https://127.0.0.3/a") == "https://127.0.0.3/a"
    assert canonicalize("http://localhost/a") == "http://localhost/a"
    assert canonicalize("http://example.com:8080/a") == "http://example.com:8080/a"


def test_tracking_parameters_are_configurable() -> None:
    """Only the configured names are dropped; a trailing * matches a prefix, in any case."""
    url = "https://example.com/a?utm_source=x&sessionid=1&X_Ref=2&id=3"
    assert canonicalize(url, ("sessionid", "x_*")) == "https://example.com/a?id=3&utm_source=x"
    assert canonicalize(url, ()) == "https://example.com/a?X_Ref=2&id=3&sessionid=1&utm_source=x"


def test_hosts_keep_a_registrable_name() -> None:
    """A www./m. prefix is dropped only when a dotted name remains."""
    assert canonicalize("https://www.m.example.com/a") == "https://example.com/a"
    assert canonicalize("https://m.example/a") == "https://m.example/a"
    assert canonicalize("https://www.example/a") == "https://www.example/a"


@pytest.mark.parametrize("url", ["ftp://example.com/a", "/news/a", "mailto:desk@example.com", "http://", "https:///a",
                                 "http://[::1/a"])
def test_invalid_urls_are_refused(url: str) -> None:
    """Anything but an absolute http(s) URL with a host raises InvalidURL."""
    with pytest.raises(InvalidURL):
        canonicalize(url)


def test_rel_canonical_is_preferred_and_resolved() -> None:
    """A relative rel=canonical on the same site wins over the fetched URL."""
    fetched = "https://m.example.com/news/2024/story-amp?utm_source=x"
    assert choose_canonical(fetched, ["/news/2024/story"]) == "https://example.com/news/2024/story"
    assert choose_canonical(fetched, ["https://news.example.com/2024/story"]) == (
        "https://news.example.com/2024/story"
    )


@pytest.mark.parametrize("declared", ["/", "https://example.com/", "https://example.com/news/",
                                      "https://other.example/news/2024/story", "javascript:void(0)", "", None,
                                      "ftp://example.com/news/2024/story"])
def test_bad_declarations_are_ignored(declared: str | None) -> None:
    """Home pages, section pages above the article, other sites and non-http URLs are ignored."""
    fetched = "https://www.example.com/news/2024/story"
    assert choose_canonical(fetched, [declared]) == "https://example.com/news/2024/story"


def test_og_url_is_the_fallback() -> None:
    """og:url is used when rel=canonical is unacceptable."""
    fetched = "https://example.com/news/2024/story?page=1"
    assert choose_canonical(fetched, ["https://example.com/", "https://example.com/news/2024/story"]) == (
        "https://example.com/news/2024/story"
    )


def test_ip_host_outlets_work() -> None:
    """Test outlets on loopback: a canonical on the same IP and port is accepted, another port is not."""
    fetched = "http://127.0.0.3:8080/news/story-1?utm_source=rss"
    assert choose_canonical(fetched, ["/news/story-1"]) == "http://127.0.0.3:8080/news/story-1"
    assert choose_canonical(fetched, ["http://127.0.0.3:9090/news/x"]) == "http://127.0.0.3:8080/news/story-1"
    assert site("127.0.0.3:8080") == "127.0.0.3:8080"
    assert site("news.bbc.co.uk") == "bbc.co.uk"


def test_private_suffixes_make_separate_sites() -> None:
    """Two blogspot.com blogs are two sites: one blog's canonical naming another is ignored."""
    fetched = "https://alice.blogspot.com/2024/02/some-post.html"
    assert choose_canonical(fetched, ["https://bob.blogspot.com/2024/02/some-post.html"]) == fetched
    assert site("alice.blogspot.com") == "alice.blogspot.com"
    assert site("WWW.Example.CO.UK.:8443") == "example.co.uk"
