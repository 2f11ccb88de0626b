"""parse_feed: RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and JSON Feed, real-world quirks and hostile input."""

from __future__ import annotations

import gzip
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsmon.crawler.discovery import parse_feed
from newsmon.crawler.discovery.text import MAX_SUMMARY_LENGTH
from newsmon.crawler.items import DiscoveryError

DATA = Path(__file__).parent / "data" / "discovery"
NOW = datetime(2024, 2, 10, tzinfo=UTC)


def _read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def _rss(items: str, channel: str = "") -> bytes:
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{channel}{items}</channel></rss>'.encode()


def test_rss2_feed_metadata() -> None:
    """RSS 2.0: kind, cleaned channel title, <ttl> (which wins over sy:updatePeriod), not degraded."""
    feed = parse_feed(_read("rss2.xml"), "https://news.example.com/feed.xml", now=NOW)
    assert (feed.kind, feed.title, feed.ttl, feed.degraded) == (
        "rss",
        "The Daily Example & Co",
        timedelta(minutes=15),
        False,
    )


def test_rss2_entries_are_newest_first_and_linkless_items_skipped() -> None:
    """Items sort by date, newest first; items without an http(s) link are dropped."""
    feed = parse_feed(_read("rss2.xml"), "https://news.example.com/feed.xml", now=NOW)
    assert [entry.url for entry in feed.entries] == [
        "https://news.example.com/2024/02/06/storm-warning",
        "https://news.example.com/2024/02/05/council-approves-budget",
        "https://news.example.com/podcasts/episode-12-the-budget",
    ]


def test_rss2_item_fields() -> None:
    """Title and description lose their markup; creators, categories, image and language are read."""
    feed = parse_feed(_read("rss2.xml"), "https://news.example.com/feed.xml", now=NOW)
    council = feed.entries[1]
    assert council.title == "Council approves budget"
    assert council.summary == "The council voted 7 to 2. More to come."
    assert council.published == datetime(2024, 2, 5, 9, tzinfo=UTC)
    assert council.authors == ("Jane Doe", "City Desk")
    assert council.tags == ("Local", "Politics")
    assert council.image == "https://news.example.com/images/council.jpg"
    assert council.language == "en-GB"


def test_rss2_guid_permalink_content_encoded_and_media_content() -> None:
    """A permalink guid is the link; content:encoded fills a missing description; media:content is the image."""
    storm = parse_feed(_read("rss2.xml"), "https://news.example.com/feed.xml", now=NOW).entries[0]
    assert storm.summary == "Winds of 100 km/h expected."
    assert storm.published == datetime(2024, 2, 6, 13, 30, tzinfo=UTC)
    assert storm.image == "https://cdn.example.com/storm.jpg"


def test_rss2_audio_enclosure_is_not_an_image() -> None:
    """An audio enclosure is not taken as the image; media:thumbnail is."""
    podcast = parse_feed(_read("rss2.xml"), "https://news.example.com/feed.xml", now=NOW).entries[2]
    assert podcast.image == "https://cdn.example.com/ep12.jpg"


def test_rss1_rdf_feed() -> None:
    """RSS 1.0: kind rdf, dc:date/dc:creator/dc:subject, rdf:about as the link, sy:* as ttl."""
    feed = parse_feed(_read("rss1.rdf"), "https://rdf.example.org/index.rdf", now=NOW)
    assert (feed.kind, feed.title, feed.ttl) == ("rdf", "RDF Example", timedelta(minutes=30))
    first, second = feed.entries[1], feed.entries[0]
    assert second.url == "https://rdf.example.org/artikel/zwei"
    assert first.url == "https://rdf.example.org/artikel/eins"
    assert first.published == datetime(2024, 2, 5, 8, tzinfo=UTC)
    assert (first.authors, first.tags, first.summary, first.language) == (
        ("Max Mustermann",),
        ("Wirtschaft",),
        "Zusammenfassung eins",
        "de",
    )


