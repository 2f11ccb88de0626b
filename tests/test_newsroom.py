"""The newsroom fixture serves what end-to-end tests rely on: feeds, sitemaps, pages, control API."""

from __future__ import annotations

import gzip
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import lxml.etree
import lxml.html
import pytest
import yaml

from newsmon.settings.loader import load_config
from tests.newsroom import Article, Newsroom, forbidden_words, load_state, matches
from tests.newsroom.corpus import MAX_WORDS, MIN_WORDS, UTM_SUFFIX, build_corpus
from tests.newsroom.outlets import build_outlets, specs_for

NOW = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent
NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "rss1": "http://purl.org/rss/1.0/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
    "news": "http://www.google.com/schemas/sitemap-news/0.9",
}
# No proxy from the environment may stand between the tests and 127.0.0.x.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fetch(url: str, headers: dict[str, str] | None = None, data: Any = None) -> tuple[int, Any, bytes]:
    """(status, headers, body) of a GET, or of a JSON POST when ``data`` is given; errors included."""
    body = None if data is None else json.dumps(data).encode()
    request = urllib.request.Request(url, data=body, headers=headers or {})
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with _OPENER.open(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


def feed_links(body: bytes) -> list[str]:
    """The article links of an RSS 2.0, RSS 1.0 or Atom document."""
    root = lxml.etree.fromstring(body)
    links = root.xpath("//item/link/text() | //rss1:item/rss1:link/text()", namespaces=NS)
    links += root.xpath("//atom:entry/atom:link[@rel='alternate']/@href", namespaces=NS)
    return [str(link) for link in links]


def sitemap_locs(body: bytes) -> list[str]:
    return [str(loc) for loc in lxml.etree.fromstring(body).xpath("//sm:url/sm:loc/text()", namespaces=NS)]


@pytest.fixture(scope="module")
def room() -> Iterator[Newsroom]:
    """A room the read-only tests share; tests that change state make their own."""
    with Newsroom(now=NOW) as shared:
        yield shared


@pytest.fixture
def fresh() -> Iterator[Newsroom]:
    with Newsroom() as own:
        yield own


def test_default_corpus_shape(room: Newsroom) -> None:
    """The default corpus has six articles per outlet, half on-topic, all within two days of now."""
    assert room.now == NOW
    assert len(room.articles) == 24
    for outlet in room.outlets:
        articles = room.articles_of(outlet.name)
        assert len(articles) == 6
        assert sum(article.on_topic for article in articles) == 3
        assert {article.language for article in articles} == {outlet.language}
    for article in room.articles:
        assert NOW - timedelta(days=2) < article.published < NOW
        assert article.published.tzinfo == UTC
        assert article.published <= article.modified <= NOW
        assert article.authors
        assert article.url.startswith(room.outlet(article.outlet).base_url + "/")
        assert 4 <= len(article.paragraphs) <= 8
        assert all(MIN_WORDS <= len(p.split()) <= MAX_WORDS for p in article.paragraphs), article.title
    assert len({article.url for article in room.articles}) == 24


def test_corpus_depends_only_on_seed_and_now() -> None:
    """The same seed and now give the same corpus; another seed changes times and paragraphs."""
    specs = specs_for(4)
    outlets = build_outlets(specs, 8080)
    first = build_corpus(specs, outlets, 1, NOW)
    assert [a.as_dict() for a in first] == [a.as_dict() for a in build_corpus(specs, outlets, 1, NOW)]
    other = {a.key: a for a in build_corpus(specs, outlets, 2, NOW)}
    assert set(other) == {a.key for a in first}
    assert any(other[a.key].published != a.published for a in first)
    assert any(other[a.key].paragraphs != a.paragraphs for a in first)


def test_topic_labels_hold_on_pages(room: Newsroom) -> None:
    """On-topic articles match the topic; off-topic pages, boilerplate included, avoid its words."""
    for article in room.articles:
        text = "\n".join([article.title, article.description, *article.paragraphs])
        if article.on_topic:
            assert matches(text), article.title
            continue
        assert not matches(text), article.title
        status, _, body = fetch(article.url)
        assert status == 200
        assert forbidden_words(lxml.html.fromstring(body).text_content()) == [], article.title


def test_feeds_list_every_article(room: Newsroom) -> None:
    """Each outlet's feed is XML listing every article, newest first, as its feed_url."""
    for outlet in room.outlets:
        status, headers, body = fetch(outlet.feeds[0])
        assert status == 200
        assert "xml" in headers["Content-Type"]
        assert feed_links(body) == [article.feed_url for article in room.articles_of(outlet.name)]


def test_feed_dialects(room: Newsroom) -> None:
    """Wire's RSS has pubDate, dc:creator and ttl; Le Journal's RDF has dc:date in +01:00."""
    wire = lxml.etree.fromstring(fetch(room.outlet("wire-en").feeds[0])[2])
    assert wire.findtext("channel/ttl") == "5"
    first = room.articles_of("wire-en")[0]
    item = wire.find("channel/item")
    assert parsedate_to_datetime(item.findtext("pubDate")) == first.published
    assert item.xpath("dc:creator/text()", namespaces=NS) == list(first.authors)
    journal = lxml.etree.fromstring(fetch(room.outlet("journal-fr").feeds[0])[2])
    dates = journal.xpath("//rss1:item/dc:date/text()", namespaces=NS)
    assert [datetime.fromisoformat(d) for d in dates] == [a.published for a in room.articles_of("journal-fr")]
    assert all(d.endswith("+01:00") for d in dates)


def test_wire_feed_lists_one_tracking_variant(room: Newsroom) -> None:
    """One wire-en item links to a utm/fragment variant whose page is canonical to the clean URL."""
    links = feed_links(fetch(room.outlet("wire-en").feeds[0])[2])
    variants = [link for link in links if link.endswith(UTM_SUFFIX)]
    assert len(variants) == 1
    article = room.lookup(variants[0])
    assert article is not None
    assert article.title == "Pentagon sends more troops to Jordan after drone strike"
    assert variants[0] == article.url + UTM_SUFFIX
    page = lxml.html.fromstring(fetch(variants[0].split("#")[0])[2])
    assert page.xpath("//link[@rel='canonical']/@href") == [article.url]


def test_gazette_sitemap_index_leads_to_gzip_news_sitemap(room: Newsroom) -> None:
    """The Gazette's sitemap index names a gzip news sitemap with publication, date and title."""
    gazette = room.outlet("gazette-en")
    index = lxml.etree.fromstring(fetch(gazette.sitemaps[0])[2])
    children = index.xpath("//sm:sitemap/sm:loc/text()", namespaces=NS)
    assert children == [gazette.documents["sitemap-news"]]
    status, headers, body = fetch(children[0])
    assert status == 200
    assert headers["Content-Type"] == "application/x-gzip"
    root = lxml.etree.fromstring(gzip.decompress(body))
    articles = room.articles_of("gazette-en")
    assert root.xpath("//sm:url/sm:loc/text()", namespaces=NS) == [a.url for a in articles]
    assert set(root.xpath("//news:publication/news:name/text()", namespaces=NS)) == {"The Gazette"}
    assert set(root.xpath("//news:publication/news:language/text()", namespaces=NS)) == {"en"}
    assert root.xpath("//news:title/text()", namespaces=NS) == [a.title for a in articles]
    dates = root.xpath("//news:publication_date/text()", namespaces=NS)
    assert [datetime.fromisoformat(d) for d in dates] == [a.published for a in articles]


def test_plain_sitemaps_list_clean_article_urls(room: Newsroom) -> None:
    """Wire's news sitemap and the French urlsets list exactly the clean article URLs."""
    for name in ("wire-en", "journal-fr", "quotidien-fr"):
        body = fetch(room.outlet(name).sitemaps[0])[2]
        assert sitemap_locs(body) == [article.url for article in room.articles_of(name)]


def test_section_page_links_articles_among_navigation(room: Newsroom) -> None:
    """/monde/ links its articles (one by its alias) among navigation and a robots-blocked link."""
    quotidien = room.outlet("quotidien-fr")
    page = lxml.html.fromstring(fetch(quotidien.pages[0])[2])
    links = {urljoin(quotidien.pages[0], href).split("#")[0] for href in page.xpath("//a/@href")}
    monde = [a for a in room.articles_of("quotidien-fr") if a.section == "monde"]
    assert len(monde) == 3
    alias = [a for a in monde if a.aliases]
    assert len(alias) == 1
    assert alias[0].title.startswith("Jordanie")
    expected = {a.aliases[0] if a.aliases else a.url for a in monde}
    assert expected <= links
    assert alias[0].url not in links
    assert len(links - expected) >= 15  # navigation, footer, other sections, pagination
    private = [link for link in links if urlsplit(link).path.startswith("/private/")]
    assert len(private) == 1
    assert fetch(private[0])[0] == 403


def test_alias_serves_the_same_page_with_one_canonical(room: Newsroom) -> None:
    """The aliased article's two URLs serve the same page, canonical to the first."""
    article = next(a for a in room.articles if a.aliases)
    first, second = fetch(article.url)[2], fetch(article.aliases[0])[2]
    assert first == second
    assert lxml.html.fromstring(second).xpath("//link[@rel='canonical']/@href") == [article.url]
    assert room.lookup(article.aliases[0]) == article


def test_gazette_bare_article_url_redirects_to_slashed(room: Newsroom) -> None:
    """A Gazette article URL without its trailing slash answers 301 to the slashed URL."""
    article = room.articles_of("gazette-en")[0]
    assert article.url.endswith("/")
    request = urllib.request.Request(article.url.rstrip("/"))
    no_redirects = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
    with pytest.raises(urllib.error.HTTPError) as caught:
        no_redirects.open(request, timeout=10)
    with caught.value as response:
        assert (response.code, response.headers["Location"]) == (301, article.url)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def test_robots_txt_allows_all_but_private(room: Newsroom) -> None:
    """robots.txt refuses /private/ only and names the outlet's sitemaps."""
    for outlet in room.outlets:
        text = fetch(outlet.robots)[2].decode()
        parser = RobotFileParser()
        parser.parse(text.splitlines())
        assert parser.can_fetch("newsmon/0.1", room.articles_of(outlet.name)[0].url)
        assert not parser.can_fetch("newsmon/0.1", outlet.url("/private/x.html"))
        assert [line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("Sitemap:")] \
            == list(outlet.sitemaps)


def test_home_pages_advertise_their_feed(room: Newsroom) -> None:
    """Each home page has a <link rel="alternate"> that resolves to the outlet's feed."""
    for outlet in room.outlets:
        page = lxml.html.fromstring(fetch(outlet.home)[2])
        hrefs = page.xpath("//link[@rel='alternate'][contains(@type, 'xml')]/@href")
        assert [urljoin(outlet.home, href) for href in hrefs] == list(outlet.feeds)


def _ld_article(page: Any) -> dict[str, Any]:
    data = json.loads(page.xpath("//script[@type='application/ld+json']/text()")[0])
    items = data.get("@graph", [data])
    return next(item for item in items if item["@type"] == "NewsArticle")


def test_article_pages_carry_metadata_body_and_boilerplate(room: Newsroom) -> None:
    """Every article page has the metadata, exactly the expected body paragraphs and the boilerplate."""
    for article in room.articles:
        status, _, body = fetch(article.url)
        assert status == 200
        page = lxml.html.fromstring(body)
        meta = {m.get("property") or m.get("name"): m.get("content") for m in page.xpath("//meta[@content]")}
        assert page.get("lang") == article.language
        assert page.findtext(".//title").startswith(article.title)
        assert meta["description"] == article.description
        assert (meta["og:title"], meta["og:url"], meta["og:type"]) == (article.title, article.url, "article")
        assert meta["og:image"] == article.image_url
        assert datetime.fromisoformat(meta["article:published_time"]) == article.published
        assert page.xpath("//link[@rel='canonical']/@href") == [article.canonical_url]
        ld = _ld_article(page)
        assert ld["headline"] == article.title
        assert datetime.fromisoformat(ld["datePublished"]) == article.published
        assert datetime.fromisoformat(ld["dateModified"]) == article.modified
        assert [author["name"] for author in ld["author"]] == list(article.authors)
        assert page.xpath("//h1")[0].text_content() == article.title
        assert page.xpath("//time/@datetime")
        body_paragraphs = [p.text_content() for p in page.xpath("//article//p")]
        assert [p for p in body_paragraphs if p in article.paragraphs] == list(article.paragraphs)
        assert len(page.xpath("//nav//a")) >= 12
        assert page.xpath("//*[@id='consent-banner']")
        assert len(page.xpath("//*[contains(@class, 'comment') or contains(@class, 'reaction')]//p")) >= 2
        assert page.xpath("//form[contains(@action, 'newsletter')]")
        assert page.xpath("//footer")
    themes = {tuple(lxml.html.fromstring(fetch(a.url)[2]).xpath("//body/@class")) for a in room.articles}
    assert len(themes) == 4


def test_pages_are_gzipped_when_accepted(room: Newsroom) -> None:
    """A client that accepts gzip gets a gzip-encoded article page."""
    article = room.articles[0]
    status, headers, body = fetch(article.url, {"Accept-Encoding": "gzip"})
    assert (status, headers["Content-Encoding"]) == (200, "gzip")
    assert gzip.decompress(body) == fetch(article.url)[2]


def test_conditional_get_answers_304(room: Newsroom) -> None:
    """A matching If-None-Match or If-Modified-Since gets 304; a stale ETag gets the document."""
    url = room.outlet("gazette-en").feeds[0]
    _, headers, body = fetch(url)
    etag, modified = headers["ETag"], headers["Last-Modified"]
    assert fetch(url, {"If-None-Match": etag})[::2] == (304, b"")
    assert fetch(url, {"If-Modified-Since": modified})[0] == 304
    assert fetch(url, {"If-None-Match": '"stale"', "If-Modified-Since": modified})[::2] == (200, body)
    gz = room.outlet("gazette-en").documents["sitemap-news"]
    assert fetch(gz, {"If-None-Match": fetch(gz)[1]["ETag"]})[0] == 304


def test_publish_appears_in_feed_sitemap_and_home(fresh: Newsroom) -> None:
    """A published article shows up in the outlet's feed, sitemap and home, and revalidation sees it."""
    wire = fresh.outlet("wire-en")
    _, before, _ = fetch(wire.feeds[0])
    article = fresh.publish("wire-en", on_topic=True)
    assert article.on_topic
    assert article.title == "US troops in Syria repel attack on desert garrison"
    assert feed_links(fetch(wire.feeds[0])[2])[0] == article.url
    assert article.url in sitemap_locs(fetch(wire.sitemaps[0])[2])
    assert article.url.encode() in fetch(wire.home)[2]
    assert fetch(wire.feeds[0], {"If-None-Match": before["ETag"]})[0] == 200
    assert fetch(wire.feeds[0], {"If-Modified-Since": before["Last-Modified"]})[0] == 200
    page = lxml.html.fromstring(fetch(article.url)[2])
    assert [p.text_content() for p in page.xpath("//article//p")] == list(article.paragraphs)


def test_publish_over_http_reaches_another_outlet(fresh: Newsroom) -> None:
    """POST /_control/publish on one outlet adds the article to the named outlet's feed and section."""
    quotidien = fresh.outlet("quotidien-fr")
    paragraphs = [
        "Le Pentagone a confirmé l'envoi de renforts en Jordanie après une nouvelle attaque de drone. " * 4,
        "Des soldats américains supplémentaires doivent rejoindre la base dans les prochains jours. " * 4,
    ]
    status, _, body = fetch(fresh.outlet("gazette-en").url("/_control/publish"),
                            data={"outlet": "quotidien-fr", "article": {"title": "Renforts en Jordanie",
                                                                        "paragraphs": paragraphs}})
    assert status == 201
    created = Article.from_dict(json.loads(body))
    assert created.on_topic  # decided by the topic matcher
    assert created.url.startswith(quotidien.base_url + "/monde/")
    assert created in fresh.articles
    assert created.url in feed_links(fetch(quotidien.feeds[0])[2])
    assert created.url.encode() in fetch(quotidien.pages[0])[2]
    status, _, body = fetch(quotidien.url("/_control/publish"), data={"outlet": "nowhere", "article": {}})
    assert status == 400
    assert "unknown outlet" in json.loads(body)["error"]


def test_break_makes_a_feed_serve_html_or_500(fresh: Newsroom) -> None:
    """A broken feed serves HTML, a 500 or half its XML, over HTTP or Python, until set "ok"."""
    journal = fresh.outlet("journal-fr")
    url = journal.feeds[0]
    assert fresh.break_feed("journal-fr", "rdf", "not-xml") == "/rdf.xml"
    status, headers, body = fetch(url)
    assert (status, headers["Content-Type"]) == (200, "text/html; charset=utf-8")
    with pytest.raises(lxml.etree.XMLSyntaxError):
        lxml.etree.fromstring(body)
    status, _, answer = fetch(journal.url("/_control/break"), data={"what": "feed", "mode": "500"})
    assert (status, json.loads(answer)["path"]) == (200, "/rdf.xml")
    assert fetch(url)[0] == 500
    fresh.break_feed("journal-fr", "rdf", "truncated")
    with pytest.raises(lxml.etree.XMLSyntaxError):
        lxml.etree.fromstring(fetch(url)[2])
    fresh.break_feed("journal-fr", "rdf", "ok")
    assert len(feed_links(fetch(url)[2])) == 6
    with pytest.raises(ValueError, match="mode"):
        fresh.break_feed("journal-fr", "rdf", "slow")


def test_request_log_records_conditional_headers(fresh: Newsroom) -> None:
    """The request log has method, host, path, query, status and headers, and can be reset."""
    wire = fresh.outlet("wire-en")
    etag = fetch(wire.feeds[0])[1]["ETag"]
    fetch(wire.feeds[0] + "?x=1", {"If-None-Match": etag, "User-Agent": "newsmon-test/1"})
    log = json.loads(fetch(wire.url("/_control/requests?path=/rss.xml"))[2])
    assert [entry["status"] for entry in log] == [200, 304]
    last = log[-1]
    assert (last["method"], last["host"], last["query"], last["outlet"]) == (
        "GET", f"{wire.host}:{wire.port}", "x=1", "wire-en")
    assert last["headers"]["If-None-Match"] == etag
    assert last["headers"]["User-Agent"] == "newsmon-test/1"
    assert fresh.requests(path="/rss.xml") == log
    assert json.loads(fetch(wire.url("/_control/reset-log"), data={})[2]) == {"cleared": 2}
    assert fresh.requests() == []


def test_publish_without_text_uses_reserve_stories_until_they_run_out(fresh: Newsroom) -> None:
    """Publishing without paragraphs takes reserve stories of the right language and side."""
    first = fresh.publish("journal-fr", on_topic=False)
    second = fresh.publish("quotidien-fr", on_topic=False)
    assert (first.language, second.language, first.on_topic) == ("fr", "fr", False)
    assert first.title != second.title
    with pytest.raises(ValueError, match="reserve"):
        fresh.publish("journal-fr", on_topic=False)
    with pytest.raises(ValueError, match="unknown article fields"):
        fresh.publish("journal-fr", title="T", paragraphs=["p"], colour="red")
    with pytest.raises(ValueError, match="paragraphs: expected a list of strings"):
        fresh.state.publish("journal-fr", title="T", paragraphs="one string")


def test_config_yaml_is_a_valid_newsmon_config(fresh: Newsroom, tmp_path: Path) -> None:
    """config_yaml lists every outlet as a source, allows private addresses and loads in newsmon."""
    plain = yaml.safe_load(fresh.config_yaml())
    assert "topic" not in plain
    path = tmp_path / "newsmon.yaml"
    path.write_text(fresh.config_yaml(interval="3s", topic=True, redis={"prefix": "room"}), encoding="utf-8")
    config = load_config(path, env={})
    assert config.fetch.allow_private_addresses
    assert [source.name for source in config.sources] == [outlet.name for outlet in fresh.outlets]
    quotidien = config.source("quotidien-fr")
    assert (quotidien.language, quotidien.interval) == ("fr", timedelta(seconds=3))
    assert quotidien.pages == fresh.outlet("quotidien-fr").pages
    assert config.topic is not None
    assert [name for name, _ in config.topic.all] == ["us_military", "region"]
    assert config.redis.prefix == "room"


def test_extra_outlets_start_empty() -> None:
    """A fifth outlet repeats the first on 127.0.0.6 with a valid, empty feed."""
    with Newsroom(outlets=5) as room:
        extra = room.outlets[4]
        assert (extra.name, extra.host) == ("wire-en-2", "127.0.0.6")
        assert room.articles_of("wire-en-2") == []
        assert feed_links(fetch(extra.feeds[0])[2]) == []


def test_taken_port_is_reported() -> None:
    """Asking for a port another socket holds on an outlet address fails with that port named."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.3", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(OSError, match=f"port {port}"):
            Newsroom(port=port).start()


def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError(f"no output within {timeout}s")
    return process.stdout.readline()


def test_subprocess_prints_ready_and_stops_on_sigterm(tmp_path: Path) -> None:
    """python -m tests.newsroom prints its port when ready, keeps the state file and exits 0 on SIGTERM."""
    state_file, config_file = tmp_path / "state.json", tmp_path / "newsmon.yaml"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.newsroom", "--port", "0", "--outlets", "2",
         "--state-file", str(state_file), "--config-out", str(config_file)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = _read_line(process, 20)
        assert line.startswith("newsroom: ready on port ")
        port = int(line.rsplit(" ", 1)[1])
        state = load_state(state_file)
        assert (state.port, len(state.outlets), len(state.articles)) == (port, 2, 12)
        assert yaml.safe_load(config_file.read_text())["sources"][1]["name"] == "gazette-en"
        status, _, body = fetch(f"http://127.0.0.3:{port}/_control/publish",
                                data={"article": {"title": "Gazette test", "paragraphs": ["One. Two."]}})
        assert status == 201
        assert json.loads(body)["url"] in [a.url for a in load_state(state_file).articles]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
