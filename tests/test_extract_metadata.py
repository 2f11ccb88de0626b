"""The structured metadata readers: JSON-LD, OpenGraph and meta tags, microdata, ``<time>``, HTML."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from newsmon.crawler.extraction import parse_html
from newsmon.crawler.extraction.metadata import PageMetadata, read_metadata, split_authors

URL = "https://courier.example/news/2024/03/14/bridge-opens"
FILLER = "<p>" + "The bridge opened on a bright morning and riders crossed in both directions. " * 3 + "</p>"


def read(head: str = "", body: str = "", html_attrs: str = "") -> PageMetadata:
    tree = parse_html(f"<!DOCTYPE html><html {html_attrs}><head>{head}</head><body>{body}{FILLER}</body></html>")
    assert tree is not None
    return read_metadata(tree, URL)


def jsonld(value: Any) -> str:
    return f'<script type="application/ld+json">{json.dumps(value)}</script>'


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


ARTICLE = {
    "@context": "https://schema.org",
    "@type": "NewsArticle",
    "headline": "Bridge opens at last",
    "datePublished": "2024-03-14T08:30:00Z",
    "dateModified": "2024-03-14T10:00:00Z",
    "author": {"@type": "Person", "name": "Mara Quillon"},
    "articleBody": "The bridge opened.",
    "isAccessibleForFree": True,
    "image": "https://courier.example/img/a.jpg",
    "keywords": ["Cycling", "Transport"],
    "inLanguage": "en-GB",
    "description": "A long wait ends.",
    "publisher": {"@type": "Organization", "name": "The Courier"},
}


def test_jsonld_article_fields() -> None:
    """Every field of a JSON-LD NewsArticle is read, each tagged with the jsonld source."""
    meta = read(jsonld(ARTICLE))
    assert meta.titles[0] == ("Bridge opens at last", "jsonld")
    assert (meta.published[0].value, meta.published[0].source) == (utc(2024, 3, 14, 8, 30), "jsonld")
    assert meta.modified[0].value == utc(2024, 3, 14, 10, 0)
    assert meta.authors[0] == (("Mara Quillon",), "jsonld")
    assert meta.article_body == "The bridge opened."
    assert meta.accessible_for_free is True
    assert meta.images[0] == ("https://courier.example/img/a.jpg", "jsonld")
    assert meta.tags == ["Cycling", "Transport"]
    assert meta.languages[0] == ("en", "jsonld")
    assert meta.descriptions[0] == ("A long wait ends.", "jsonld")
    assert meta.sitenames == ["The Courier"]
    assert meta.has_article_node


@pytest.mark.parametrize(
    "kind",
    ["Article", "NewsArticle", "ReportageNewsArticle", "BlogPosting", "LiveBlogPosting", ["NewsArticle", "Thing"]],
)
def test_jsonld_article_types(kind: str | list[str]) -> None:
    """Article, its news subtypes, blog and live-blog postings, and @type lists count as articles."""
    meta = read(jsonld({**ARTICLE, "@type": kind}))
    assert meta.has_article_node
    assert meta.titles[0][1] == "jsonld"


def test_jsonld_graph_and_nested_main_entity() -> None:
    """An article inside @graph, or nested as a WebPage's mainEntity, is found."""
    graph = {"@context": "https://schema.org", "@graph": [{"@type": "Organization", "name": "Org"}, ARTICLE]}
    nested = {"@type": "WebPage", "mainEntity": ARTICLE}
    for document in (graph, nested, [{"@type": "BreadcrumbList"}, ARTICLE]):
        assert read(jsonld(document)).titles[0] == ("Bridge opens at last", "jsonld")


def test_jsonld_teasers_of_other_articles_are_ignored() -> None:
    """Articles listed in an ItemList describe other pages, not this one."""
    listing = {"@type": "ItemList", "itemListElement": [{"@type": "ListItem", "item": ARTICLE}]}
    meta = read(jsonld(listing))
    assert not meta.has_article_node
    assert meta.published == []


def test_jsonld_own_article_ranks_first() -> None:
    """Among several article nodes, the one whose URL is the page's ranks first."""
    other = {**ARTICLE, "headline": "Another story", "url": "https://courier.example/news/other"}
    own = {**ARTICLE, "headline": "This story", "mainEntityOfPage": {"@id": URL}}
    meta = read(jsonld([other, own]))
    assert meta.titles[0] == ("This story", "jsonld")