def test_rss090_is_rdf() -> None:
    """RSS 0.90 (RDF with the Netscape namespace) reads as kind rdf."""
    body = b"""<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
        xmlns="http://my.netscape.com/rdf/simple/0.9/"><channel><title>Old</title></channel>
        <item><title>One</title><link>http://old.example.com/one</link></item></rdf:RDF>"""
    feed = parse_feed(body, "http://old.example.com/rss", now=NOW)
    assert (feed.kind, [entry.url for entry in feed.entries]) == ("rdf", ["http://old.example.com/one"])


def test_rss091_with_html_entities_from_the_netscape_dtd() -> None:
    """RSS 0.91 uses HTML entities its (never loaded) DTD defines; they still read as characters."""
    body = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
 "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><title>Caf&eacute; news</title><language>fr</language>
<item><title>L&rsquo;&eacute;t&eacute; arrive</title><link>http://old.example.fr/ete.html</link>
<description>Chaud\xa0!</description></item></channel></rss>"""
    feed = parse_feed(body, "http://old.example.fr/rss.xml", now=NOW)
    assert feed.title == "Café news"
    assert (feed.entries[0].title, feed.entries[0].summary) == ("L\u2019été arrive", "Chaud !")
    assert feed.degraded is False


def test_atom_feed_metadata() -> None:
    """Atom 1.0: kind atom and an html-typed title reduced to text."""
    feed = parse_feed(_read("atom.xml"), "https://blog.example.net/atom.xml", now=NOW)
    assert (feed.kind, feed.title, feed.ttl, feed.degraded) == ("atom", "Example Blog", None, False)


def test_atom_entries_sort_on_published_else_updated() -> None:
    """An entry without <published> sorts on <updated>."""
    feed = parse_feed(_read("atom.xml"), "https://blog.example.net/atom.xml", now=NOW)
    assert [entry.url for entry in feed.entries] == [
        "https://blog.example.net/second-post",
        "https://blog.example.net/posts/first-post",
        "https://archive.example.net/2024/third",
    ]


def test_atom_entry_fields_and_xml_base() -> None:
    """The HTML alternate wins over a PDF one, xml:base chains resolve, authors and terms are read."""
    first = parse_feed(_read("atom.xml"), "https://blog.example.net/atom.xml", now=NOW).entries[1]
    assert first.url == "https://blog.example.net/posts/first-post"
    assert first.published == datetime(2024, 2, 5, 8, tzinfo=UTC)
    assert first.updated == datetime(2024, 2, 6, 11, tzinfo=UTC)
    assert (first.authors, first.tags) == (("Alice", "Bob"), ("python", "feeds"))
    assert (first.summary, first.language) == ("Short & sweet", "en")
    assert first.image == "https://blog.example.net/img/first.png"


def test_atom_xhtml_content_feed_author_and_http_id() -> None:
    """XHTML title/content are flattened, the feed author is inherited, an http id is the link."""
    second = parse_feed(_read("atom.xml"), "https://blog.example.net/atom.xml", now=NOW).entries[0]
    assert (second.title, second.summary) == ("Second post", "Body of the second post.")
    assert second.authors == ("Feed Author",)
    assert second.published is None
    assert second.image == "https://blog.example.net/img/second.jpg"


def test_atom03_feed() -> None:
    """Atom 0.3: issued/modified dates, escaped-mode title, base64 content ignored for the summary."""
    feed = parse_feed(_read("atom03.xml"), "http://old.example.com/atom.xml", now=NOW)
    entry = feed.entries[0]
    assert (feed.kind, entry.url, entry.title) == ("atom", "http://old.example.com/2004/01/02/old-entry", "Old entry")
    assert (entry.published, entry.updated) == (
        datetime(2004, 1, 2, 9, tzinfo=UTC),
        datetime(2004, 1, 2, 12, tzinfo=UTC),
    )
    assert (entry.summary, entry.authors) == ("An old summary", ("Old Author",))


def test_atom_without_namespace_is_read() -> None:
    """A <feed> that forgot its namespace is still Atom."""
    body = b'<feed><entry><title>x</title><link href="https://a.example/x"/></entry></feed>'
    assert [entry.url for entry in parse_feed(body, "https://a.example/", now=NOW).entries] == ["https://a.example/x"]


def test_json_feed_11() -> None:
    """JSON Feed 1.1: url or external_url, dates, authors, tags (strings only), image, languages."""
    feed = parse_feed(_read("jsonfeed.json"), "https://json.example.com/feed.json", now=NOW)
    assert (feed.kind, feed.title, feed.degraded) == ("jsonfeed", "JSON Example", False)
    second, first = feed.entries
    assert first.url == "https://json.example.com/2024/02/05/first"
    assert (first.title, first.summary) == ("First & foremost", "Hello world")
    assert first.published == datetime(2024, 2, 5, 9, tzinfo=UTC)
    assert (first.authors, first.tags, first.language) == (("Alice",), ("one", "two"), "en-US")
    assert first.image == "https://json.example.com/img/first.jpg"
    assert second.url == "https://elsewhere.example.org/story"
    assert (second.summary, second.language, second.authors) == ("A summary", "fr", ("Feed Team",))
    assert second.updated == datetime(2024, 2, 6, 11, tzinfo=UTC)


def test_json_feed_10_author_object() -> None:
    """JSON Feed 1.0's single ``author`` object gives the author."""
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1",
            "title": "Old JSON",
            "items": [{"id": "1", "url": "https://j.example/1", "author": {"name": "Solo"}, "content_text": "Hi"}],
        }
    ).encode()
    entry = parse_feed(body, "https://j.example/feed.json", now=NOW).entries[0]
    assert (entry.authors, entry.summary) == (("Solo",), "Hi")


