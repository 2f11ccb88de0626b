"""Discovery reads what a feed reader reads: malformed feeds, wrapped feeds, legacy encodings, URL forms."""

# Non-Latin sample text (Cyrillic, CJK full-width commas, curly quotes) is what these tests read.
# ruff: noqa: RUF001, RUF002
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newsmon.crawler.discovery import parse_feed, parse_sitemap
from newsmon.crawler.discovery.text import author_name, clean_title, collapse
from newsmon.crawler.urls import canonicalize

NOW = datetime(2024, 2, 10, tzinfo=UTC)
URL = "https://x.example/feed"
DATE = "Fri, 09 Feb 2024 10:00:00 GMT"


def _item(n: int, title: str | None = None, extra: str = "") -> str:
    return (f"<item><title>{title or f'T{n}'}</title><link>https://x.example/a{n}</link>"
            f"<pubDate>{DATE}</pubDate>{extra}</item>")


def _rss(body: str, namespaces: str = "") -> bytes:
    head = f'<?xml version="1.0"?><rss version="2.0"{namespaces}><channel><title>T</title>'
    return f"{head}{body}</channel></rss>".encode()


def _urls(body: bytes, **kwargs: object) -> list[str]:
    return sorted(entry.url for entry in parse_feed(body, URL, now=NOW, **kwargs).entries)  # type: ignore[arg-type]


def test_an_unclosed_element_before_the_items_keeps_every_item() -> None:
    """<category>News<image/> left open in a channel: libxml2 nests the items in it, the tolerant reading finds them."""
    feed = parse_feed(_rss("<category>News<image/>" + _item(1) + _item(2) + _item(3)), URL, now=NOW)
    assert sorted(entry.url for entry in feed.entries) == [f"https://x.example/a{n}" for n in (1, 2, 3)]
    assert feed.degraded
    assert all(entry.published == datetime(2024, 2, 9, 10, tzinfo=UTC) for entry in feed.entries)


def test_unclosed_markup_in_titles_and_a_truncated_last_item() -> None:
    """Titles with an unclosed <b> and a last item cut mid-element: all three articles are found."""
    body = _rss(_item(1, "A <b>bold") + _item(2, "B <b>x"))[: -len("</channel></rss>")]
    body += b"<item><title>C</title><link>https://x.example/a3</link><pubDate>Fri, 09 Feb 2024 10:00:00 GMT</pub"
    assert _urls(body) == [f"https://x.example/a{n}" for n in (1, 2, 3)]


def test_a_clean_feed_is_not_degraded_by_the_second_reading() -> None:
    """A well-formed feed is read once, strictly, and not marked degraded."""
    feed = parse_feed(_rss(_item(1) + _item(2)), URL, now=NOW)
    assert (len(feed.entries), feed.degraded) == (2, False)


@pytest.mark.parametrize("wrapper", [
    (b'<html xmlns="http://www.w3.org/1999/xhtml"><body>', b"</body></html>"),
    (b"<!DOCTYPE html><html><head><title>x</title></head><body><pre>", b"</pre></body></html>"),
    (b'<?xml version="1.0"?><html><body>', b"</body></html>"),
])
def test_an_atom_feed_inside_an_html_page_is_read(wrapper: tuple[bytes, bytes]) -> None:
    """<html><body><feed>...</feed>: the feed is cut out of the page and its entries read."""
    entries = "".join(f'<entry><title>E{n}</title><link href="https://x.example/e{n}"/>'
                      f"<updated>2024-02-09T10:0{n}:00Z</updated></entry>" for n in range(10))
    feed = parse_feed(wrapper[0] + f'<feed xmlns="http://www.w3.org/2005/Atom"><title>F</title>{entries}</feed>'.encode()
                      + wrapper[1], URL, now=NOW)
    assert (feed.kind, len(feed.entries), feed.entries[0].url) == ("atom", 10, "https://x.example/e9")


def test_an_html_page_without_a_feed_is_still_refused() -> None:
    """An HTML page that holds no feed element is not a feed (a <link rel=alternate> is not one)."""
    from newsmon.crawler.items import DiscoveryError
    with pytest.raises(DiscoveryError, match="HTML page"):
        parse_feed(b'<html><head><link rel="alternate" type="application/rss+xml" href="/rss"></head></html>', URL)


@pytest.mark.parametrize("version", ["https://jsonfeed.org/version/1", "https://jsonfeed.org/version/1.1", "1.0", "1"])
def test_json_feed_versions(version: str) -> None:
    """JSON Feed 1.0 and 1.1, in the URL form or as a bare number with title and items, are read."""
    body = (f'{{"version": "{version}", "title": "J", "items": [{{"id": "1", "url": "https://x.example/j1",'
            f'"date_published": "2024-02-09T10:00:00-05:00", "author": {{"name": "Jane Doe"}}}}]}}').encode()
    entry = parse_feed(body, URL, now=NOW).entries[0]
    assert (entry.url, entry.published, entry.authors) == (
        "https://x.example/j1", datetime(2024, 2, 9, 15, tzinfo=UTC), ("Jane Doe",))