@pytest.mark.parametrize(
    ("author", "expected"),
    [
        ("Mara Quillon", ("Mara Quillon",)),
        ("By Mara Quillon and Tobias Renk", ("Mara Quillon", "Tobias Renk")),
        ({"@type": "Person", "name": "Mara Quillon"}, ("Mara Quillon",)),
        (
            [{"@type": "Person", "name": "Mara Quillon"}, {"@type": "Person", "name": "Tobias Renk"}],
            ("Mara Quillon", "Tobias Renk"),
        ),
        (
            [{"@type": "Organization", "name": "Courier Staff"}, {"@type": "Person", "name": "Mara Quillon"}],
            ("Mara Quillon",),
        ),
        ({"@type": "Organization", "name": "Courier Staff"}, ("Courier Staff",)),
        (["Mara Quillon", "mara quillon"], ("Mara Quillon",)),
    ],
)
def test_jsonld_author_forms(author: Any, expected: tuple[str, ...]) -> None:
    """Authors given as a string, a Person, a list, or an Organization (only when no person) are read."""
    meta = read(jsonld({**ARTICLE, "author": author}))
    assert meta.authors[0] == (expected, "jsonld")


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ({"@type": "ImageObject", "url": "/img/b.jpg"}, "https://courier.example/img/b.jpg"),
        (["https://cdn.example/1.jpg", "https://cdn.example/2.jpg"], "https://cdn.example/1.jpg"),
        ([{"@type": "ImageObject", "contentUrl": "https://cdn.example/c.jpg"}], "https://cdn.example/c.jpg"),
    ],
)
def test_jsonld_image_forms(image: Any, expected: str) -> None:
    """Images given as an ImageObject, a list of URLs or a list of objects resolve to an absolute URL."""
    assert read(jsonld({**ARTICLE, "image": image})).images[0] == (expected, "jsonld")


@pytest.mark.parametrize(("value", "expected"), [(False, False), ("False", False), ("false", False), ("True", True)])
def test_jsonld_accessible_for_free(value: Any, expected: bool) -> None:
    """isAccessibleForFree is read as a boolean or as the strings publishers write."""
    assert read(jsonld({**ARTICLE, "isAccessibleForFree": value})).accessible_for_free is expected


def test_jsonld_paywalled_part() -> None:
    """A hasPart element marked not free makes the article paywalled."""
    article = {**ARTICLE, "hasPart": {"@type": "WebPageElement", "isAccessibleForFree": False, "cssSelector": ".x"}}
    assert read(jsonld(article)).accessible_for_free is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a, b ,c", ["a", "b", "c"]),
        (["a", " b"], ["a", "b"]),
        ("Ponts &amp; chauss&eacute;es, &quot;, @post-id:1913719, site:news, vélo", ["Ponts & chaussées", "vélo"]),
    ],
)
def test_jsonld_keywords(value: Any, expected: list[str]) -> None:
    """Keywords as a string or a list become tags, entities decoded, CMS markers and punctuation dropped."""
    assert read(jsonld({**ARTICLE, "keywords": value})).tags == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("fr-FR", "fr"), ("en_US", "en"), ("English", "en"), ({"@type": "Language", "name": "French"}, "fr")],
)
def test_jsonld_in_language(value: Any, expected: str) -> None:
    """inLanguage as a tag, a name or a Language object becomes a two-letter code."""
    assert read(jsonld({**ARTICLE, "inLanguage": value})).languages[0] == (expected, "jsonld")


def test_jsonld_references_are_resolved() -> None:
    """Author, image and publisher given as {"@id": ...} references to other @graph nodes are resolved."""
    graph = {
        "@graph": [
            {**ARTICLE, "author": {"@id": "#mara"}, "image": {"@id": "#img"}, "publisher": {"@id": "#org"}},
            {"@type": "Person", "@id": "#mara", "name": "Mara Quillon"},
            {"@type": "ImageObject", "@id": "#img", "url": "https://cdn.example/bridge.jpg"},
            {"@type": "Organization", "@id": "#org", "name": "The Courier"},
        ]
    }
    meta = read(jsonld(graph))
    assert meta.authors[0] == (("Mara Quillon",), "jsonld")
    assert meta.images[0] == ("https://cdn.example/bridge.jpg", "jsonld")
    assert meta.sitenames == ["The Courier"]