def test_json_feed_with_junk_items_is_degraded() -> None:
    """Non-object items are skipped and mark the feed degraded."""
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": ["x", {"url": "https://j.example/1"}]})
    feed = parse_feed(body.encode(), "https://j.example/feed.json", now=NOW)
    assert ([entry.url for entry in feed.entries], feed.degraded) == (["https://j.example/1"], True)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<!DOCTYPE html><html><head><title>Oops</title></head><body>x</body></html>", "got an HTML page"),
        (b"\n  <html><body>Not found</body></html>", "got an HTML page"),
        (
            b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body>x</body></html>',
            "got an HTML page",
        ),
        (b'{"error": "rate limited"}', "not a JSON Feed"),
        (b"[1, 2, 3]", "not a JSON Feed"),
        (b'{"version": "1.0", "items": []}', "not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": [', "invalid JSON"),
        (b"", "empty"),
        (b"  \r\n ", "empty"),
        (b"Service Unavailable", "not a feed"),
        (b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>', "got a sitemap"),
        (b"<opml><body/></opml>", "unexpected root element <opml>"),
    ],
)
def test_bodies_that_are_not_feeds(body: bytes, message: str) -> None:
    """HTML pages, non-feed JSON, sitemaps, empty and plain-text bodies raise DiscoveryError."""
    with pytest.raises(DiscoveryError, match=message):
        parse_feed(body, "https://x.example/feed", now=NOW)


def test_deeply_nested_json_is_refused() -> None:
    """JSON nested past the recursion limit raises DiscoveryError, not RecursionError."""
    with pytest.raises(DiscoveryError, match="invalid JSON"):
        parse_feed(b"{" + b'"a":[' * 100_000, "https://x.example/feed", now=NOW)


def test_feed_with_external_entity_does_not_leak_the_file(tmp_path: Path) -> None:
    """An XXE entity in an item title reads nothing from disk; the item is still returned."""
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:TOP-SECRET")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'
        "<rss><channel><title>&xxe;</title><item><title>Leak &xxe;</title>"
        "<link>https://x.example/story</link><description>&xxe;</description></item></channel></rss>"
    ).encode()
    feed = parse_feed(body, "https://x.example/rss", now=NOW)
    assert "TOP-SECRET" not in repr(feed)
    assert [(entry.url, entry.title) for entry in feed.entries] == [("https://x.example/story", "Leak")]


