"""find_feed_links and find_article_links on HTML pages."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from newsmon.crawler.discovery import find_article_links, find_feed_links

DATA = Path(__file__).parent / "data" / "discovery"
SECTION_URL = "https://www.example.com/world"


def _links(
    html: str | bytes,
    url: str = "https://www.example.com/news",
    *,
    allow: Sequence[str] = (),
    deny: Sequence[str] = (),
    max_links: int = 500,
) -> list[str]:
    return [entry.url for entry in find_article_links(html, url, allow=allow, deny=deny, max_links=max_links)]


def test_section_page_article_links() -> None:
    """Articles are kept in document order; nav, tags, authors, sections, files, traps and other sites are not."""
    entries = find_article_links((DATA / "section.html").read_bytes(), SECTION_URL)
    assert [(entry.url, entry.title) for entry in entries] == [
        ("https://www.example.com/world/2024/02/05/talks-resume-in-geneva", "Talks resume in Geneva"),
        ("https://www.example.com/world/europe/floods-hit-northern-towns", "Floods hit northern towns"),
        ("https://www.example.com/world/asia-68123456", "Election results are in"),
        ("https://video.example.com/2024/02/05/video-of-the-talks", "Video"),
    ]


def test_allow_replaces_the_article_heuristics() -> None:
    """With allow patterns, a link is kept when one matches, section fronts included."""
    html = (DATA / "section.html").read_bytes()
    assert _links(html, SECTION_URL, allow=[r"/world/(europe|asia)"]) == [
        "https://www.example.com/world/europe/floods-hit-northern-towns",
        "https://www.example.com/world/asia-68123456",
        "https://www.example.com/world/europe",
        "https://www.example.com/world/asia",
    ]


def test_deny_removes_matching_links() -> None:
    """Deny patterns are searched in the absolute URL and win over everything."""
    html = (DATA / "section.html").read_bytes()
    assert _links(html, SECTION_URL, deny=[r"geneva", r"^https://video\."]) == [
        "https://www.example.com/world/europe/floods-hit-northern-towns",
        "https://www.example.com/world/asia-68123456",
    ]


def test_invalid_pattern_is_reported_by_name() -> None:
    """A broken regular expression raises ValueError naming the argument and index."""
    with pytest.raises(ValueError, match=r"deny\[1\]"):
        find_article_links("<a href='/x'>x</a>", "https://e.example/", deny=["ok", "(unclosed"])


def test_ip_address_hosts_are_kept() -> None:
    """A loopback outlet on an IP host keeps its own links; other IPs, ports and hosts are other sites."""
    html = """
        <a href="/2024/02/05/local-story">Local</a>
        <a href="http://127.0.0.3:8080/news/another-story-here">Another</a>
        <a href="http://127.0.0.4:8080/news/other-host-story-1">Other IP</a>
        <a href="http://127.0.0.3:9090/news/other-port-story-1">Other port</a>
        <a href="http://localhost:8080/news/localhost-story-1">Localhost</a>
    """
    assert _links(html, "http://127.0.0.3:8080/section") == [
        "http://127.0.0.3:8080/2024/02/05/local-story",
        "http://127.0.0.3:8080/news/another-story-here",
    ]


def test_ipv6_host_is_its_own_site() -> None:
    """An IPv6 literal host is compared as itself."""
    html = '<a href="http://[::1]:8080/news/story-12345">x</a><a href="http://[::2]/news/story-12345">y</a>'
    assert _links(html, "http://[::1]:8080/") == ["http://[::1]:8080/news/story-12345"]


def test_subdomains_share_the_registered_domain_but_private_suffixes_do_not() -> None:
    """www and video.example.co.uk are one site; two blogspot.com blogs are two."""
    html = """
        <a href="https://video.example.co.uk/news/clip-of-the-day-1">a</a>
        <a href="https://alice.blogspot.com/2024/02/some-post.html">b</a>
    """
    assert _links(html, "https://www.example.co.uk/") == ["https://video.example.co.uk/news/clip-of-the-day-1"]
    assert _links(html, "https://bob.blogspot.com/") == []


@pytest.mark.parametrize(
    ("path", "is_article"),
    [
        ("/2024/02/05/budget-vote", True),
        ("/world/2024/feb/05/budget-vote", True),
        ("/news/20240205-budget", True),
        ("/news/uk-politics-68123456", True),
        ("/story/12345", True),
        ("/local-council-approves-new-budget", True),
        ("/politics/budget-vote-delayed", True),
        ("/politics/story.html", True),
        ("/news/world", False),
        ("/news/uk-politics", False),
        ("/world/europe/ukraine", False),
        ("/politics", False),
        ("/about-us", False),
        ("/2024/02/05/", False),
        ("/news/2", False),
        ("/news/index.html", False),
        ("/tag/budget-vote-news", False),
        ("/tags/budget", False),
        ("/category/politics/some-long-slug-here", False),
        ("/author/jane-doe-smith-jones", False),
        ("/authors/jane", False),
        ("/search?q=budget", False),
        ("/login", False),
        ("/about", False),
        ("/contact", False),
        ("/news/budget-vote-delayed?page=2", False),
        ("/page/2", False),
        ("/images/budget-vote-chart-2024.jpg", False),
        ("/docs/budget-report-2024-final.PDF", False),
        ("/video/budget-vote-explained.mp4", False),
        ("/feed", False),
    ],
)
def test_default_article_heuristics(path: str, is_article: bool) -> None:
    """Article-shaped paths are kept; navigation, sections, archives and files are not."""
    html = f'<a href="{path}">link</a>'
    assert _links(html, "https://www.example.com/section") == ([f"https://www.example.com{path}"] if is_article else [])


@pytest.mark.parametrize(
    "path",
    [
        "/news/" + "a-" * 1100 + "story",
        "/a/b/a/b/great-story-here",
        "/x/news/x/more/x/story-12345",
        "/calendar/2024/02/05/event-in-town",
        "/events/2024/02/2023/01/event-in-town",
        "/events/some-event-12345?date=2024-02-05",
        "/events/some-event-12345?month=2&year=2024",
        "/" + "/".join(f"level{depth}" for depth in range(13)) + "/story-12345",
    ],
)
def test_crawl_traps_are_dropped(path: str) -> None:
    """Overlong, self-repeating, calendar-walking and very deep URLs are never followed."""
    html = f'<a href="{path}">trap</a>'
    assert _links(html) == []
    assert _links(html, allow=[r"."]) == []


def test_fragments_and_self_links_collapse() -> None:
    """Links differing only by fragment are one entry; a link to the page itself is dropped."""
    html = """
        <a href="/news/big-story-12345"><img src="x.jpg" alt="Picture"></a>
        <a href="/news/big-story-12345#comments">The big story, in full</a>
        <a href="#top">top</a><a href="https://www.example.com/news">self</a>
    """
    entries = find_article_links(html, "https://www.example.com/news")
    assert [(entry.url, entry.title) for entry in entries] == [
        ("https://www.example.com/news/big-story-12345", "The big story, in full")
    ]


def test_title_falls_back_to_title_attribute() -> None:
    """A link without text takes its title attribute."""
    entries = find_article_links('<a href="/news/story-12345" title=" Headline "></a>', "https://e.example/")
    assert entries[0].title == "Headline"


def test_base_href_is_honoured() -> None:
    """Relative links resolve against <base href> when the page has one."""
    html = '<head><base href="https://www.example.com/stories/"></head><body><a href="story-12345">x</a></body>'
    assert _links(html, "https://www.example.com/news") == ["https://www.example.com/stories/story-12345"]


def test_max_links_caps_the_result() -> None:
    """Only the first max_links distinct links are returned."""
    html = "".join(f'<a href="/news/story-{index:05d}">s</a>' for index in range(50))
    assert len(_links(html, max_links=7)) == 7


def test_max_links_must_be_positive() -> None:
    """max_links below 1 raises ValueError."""
    with pytest.raises(ValueError, match="max_links"):
        find_article_links("<a href='/x'>x</a>", "https://e.example/", max_links=0)


def test_windows_1252_page_without_charset() -> None:
    """A page in windows-1252 that declares nothing still gives readable titles."""
    html = '<a href="/news/story-12345">Caf\u00e9 \u201cnews\u201d</a>'.encode("cp1252")
    assert find_article_links(html, "https://e.example/")[0].title == "Café “news”"


def test_declared_charset_is_used() -> None:
    """<meta charset> decides how bytes are read."""
    html = '<meta charset="iso-8859-15"><a href="/news/story-12345">Prix: 5 \u20ac</a>'.encode("iso-8859-15")
    assert find_article_links(html, "https://e.example/")[0].title == "Prix: 5 €"


def test_str_page_with_xml_declaration() -> None:
    """An XHTML page given as str with an encoding declaration parses."""
    html = '<?xml version="1.0" encoding="utf-8"?><html><body><a href="/news/story-12345">Zürich</a></body></html>'
    assert find_article_links(html, "https://e.example/")[0].title == "Zürich"


@pytest.mark.parametrize("html", ["", "   ", b"", b"\xef\xbb\xbf"])
def test_empty_page_has_no_links(html: str | bytes) -> None:
    """Empty documents give no links and no error."""
    assert find_article_links(html, "https://e.example/") == []
    assert find_feed_links(html, "https://e.example/") == []


def test_feed_autodiscovery() -> None:
    """<link rel=alternate> feeds are found, absolute, deduplicated, in document order."""
    html = """<html><head>
        <link rel="alternate" type="application/rss+xml" title="Main" href="/feed/">
        <link rel="alternate" type="application/rss+xml" title="Comments" href="/comments/feed/">
        <link rel="alternate" type="application/json" href="https://e.example/wp-json/wp/v2/posts/1">
        <link rel="alternate" type="application/json+oembed" href="/oembed?url=x">
        <link rel="alternate" type="Application/Atom+XML; charset=utf-8" href="atom.xml">
        <link rel="Alternate Feed" type="application/feed+json" href="https://e.example/feed.json">
        <link rel="alternate" hreflang="fr" href="https://e.example/fr/">
        <link rel="stylesheet" type="text/css" href="/site.css">
        <link rel="alternate" type="application/rss+xml" href="/feed/">
        </head><body><a href="/rss.xml">RSS</a></body></html>"""
    assert find_feed_links(html, "https://e.example/news/") == [
        "https://e.example/feed/",
        "https://e.example/news/atom.xml",
        "https://e.example/feed.json",
    ]


def test_feed_autodiscovery_from_section_page() -> None:
    """The section fixture announces its RSS feed."""
    html = (DATA / "section.html").read_bytes()
    assert find_feed_links(html, SECTION_URL) == ["https://www.example.com/world/rss.xml"]


def test_feed_links_fall_back_to_anchors() -> None:
    """Without <link rel=alternate>, same-site anchors that look like feeds are used."""
    html = """<body>
        <a href="/rss.xml">RSS</a><a href="/news/feed">News feed</a><a href="/sitemap.xml">Sitemap</a>
        <a href="/feeds/politics.xml">Politics</a><a href="/world.rss">World</a><a href="/rss.xml#x">again</a>
        <a href="https://other.example/feed">Other site</a><a href="/2024/02/05/feed-the-birds">Story</a>
        </body>"""
    assert find_feed_links(html, "https://e.example/") == [
        "https://e.example/rss.xml",
        "https://e.example/news/feed",
        "https://e.example/feeds/politics.xml",
        "https://e.example/world.rss",
    ]