def test_jsonld_entities_are_decoded() -> None:
    """HTML entities in JSON-LD strings (left alone by the HTML parser) are decoded."""
    meta = read(jsonld({**ARTICLE, "headline": "Bridge opens &#8211; at last &amp; for good"}))
    assert meta.titles[0] == ("Bridge opens \u2013 at last & for good", "jsonld")


def test_jsonld_tolerates_broken_json() -> None:
    """Trailing commas, raw newlines in strings and comment wrappers do not hide the JSON-LD."""
    text = '<!-- {"@type": "NewsArticle", "headline": "Line one\nline two", "datePublished": "2024-03-14",} -->'
    meta = read(f'<script type="application/ld+json">{text}</script>')
    assert meta.titles[0] == ("Line one line two", "jsonld")
    assert meta.published[0].value == utc(2024, 3, 14)


def test_jsonld_unparsable_is_skipped() -> None:
    """A JSON-LD block that is not JSON at all is ignored without error."""
    meta = read('<script type="application/ld+json">{"@type": "NewsArticle", "headline": </script>')
    assert (meta.titles, meta.jsonld_types) == ([], frozenset())


def test_jsonld_video_upload_date() -> None:
    """A video page's VideoObject uploadDate is its date when there is no article node."""
    meta = read(jsonld({"@type": "VideoObject", "name": "Clip", "uploadDate": "2024-03-14T10:00:00Z"}))
    assert meta.published[0].value == utc(2024, 3, 14, 10)
    assert "videoobject" in meta.jsonld_types


def test_opengraph_tags() -> None:
    """OpenGraph and article:* properties give title, description, image, dates, tags, site and type."""
    head = """
    <meta property="og:title" content="Bridge opens">
    <meta property="og:description" content="A long wait ends.">
    <meta property="og:image" content="/img/og.jpg">
    <meta property="og:site_name" content="The Courier">
    <meta property="og:type" content="article">
    <meta property="og:locale" content="en_GB">
    <meta property="article:published_time" content="2024-03-14T09:30:00+01:00">
    <meta property="article:modified_time" content="2024-03-14T12:00:00+01:00">
    <meta property="article:tag" content="Cycling">
    <meta property="article:author" content="https://facebook.example/mara">
    """
    meta = read(head)
    assert meta.titles[0] == ("Bridge opens", "opengraph")
    assert meta.descriptions[0] == ("A long wait ends.", "opengraph")
    assert meta.images[0] == ("https://courier.example/img/og.jpg", "opengraph")
    assert meta.sitenames == ["The Courier"]
    assert meta.og_type == "article"
    assert meta.languages == [("en", "opengraph")]
    assert (meta.published[0].value, meta.published[0].source) == (utc(2024, 3, 14, 8, 30), "opengraph")
    assert meta.modified[0].value == utc(2024, 3, 14, 11, 0)
    assert meta.tags == ["Cycling"]
    assert meta.authors == []  # a profile URL is not a name


@pytest.mark.parametrize(
    "tag",
    [
        '<meta name="parsely-pub-date" content="2024-03-14T08:30:00Z">',
        '<meta name="sailthru.date" content="2024-03-14 08:30:00">',
        '<meta name="dc.date" content="2024-03-14T08:30:00Z">',
        '<meta name="DC.date.issued" content="2024-03-14T08:30:00Z">',
        '<meta name="pubdate" content="20240314T083000">',
        '<meta itemprop="datePublished" content="2024-03-14T08:30:00Z">',
    ],
)
def test_meta_date_tags(tag: str) -> None:
    """Parse.ly, Sailthru, Dublin Core and pubdate tags give a meta-sourced publication date."""
    meta = read(tag)
    assert (meta.published[0].value, meta.published[0].source) == (utc(2024, 3, 14, 8, 30), "meta")


def test_meta_author_and_keywords() -> None:
    """Author meta tags are split into names; news_keywords and keywords become tags."""
    head = """<meta name="author" content="Mara Quillon; Tobias Renk">
    <meta name="news_keywords" content="bridge, river"><meta name="keywords" content="cycling">"""
    meta = read(head)
    assert meta.authors[0] == (("Mara Quillon", "Tobias Renk"), "meta")
    assert meta.tags == ["bridge", "river", "cycling"]