def test_billion_laughs_feed_is_harmless() -> None:
    """A billion-laughs feed neither expands nor crashes: it reads as a degraded, empty feed."""
    entities = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10))
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY l0 "lol">{entities}]>'
        "<rss><channel><title>&l9;</title><item><title>&l9;</title><link>https://x.example/a</link></item>"
        "</channel></rss>"
    ).encode()
    feed = parse_feed(body, "https://x.example/rss", now=NOW)
    assert "lol" not in repr(feed)
    assert feed.degraded is True


def test_malformed_feed_is_recovered_and_degraded() -> None:
    """Unescaped ampersands and a missing end tag still yield the readable items, degraded."""
    body = b"""<rss><channel><title>Broken & proud</title>
<item><title>Fish & chips</title><link>https://b.example/fish-and-chips</link></item>
<item><title>Second<title><link>https://b.example/second</link></item>
<item><title>Third</title><link>https://b.example/third</link>"""
    feed = parse_feed(body, "https://b.example/feed", now=NOW)
    assert feed.degraded is True
    assert feed.title == "Broken & proud"
    assert [entry.url for entry in feed.entries][:1] == ["https://b.example/fish-and-chips"]
    assert feed.entries[0].title == "Fish & chips"


def test_bare_ampersands_are_repaired_without_degrading() -> None:
    """Unescaped & in titles and query strings (CDATA or not) is kept, and the feed is not degraded."""
    body = _rss(
        "<item><title>Fish & chips</title><link>https://a.example/?a=1&b=2</link></item>"
        "<item><title><![CDATA[Salt & vinegar]]></title><link><![CDATA[https://a.example/?c=3&d=4]]></link></item>"
    )
    feed = parse_feed(body, "https://a.example/rss", now=NOW)
    assert [(entry.title, entry.url) for entry in feed.entries] == [
        ("Fish & chips", "https://a.example/?a=1&b=2"),
        ("Salt & vinegar", "https://a.example/?c=3&d=4"),
    ]
    assert feed.degraded is False


def test_gzipped_feed() -> None:
    """A gzipped feed body is read transparently."""
    feed = parse_feed(gzip.compress(_read("rss2.xml")), "https://news.example.com/feed.xml", now=NOW)
    assert (len(feed.entries), feed.degraded) == (3, False)


def test_gzip_bomb_feed_is_cut_at_the_cap() -> None:
    """A feed padded to 100 MB inside gzip keeps its first items and is degraded."""
    padding = b" " * (100 * 1024 * 1024)
    body = gzip.compress(_rss("<item><link>https://g.example/1</link></item>" + padding.decode()), compresslevel=9)
    feed = parse_feed(body, "https://g.example/feed", now=NOW, max_size=1024 * 1024)
    assert ([entry.url for entry in feed.entries], feed.degraded) == (["https://g.example/1"], True)


def test_relative_links_resolve_against_the_feed_url() -> None:
    """Relative item links and enclosures resolve against the feed's own URL."""
    body = _rss('<item><link>../story-one</link><enclosure url="pic.png" type="image/png"/></item>')
    entry = parse_feed(body, "https://r.example/feeds/main/rss", now=NOW).entries[0]
    assert (entry.url, entry.image) == ("https://r.example/feeds/story-one", "https://r.example/feeds/main/pic.png")


def test_xml_base_on_channel_and_item() -> None:
    """xml:base on the channel and again on the item both apply, in order."""
    body = b"""<rss><channel xml:base="https://cdn.example/site/"><title>t</title>
        <item xml:base="news/"><link>one</link></item><item><link>/two</link></item></channel></rss>"""
    feed = parse_feed(body, "https://b.example/rss", now=NOW)
    assert [entry.url for entry in feed.entries] == ["https://cdn.example/site/news/one", "https://cdn.example/two"]