ENCODED = {
    "koi8-r": "Правительство объявило о новых мерах поддержки экономики",
    "big5": "政府宣布新的經濟支持措施，市場反應熱烈",
    "euc-jp": "政府は経済を支援する新たな措置を発表しました",
    "euc-kr": "정부는 경제를 지원하기 위한 새로운 조치를 발표했습니다",
    "gb2312": "政府宣布了新的经济支持措施，市场反应热烈",
    "shift_jis": "政府は経済を支援する新たな措置を発表しました",
    "tis-620": "รัฐบาลประกาศมาตรการใหม่เพื่อสนับสนุนเศรษฐกิจ",
    "windows-1255": "הממשלה הודיעה על צעדים חדשים לתמיכה בכלכלה",
}


@pytest.mark.parametrize("encoding", list(ENCODED))
def test_undeclared_legacy_encodings_are_detected(encoding: str) -> None:
    """A feed in a legacy encoding with no declaration and no header charset is decoded right."""
    text = ENCODED[encoding]
    items = "".join(_item(n, f"{text} {n}", f"<description>{text}. {text}</description>") for n in range(2))
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>{text}</title>{items}</channel></rss>'
    feed = parse_feed(body.encode(encoding), URL, now=NOW)
    assert feed.title == text
    assert {entry.title for entry in feed.entries} == {f"{text} 0", f"{text} 1"}


def test_the_http_charset_beats_the_xml_declaration() -> None:
    """Content-Type charset=koi8-r over a body that declares UTF-8: the header wins (RFC 7303)."""
    text = ENCODED["koi8-r"]
    body = f'<?xml version="1.0" encoding="utf-8"?><rss><channel>{_item(1, text)}</channel></rss>'.encode("koi8-r")
    feed = parse_feed(body, URL, now=NOW, headers={"Content-Type": "application/rss+xml; charset=KOI8-R"})
    assert feed.entries[0].title == text


def test_content_location_is_the_base_of_relative_links() -> None:
    """Relative item links resolve against the Content-Location header when there is one."""
    body = _rss("<item><title>R</title><link>story/1</link></item>")
    assert _urls(body, headers={"Content-Location": "https://cdn.x.example/news/feed.xml"}) == [
        "https://cdn.x.example/news/story/1"]


def test_c1_controls_from_windows_1252_are_repaired() -> None:
    """"don\\x92t" (a cp1252 quote stored as a C1 control) reads "don’t"; the undefined five are dropped."""
    assert collapse("don\x92t \x93quoted\x94 \x80 5 \x81") == "don’t “quoted” € 5"


def test_dates_in_et_and_dcterms_issued_reach_the_entries() -> None:
    """pubDate in ET is read at New York's offset; dcterms:issued and dcterms:created date an item."""
    body = _rss(
        "<item><title>a</title><link>https://x.example/et</link><pubDate>Fri, 09 Feb 2024 16:31:00 ET</pubDate></item>"
        "<item><title>b</title><link>https://x.example/issued</link><dcterms:issued>2024-02-09T08:15:00+01:00"
        "</dcterms:issued></item><item><title>c</title><link>https://x.example/created</link>"
        "<dcterms:created>2024-02-08T08:00:00Z</dcterms:created></item>"
        "<item><title>d</title><link>https://x.example/xyz</link>"
        "<pubDate>Fri, 09 Feb 2024 16:31:00 XYZ</pubDate></item>",
        ' xmlns:dcterms="http://purl.org/dc/terms/"')
    published = {entry.url.rsplit("/", 1)[1]: entry.published for entry in parse_feed(body, URL, now=NOW).entries}
    assert published == {
        "et": datetime(2024, 2, 9, 21, 31, tzinfo=UTC),
        "issued": datetime(2024, 2, 9, 7, 15, tzinfo=UTC),
        "created": datetime(2024, 2, 8, 8, tzinfo=UTC),
        "xyz": None,  # an unknown zone is not guessed as UTC
    }


@pytest.mark.parametrize(("raw", "expected"), [
    ("jane@x.org (Jane Doe)", "Jane Doe"),
    ("Jane Doe <jane@x.org>", "Jane Doe"),
    ("Jane Doe (jane@x.org)", "Jane Doe"),
    ('"Jane Doe" <mailto:jane@x.org>', "Jane Doe"),
    ("jane@x.org", None),
    ("<jane@x.org>", None),
    ("Jane Doe", "Jane Doe"),
])
def test_authors_lose_their_email_forms(raw: str, expected: str | None) -> None:
    """E-mail forms reduce to the display name; a bare address is dropped (not a name, not ours to publish)."""
    assert author_name(raw) == expected