def test_microdata_date() -> None:
    """An element with itemprop=datePublished gives a microdata date from its datetime attribute."""
    meta = read(body='<span itemprop="datePublished" datetime="2024-03-14T08:30:00Z">14 March</span>')
    assert (meta.published[0].value, meta.published[0].source) == (utc(2024, 3, 14, 8, 30), "microdata")


def test_time_element_in_article() -> None:
    """A <time datetime> inside the article gives a time-sourced date; one in the sidebar does not."""
    body = """<aside><time datetime="2020-01-01T00:00:00Z">old</time></aside>
    <article><p>Story</p><time datetime="2024-03-14T08:30:00Z">14 March</time></article>"""
    meta = read(body=body)
    assert [(c.value, c.source) for c in meta.published] == [(utc(2024, 3, 14, 8, 30), "time")]


def test_time_element_marked_as_published_wins() -> None:
    """A <time> marked as the publication time is preferred to other <time> elements in the article."""
    body = """<article><time datetime="2024-03-15T10:00:00Z">updated</time>
    <time class="entry-date published" datetime="2024-03-14T08:30:00Z">14 March</time></article>"""
    meta = read(body=body)
    assert meta.published[0].value == utc(2024, 3, 14, 8, 30)


def test_html_title_heading_lang_and_canonical() -> None:
    """<h1>, <title>, <html lang> and rel=canonical are read, the canonical made absolute."""
    meta = read(
        '<title>Bridge opens | The Courier</title><link rel="canonical" href="/news/bridge-opens">',
        "<h1>Bridge opens</h1>",
        html_attrs='lang="en-GB"',
    )
    assert meta.titles == [("Bridge opens", "html"), ("Bridge opens | The Courier", "html")]
    assert meta.languages == [("en", "html")]
    assert meta.canonical_url == "https://courier.example/news/bridge-opens"


def test_canonical_falls_back_to_og_url() -> None:
    """Without rel=canonical, og:url is the canonical URL."""
    meta = read('<meta property="og:url" content="https://courier.example/news/bridge-opens">')
    assert meta.canonical_url == "https://courier.example/news/bridge-opens"


def test_language_precedence() -> None:
    """JSON-LD inLanguage ranks before <html lang>, which ranks before og:locale."""
    meta = read(
        jsonld({**ARTICLE, "inLanguage": "fr"}) + '<meta property="og:locale" content="de_DE">', html_attrs='lang="en"'
    )
    assert meta.languages == [("fr", "jsonld"), ("en", "html"), ("de", "opengraph")]


@pytest.mark.parametrize(
    ("byline", "expected"),
    [
        ("By Mara Quillon", ["Mara Quillon"]),
        ("Mara Quillon, Tobias Renk", ["Mara Quillon", "Tobias Renk"]),
        ("Quillon, Mara", ["Quillon, Mara"]),
        ("Par Aurélien Castagnet et Lise Montel", ["Aurélien Castagnet", "Lise Montel"]),
        ("https://social.example/mara", []),
        ("@millbrookcycle", []),
    ],
)
def test_split_authors(byline: str, expected: list[str]) -> None:
    """Bylines split into names in English and French; URLs and handles are not names."""
    assert split_authors(byline) == expected


@pytest.mark.parametrize(
    ("byline", "expected"),
    [
        ("Mara Quillon und Tobias Renk", ["Mara Quillon", "Tobias Renk"]),
        ("Mara Quillon et Tobias Renk", ["Mara Quillon", "Tobias Renk"]),
        ("Mara Quillon y Tobias Renk", ["Mara Quillon", "Tobias Renk"]),
        ("Mara Quillon e Tobias Renk", ["Mara Quillon", "Tobias Renk"]),
        ("Mara Quillon i Tobias Renk", ["Mara Quillon", "Tobias Renk"]),
        ("Mara Quillon en Tobias Renk", ["Mara Quillon", "Tobias Renk"]),
        ("Mara Quillon @maraq", ["Mara Quillon"]),
        ("Mara Quillon (@maraq)", ["Mara Quillon"]),
        ("mara.quillon@courier.example", []),
        ("Mara Quillon mara.quillon@courier.example", ["Mara Quillon"]),
        ("48213", []),
        ("Eric Idle", ["Eric Idle"]),
    ],
)
def test_split_authors_conjunctions_handles_and_junk(byline: str, expected: list[str]) -> None:
    """Names split on the conjunctions of common languages; handles, e-mail addresses and ids go."""
    assert split_authors(byline) == expected
