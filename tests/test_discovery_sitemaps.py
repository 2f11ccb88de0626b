"""parse_sitemap and robots_sitemaps: urlsets with news/image extensions, indexes, gzip, text."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsmon.crawler.discovery import parse_sitemap, robots_sitemaps
from newsmon.crawler.items import DiscoveryError

DATA = Path(__file__).parent / "data" / "discovery"
NOW = datetime(2024, 2, 10, tzinfo=UTC)
SITEMAP_URL = "https://news.example.com/sitemap-news.xml"


def _read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def _urlset(urls: str) -> bytes:
    return f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode()


def test_news_sitemap_entries_newest_first() -> None:
    """Entries sort on news:publication_date, else lastmod; undated ones come last."""
    sitemap = parse_sitemap(_read("news-sitemap.xml"), SITEMAP_URL, now=NOW)
    assert (sitemap.kind, sitemap.degraded, sitemap.sitemaps) == ("urlset", False, [])
    assert [entry.url for entry in sitemap.entries] == [
        "https://news.example.com/2024/02/06/storm-warning",
        "https://news.example.com/2024/02/05/council-approves-budget",
        "https://news.example.com/about",
        "https://news.example.com/archive/old-page",
    ]


def test_news_sitemap_extension_fields() -> None:
    """news:title, publication_date, language and keywords, image:loc and lastmod fill the entry."""
    council = parse_sitemap(_read("news-sitemap.xml"), SITEMAP_URL, now=NOW).entries[1]
    assert council.title == "Council approves budget"
    assert council.published == datetime(2024, 2, 5, 9, tzinfo=UTC)
    assert council.updated == datetime(2024, 2, 5, 11, tzinfo=UTC)
    assert council.language == "en"
    assert council.tags == ("council", "budget", "local politics")
    assert council.image == "https://cdn.example.com/council.jpg"


def test_sitemap_index_lists_children_newest_first() -> None:
    """A sitemapindex gives child sitemap URLs by lastmod, newest first, undated last."""
    index = parse_sitemap(_read("sitemap-index.xml"), "https://news.example.com/sitemap.xml", now=NOW)
    assert (index.kind, index.entries) == ("sitemapindex", [])
    assert index.sitemaps == [
        "https://news.example.com/sitemaps/news.xml",
        "https://news.example.com/sitemaps/2024-01.xml",
        "https://news.example.com/sitemaps/2023-12.xml.gz",
        "https://news.example.com/sitemaps/pages.xml",
    ]


def test_sitemap_index_is_capped() -> None:
    """max_items caps the child sitemaps too, keeping the newest."""
    index = parse_sitemap(_read("sitemap-index.xml"), "https://news.example.com/sitemap.xml", max_items=1, now=NOW)
    assert index.sitemaps == ["https://news.example.com/sitemaps/news.xml"]


def test_gzipped_sitemap() -> None:
    """A .xml.gz body is decompressed transparently."""
    sitemap = parse_sitemap(gzip.compress(_read("news-sitemap.xml")), SITEMAP_URL + ".gz", now=NOW)
    assert (len(sitemap.entries), sitemap.degraded) == (4, False)


def test_gzip_bomb_sitemap_is_cut_and_degraded() -> None:
    """100 MB of padding inside gzip stops at the cap; the URLs before it are kept."""
    body = _urlset("<url><loc>https://g.example/1</loc></url>" + " " * (100 * 1024 * 1024))
    sitemap = parse_sitemap(gzip.compress(body, compresslevel=9), "https://g.example/s.xml.gz", now=NOW)
    assert ([entry.url for entry in sitemap.entries], sitemap.degraded) == (["https://g.example/1"], True)


def test_sitemap_without_namespace_and_with_whitespace() -> None:
    """Namespace-less sitemaps and padded <loc> values are read; relative locs resolve."""
    body = b"<urlset><url><loc>\n  https://w.example/a \n</loc></url><url><loc>/b</loc></url></urlset>"
    sitemap = parse_sitemap(body, "https://w.example/sitemap.xml", now=NOW)
    assert [entry.url for entry in sitemap.entries] == ["https://w.example/a", "https://w.example/b"]


def test_urls_without_usable_loc_are_skipped() -> None:
    """<url> without <loc>, or with a non-http one, yields nothing."""
    body = _urlset("<url><lastmod>2024-01-01</lastmod></url><url><loc>ftp://x.example/f</loc></url>")
    assert parse_sitemap(body, "https://x.example/s.xml", now=NOW).entries == []


def test_urlset_is_capped_to_the_newest() -> None:
    """max_items keeps the newest entries by lastmod."""
    body = _urlset(
        "".join(
            f"<url><loc>https://c.example/{day}</loc><lastmod>2024-01-{day:02d}</lastmod></url>" for day in range(1, 29)
        )
    )
    sitemap = parse_sitemap(body, "https://c.example/s.xml", max_items=3, now=NOW)
    assert [entry.url for entry in sitemap.entries] == [
        "https://c.example/28",
        "https://c.example/27",
        "https://c.example/26",
    ]


def test_malformed_sitemap_is_degraded() -> None:
    """A truncated urlset keeps its complete <url> elements and is degraded."""
    body = b"<urlset><url><loc>https://m.example/1</loc></url><url><loc>https://m.example/2</lo"
    sitemap = parse_sitemap(body, "https://m.example/s.xml", now=NOW)
    assert sitemap.degraded is True
    assert sitemap.entries[0].url == "https://m.example/1"


def test_text_sitemap() -> None:
    """A plain-text sitemap gives one entry per URL line, in order, deduplicated."""
    body = b"\xef\xbb\xbfhttps://t.example/a\r\nhttps://t.example/b\n\nhttps://t.example/a\n"
    sitemap = parse_sitemap(body, "https://t.example/sitemap.txt", now=NOW)
    assert (sitemap.kind, sitemap.degraded) == ("urlset", False)
    assert [entry.url for entry in sitemap.entries] == ["https://t.example/a", "https://t.example/b"]


def test_text_sitemap_with_junk_lines_is_degraded() -> None:
    """Lines that are not absolute http(s) URLs are skipped and mark the sitemap degraded."""
    body = b"https://t.example/a\nnot a url\n/relative\nftp://t.example/f\n"
    sitemap = parse_sitemap(body, "https://t.example/sitemap.txt", now=NOW)
    assert ([entry.url for entry in sitemap.entries], sitemap.degraded) == (["https://t.example/a"], True)


def test_feed_given_as_sitemap_is_read_as_a_feed() -> None:
    """sitemaps.org allows RSS/Atom as sitemaps: such a body is parsed as the feed it is."""
    sitemap = parse_sitemap(_read("rss2.xml"), "https://news.example.com/feed.xml", now=NOW)
    assert (sitemap.kind, len(sitemap.entries)) == ("rss", 3)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<!DOCTYPE html><html><body>Not found</body></html>", "got an HTML page"),
        (b'<?xml version="1.0"?><html><body/></html>', "got an HTML page"),
        (b'{"error": 404}', "got JSON"),
        (b"", "empty"),
        (b"Service temporarily unavailable", "no URLs"),
        (b"<opml/>", "unexpected root element <opml>"),
    ],
)
def test_bodies_that_are_not_sitemaps(body: bytes, message: str) -> None:
    """HTML, JSON, empty bodies, text without URLs and other XML raise DiscoveryError."""
    with pytest.raises(DiscoveryError, match=message):
        parse_sitemap(body, "https://x.example/sitemap.xml", now=NOW)


def test_robots_sitemap_lines() -> None:
    """Sitemap: lines anywhere in robots.txt, any case, comments cut, relative resolved, deduplicated."""
    robots = (
        "\ufeffUser-agent: *\nDisallow: /private\n"
        "Sitemap: https://r.example/sitemap.xml # main one\r\n"
        "user-agent: Googlebot\n  sitemap:/news-sitemap.xml\n"
        "SITEMAP: https://r.example/sitemap.xml\n"
        "Sitemap: ftp://r.example/nope.xml\nSitemap:\nSitemap: # nothing\n"
        "Disallow: /sitemap: not a directive\n"
    )
    assert robots_sitemaps(robots, "https://r.example/robots.txt") == [
        "https://r.example/sitemap.xml",
        "https://r.example/news-sitemap.xml",
    ]


def test_robots_without_sitemaps() -> None:
    """A robots.txt without Sitemap: lines gives an empty list."""
    assert robots_sitemaps("User-agent: *\nDisallow:\n", "https://r.example/robots.txt") == []