def test_authors_are_read_from_the_common_elements() -> None:
    """itunes:author, dc:author, dc:creator and Atom author/name all give authors."""
    body = _rss(
        _item(1, extra="<itunes:author>Ann Itunes</itunes:author>")
        + _item(2, extra="<dc:author>bob@x.org (Bob Dc)</dc:author>")
        + _item(3, extra="<dc:creator>Cat Creator</dc:creator>")
        + _item(4, extra="<atom:author><atom:name>Dan Atom</atom:name></atom:author>"),
        ' xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:atom="http://www.w3.org/2005/Atom"')
    authors = {entry.url[-1]: entry.authors for entry in parse_feed(body, URL, now=NOW).entries}
    assert authors == {"1": ("Ann Itunes",), "2": ("Bob Dc",), "3": ("Cat Creator",), "4": ("Dan Atom",)}


def test_plain_text_titles_keep_a_literal_tag() -> None:
    """&lt;blink&gt; in an RSS or Atom type="text" title is text; HTML-typed titles are stripped."""
    rss = parse_feed(_rss(_item(1, "The &lt;blink&gt; tag is back")), URL, now=NOW)
    assert rss.entries[0].title == "The <blink> tag is back"
    atom = (b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title type="text">a &lt;b&gt; c</title>'
            b'<link href="https://x.example/1"/></entry><entry><title type="html">a &lt;b&gt;bold&lt;/b&gt;</title>'
            b'<link href="https://x.example/2"/></entry></feed>')
    titles = {entry.url[-1]: entry.title for entry in parse_feed(atom, URL, now=NOW).entries}
    assert titles == {"1": "a <b> c", "2": "a bold"}
    assert clean_title("A <b>bold</b> move", None) == "A bold move"


@pytest.mark.parametrize("param", [
    "utm_source=x", "utm_medium=y", "mc_cid=1", "mc_eid=2", "_hsenc=p2A", "_hsmi=3", "fbclid=a", "gclid=b",
    "dclid=c", "msclkid=d", "yclid=e", "igshid=f", "ocid=g", "cmpid=h", "s_cid=i", "spm=a.b.c", "guccounter=1",
    "guce_referrer=x", "clickid=j", "fb_ref=k", "aftr_source=l", "this_affiliate=m", "ttclid=n", "mkt_tok=o",
])
def test_tracking_parameters_are_dropped(param: str) -> None:
    """Each marketing parameter family is dropped from the canonical URL; meaningful ones stay."""
    assert canonicalize(f"https://x.example/story?id=5&{param}&page=2&p=3") == "https://x.example/story?id=5&p=3&page=2"


@pytest.mark.parametrize(("url", "expected"), [
    ("https://x.example/a?id=5&amp;lang=en", "https://x.example/a?id=5&lang=en"),
    ("https://x.example/a?id=5&#38;lang=en", "https://x.example/a?id=5&lang=en"),
    ("https://x.example/news//2024///story", "https://x.example/news/2024/story"),
    ("https://x.example/amp", "https://x.example/amp"),
    ("https://x.example/amp/", "https://x.example/amp"),
    ("https://x.example/story/amp", "https://x.example/story"),
    ("https://x.example/amp/story", "https://x.example/story"),
    ("https://x.example/article?p=2", "https://x.example/article?p=2"),
])
def test_url_forms(url: str, expected: str) -> None:
    """&amp; in queries and // in paths are undone; a page named /amp is not merged with the home page."""
    assert canonicalize(url) == expected


def test_a_feed_link_with_amp_escaped_twice_is_fetched_right() -> None:
    """A link written ?id=5&amp;amp;lang=en in the XML is fetched as ?id=5&lang=en."""
    assert _urls(_rss("<item><title>x</title><link>https://x.example/a?id=5&amp;amp;lang=en</link></item>")) == [
        "https://x.example/a?id=5&lang=en"]


SITEMAP = b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'


@pytest.mark.parametrize(("body", "expected"), [
    (SITEMAP + b"<url><loc>https://x.example/a</loc></url><url><loc>https://x.example/news/", ["https://x.example/a"]),
    (SITEMAP + b"<url><loc>https://x.example/a</loc></url><url><loc>https://x.example/b?x=1&amp;",
     ["https://x.example/a"]),
    (SITEMAP + b"<url><loc>https://x.example/a</loc></url><url><loc>https://x.example/news/&bogus;story</loc></url>"
     b"<url><loc>https://x.example/c</loc></url></urlset>", ["https://x.example/a", "https://x.example/c"]),
    (SITEMAP + b"<url><loc>https://x.example/a</loc></url><url><loc>https://x.example/b</loc><lastmod>2024-",
     ["https://x.example/a", "https://x.example/b"]),
])
def test_a_cut_sitemap_loc_is_dropped(body: bytes, expected: list[str]) -> None:
    """A <loc> cut by truncation or by an entity/element inside it is dropped; its complete neighbours stay."""
    sitemap = parse_sitemap(body, "https://x.example/sitemap.xml", now=NOW)
    assert (sorted(entry.url for entry in sitemap.entries), sitemap.degraded) == (expected, True)