def test_non_http_links_and_guids_are_skipped() -> None:
    """javascript:, mailto:, ftp:, malformed-host links and non-URL guids never become entries."""
    body = _rss(
        "<item><link>javascript:alert(1)</link></item><item><link>ftp://f.example/x</link></item>"
        "<item><guid>12345</guid></item><item><link>  https://ok.example/a  </link></item>"
        "<item><link>https://ok.example:99999/bad-port</link></item><item><link>http://[::1/x</link></item>"
        "<item><link>http://127.0.0.3:8080/loopback</link></item>"
    )
    assert [entry.url for entry in parse_feed(body, "https://ok.example/rss", now=NOW).entries] == [
        "https://ok.example/a",
        "http://127.0.0.3:8080/loopback",
    ]


def test_feedburner_original_link_is_preferred() -> None:
    """feedburner:origLink is the article URL, not the proxied <link>."""
    body = b"""<rss xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0"><channel><item>
        <link>https://feedproxy.google.com/~r/x/~3/abc/</link>
        <feedburner:origLink>https://real.example/story</feedburner:origLink></item></channel></rss>"""
    assert parse_feed(body, "https://feeds.example/x", now=NOW).entries[0].url == "https://real.example/story"


def test_duplicate_links_are_kept_once() -> None:
    """An item repeated in the feed yields one entry."""
    body = _rss("<item><link>https://d.example/a</link></item>" * 3)
    assert len(parse_feed(body, "https://d.example/rss", now=NOW).entries) == 1


def test_double_escaped_html_is_flattened() -> None:
    """HTML escaped twice (&amp;lt;b&amp;gt;) is still reduced to text."""
    body = _rss(
        "<item><title>A &amp;lt;b&amp;gt;bold&amp;lt;/b&amp;gt; move</title><link>https://h.example/a</link></item>"
    )
    assert parse_feed(body, "https://h.example/rss", now=NOW).entries[0].title == "A bold move"


def test_long_summary_is_capped() -> None:
    """A huge description is cut to the summary cap at a word boundary."""
    body = _rss(f"<item><link>https://l.example/a</link><description>{'word ' * 50_000}</description></item>")
    summary = parse_feed(body, "https://l.example/rss", now=NOW).entries[0].summary
    assert summary is not None
    assert len(summary) <= MAX_SUMMARY_LENGTH
    assert summary.endswith("word")


def test_future_dates_are_dropped() -> None:
    """A pubDate years after ``now`` reads as None, so the item does not pin itself on top."""
    body = _rss(
        "<item><link>https://f.example/future</link><pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate></item>"
        "<item><link>https://f.example/today</link><pubDate>Sat, 10 Feb 2024 00:00:00 GMT</pubDate></item>"
    )
    entries = parse_feed(body, "https://f.example/rss", now=NOW).entries
    assert [(entry.url, entry.published) for entry in entries] == [
        ("https://f.example/today", datetime(2024, 2, 10, tzinfo=UTC)),
        ("https://f.example/future", None),
    ]


def test_undated_items_follow_dated_ones_in_document_order() -> None:
    """Dated items come first, newest first; undated ones follow in the order of the document."""
    body = _rss(
        "<item><link>https://u.example/undated-1</link></item>"
        "<item><link>https://u.example/old</link><pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate></item>"
        "<item><link>https://u.example/undated-2</link></item>"
        "<item><link>https://u.example/new</link><pubDate>Fri, 09 Feb 2024 00:00:00 GMT</pubDate></item>"
    )
    assert [entry.url.rsplit("/", 1)[1] for entry in parse_feed(body, "https://u.example/", now=NOW).entries] == [
        "new",
        "old",
        "undated-1",
        "undated-2",
    ]


def test_undated_feed_keeps_document_order_under_the_cap() -> None:
    """Without dates, the cap keeps the first items of the document, in order."""
    body = _rss("".join(f"<item><link>https://s.example/{index}</link></item>" for index in range(10)))
    entries = parse_feed(body, "https://s.example/rss", max_items=3, now=NOW).entries
    assert [entry.url for entry in entries] == ["https://s.example/0", "https://s.example/1", "https://s.example/2"]


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ("<ttl>60</ttl>", timedelta(hours=1)),
        ("<ttl> 5 </ttl><sy:updatePeriod>daily</sy:updatePeriod>", timedelta(minutes=5)),
        ("<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>", timedelta(minutes=15)),
        ("<sy:updatePeriod> Weekly </sy:updatePeriod>", timedelta(weeks=1)),
        ("<sy:updateFrequency>4</sy:updateFrequency>", timedelta(hours=6)),
        ("<ttl>soon</ttl>", None),
        ("<ttl>0</ttl>", None),
        ("<ttl>-5</ttl>", None),
        ("<ttl>\u00b2</ttl>", None),
        ("<ttl>99999999999999999999</ttl>", None),
        ("<ttl>9999999</ttl>", None),
        ("<sy:updatePeriod>fortnightly</sy:updatePeriod>", None),
        ("<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>999999</sy:updateFrequency>", None),
        ("", None),
    ],
)
def test_declared_refresh_period(channel: str, expected: timedelta | None) -> None:
    """<ttl> minutes, else sy:updatePeriod divided by sy:updateFrequency; nonsense gives None."""
    body = (
        '<rss xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel>'
        f"{channel}<item><link>https://t.example/a</link></item></channel></rss>"
    ).encode()
    assert parse_feed(body, "https://t.example/rss", now=NOW).ttl == expected


def test_atom_feed_declares_ttl_with_sy() -> None:
    """sy:updatePeriod at the Atom feed level is read too."""
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">
        <sy:updatePeriod>hourly</sy:updatePeriod><entry><link href="https://a.example/1"/></entry></feed>"""
    assert parse_feed(body, "https://a.example/atom", now=NOW).ttl == timedelta(hours=1)


def test_naive_now_is_taken_as_utc() -> None:
    """A naive ``now`` is read as UTC instead of failing the date comparison."""
    feed = parse_feed(_read("rss2.xml"), "https://news.example.com/feed.xml", now=datetime(2024, 2, 10))
    assert len(feed.entries) == 3


def test_max_items_must_be_positive() -> None:
    """max_items below 1 is a programming error: ValueError naming the argument."""
    with pytest.raises(ValueError, match="max_items"):
        parse_feed(_read("rss2.xml"), "https://news.example.com/feed.xml", max_items=0)


def _huge_feed(count: int) -> tuple[bytes, list[str]]:
    """An RSS feed with ``count`` items in shuffled date order, and its URLs newest first."""
    start = datetime(2020, 1, 1, tzinfo=UTC)
    minutes = list(range(count))
    random.Random(7).shuffle(minutes)
    parts = ['<?xml version="1.0"?><rss version="2.0"><channel><title>Huge</title>']
    for minute in minutes:
        stamp = (start + timedelta(minutes=minute)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        parts.append(
            f"<item><title>Story {minute} &amp; more</title><link>https://huge.example/story/{minute}</link>"
            f"<description>&lt;p&gt;Summary {minute}&lt;/p&gt;</description><pubDate>{stamp}</pubDate>"
            f"<guid isPermaLink='false'>{minute}</guid><category>News</category></item>"
        )
    parts.append("</channel></rss>")
    newest = [f"https://huge.example/story/{minute}" for minute in range(count - 1, -1, -1)]
    return "".join(parts).encode(), newest


def test_huge_feed_keeps_the_newest_items() -> None:
    """100,000 shuffled items with max_items=200 give exactly the 200 newest, newest first."""
    body, newest = _huge_feed(100_000)
    feed = parse_feed(body, "https://huge.example/rss", max_items=200, now=NOW)
    assert [entry.url for entry in feed.entries] == newest[:200]
    assert feed.entries[0].title == "Story 99999 & more"
    assert feed.entries[0].summary == "Summary 99999"
