"""The extraction entry point on synthetic English and French pages (invented text)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsmon.crawler.extraction import Article, NotAnArticle, decode_html, extract
from newsmon.crawler.items import Entry
from newsmon.settings.model import ExtractionSettings, SelectorOverrides

PAGES = Path(__file__).parent / "pages"
NOW = datetime(2024, 6, 1, tzinfo=UTC)
DEFAULT_SETTINGS = ExtractionSettings()
EN_URL = "https://courier.example/news/2024/03/14/riverside-bicycle-bridge"
FR_URL = "https://gazette.example/region/marche-couvert-saint-aubrac"
PARAGRAPHS = (
    "<p>The volunteers kept the reading room open through the winter, trained newcomers every month "
    "and lent more books than the county branch did before it closed its doors.</p>"
    "<p>Children's reading hours fill up within minutes of being announced, and a homework club runs "
    "on Tuesday and Thursday afternoons, staffed by two former maths teachers.</p>"
    "<p>Money remains tight: the group pays a token rent to the county and covers heating and insurance "
    "with a monthly quiz night and a stall at the spring fair.</p>"
)
FR_PARAGRAPHS = (
    "<p>Les bénévoles ont gardé la salle de lecture ouverte tout l'hiver, ils ont formé de nouveaux "
    "venus chaque mois et ont prêté plus de livres que l'ancienne annexe du département.</p>"
    "<p>Les heures du conte pour les enfants sont complètes quelques minutes après leur annonce, et "
    "une aide aux devoirs a lieu le mardi et le jeudi après la classe.</p>"
    "<p>L'argent reste rare : l'association paie un loyer symbolique et couvre le chauffage grâce à "
    "une soirée de quiz chaque mois et à un stand à la foire de printemps.</p>"
)


def load(name: str) -> bytes:
    return (PAGES / name).read_bytes()


def simple_page(head: str = "", body: str = PARAGRAPHS, html_attrs: str = 'lang="en"') -> str:
    return (
        f"<!DOCTYPE html><html {html_attrs}><head><title>Library lends more books</title>{head}</head>"
        f"<body><article><h1>Library lends more books</h1>{body}</article></body></html>"
    )


def run(
    html: bytes | str,
    url: str = "https://courier.example/news/library",
    *,
    entry: Entry | None = None,
    selectors: SelectorOverrides | None = None,
    settings: ExtractionSettings = DEFAULT_SETTINGS,
    language_hint: str | None = None,
) -> Article:
    return extract(html, url, entry, language_hint=language_hint, selectors=selectors, settings=settings, now=NOW)


# --------------------------------------------------------------------------------------------
# full pages


def test_english_article_metadata() -> None:
    """The English test page yields every field, JSON-LD values winning over OpenGraph and meta tags."""
    article = run(load("en_article.html"), EN_URL + "?utm_source=feed")
    assert article.title == "Riverside opens a bicycle bridge after six years of delays"
    assert article.published == datetime(2024, 3, 14, 8, 30, tzinfo=UTC)
    assert article.published_from == "jsonld"
    assert article.modified == datetime(2024, 3, 14, 15, 5, tzinfo=UTC)
    assert article.authors == ("Mara Quillon", "Tobias Renk")
    assert (
        article.description
        == "The span links the old mill district to the station and cuts a typical commute by a third."
    )
    assert article.image == "https://courier.example/img/bridge.jpg"
    assert article.tags == ("Cycling", "Transport", "Riverside")
    assert article.sitename == "The Millbrook Courier"
    assert article.canonical_url == EN_URL
    assert article.language == "en"
    assert article.access == "free"
    assert article.body_from == "trafilatura"


def test_english_article_text_is_the_story_only() -> None:
    """The body keeps paragraphs, tweet and inline cross-link; drops headline, byline, promos, trailing links."""
    text = run(load("en_article.html"), EN_URL).text
    assert "Read more: Council approves new bus lanes on the ring road" in text
    assert text.startswith("The long-promised bicycle bridge")
    assert text.rstrip().endswith("before the autumn.")
    assert "Smooth, quiet and not a single lorry in sight." in text
    for junk in ("Station car park", "All rights reserved", "By Mara Quillon", "six years of delays"):
        assert junk not in text


def test_french_article() -> None:
    """The French test page: OpenGraph date first, the advertising label removed, language and tags read."""
    article = run(load("fr_article.html"), FR_URL)
    assert article.title == "Le marché couvert de Saint-Aubrac rouvre ses portes"
    assert article.published == datetime(2023, 10, 7, 4, 15, tzinfo=UTC)
    assert article.published_from == "opengraph"
    assert article.language == "fr"
    assert article.sitename == "La Gazette du Causse"
    assert article.canonical_url == FR_URL
    assert article.tags == ("marché", "patrimoine", "commerce")
    assert article.text.startswith("Après dix-huit mois de travaux")
    assert "Lire aussi : La foire aux bestiaux revient au printemps" in article.text  # inline, kept
    assert "Publicité" not in article.text


# --------------------------------------------------------------------------------------------
# date sources and precedence, through extract()


@pytest.mark.parametrize(
    ("head", "body_extra", "source"),
    [
        ('<meta property="article:published_time" content="2024-03-14T08:30:00Z">', "", "opengraph"),
        ('<meta name="parsely-pub-date" content="2024-03-14T08:30:00Z">', "", "meta"),
        ('<meta name="sailthru.date" content="2024-03-14 08:30:00">', "", "meta"),
        ('<meta name="dc.date" content="2024-03-14T08:30:00Z">', "", "meta"),
        ("", '<span itemprop="datePublished" content="2024-03-14T08:30:00Z"></span>', "microdata"),
        ("", '<time datetime="2024-03-14T08:30:00Z">14 March 2024</time>', "time"),
    ],
)
def test_each_date_source(head: str, body_extra: str, source: str) -> None:
    """Each markup date source alone gives the publication date, and is named in published_from."""
    article = run(simple_page(head, body_extra + PARAGRAPHS))
    assert (article.published, article.published_from) == (datetime(2024, 3, 14, 8, 30, tzinfo=UTC), source)


def test_markup_date_beats_feed_and_url() -> None:
    """A markup date outranks the feed item's date and the URL date that agree with it."""
    entry = Entry(url="u", published=datetime(2024, 3, 14, 11, 0, tzinfo=UTC))
    article = run(
        simple_page('<meta property="article:published_time" content="2024-03-14T08:30:00Z">'),
        "https://courier.example/2024/03/14/library",
        entry=entry,
    )
    assert article.published_from == "opengraph"


def test_feed_date_when_markup_has_none() -> None:
    """Without markup dates the feed item's date is used, converted to UTC."""
    from datetime import timezone

    entry = Entry(url="u", published=datetime(2024, 3, 14, 10, 30, tzinfo=timezone(timedelta(hours=2))))
    article = run(simple_page(), entry=entry)
    assert (article.published, article.published_from) == (datetime(2024, 3, 14, 8, 30, tzinfo=UTC), "feed")


def test_url_date_when_nothing_else() -> None:
    """Without markup or feed dates, the date in the URL path is used at midnight UTC."""
    article = run(simple_page(), "https://courier.example/2024/03/14/library")
    assert (article.published, article.published_from) == (datetime(2024, 3, 14, tzinfo=UTC), "url")


def test_url_date_demotes_contradicting_markup() -> None:
    """A JSON-LD date weeks away from the URL date loses to a <time> that matches the URL."""
    head = (
        '<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2024-05-02T09:00:00Z"}</script>'
    )
    body = '<time datetime="2024-03-14T08:30:00Z">14 March</time>' + PARAGRAPHS
    article = run(simple_page(head, body), "https://courier.example/2024/03/14/library")
    assert (article.published, article.published_from) == (datetime(2024, 3, 14, 8, 30, tzinfo=UTC), "time")


def test_htmldate_guess_as_last_resort() -> None:
    """A page with only a written date in its text gets it from trafilatura's date finder (htmldate)."""
    article = run(simple_page(body='<p class="meta">Published 14 March 2024</p>' + PARAGRAPHS))
    assert (article.published, article.published_from) == (datetime(2024, 3, 14, tzinfo=UTC), "htmldate")


def test_future_markup_date_is_ignored() -> None:
    """A markup date after `now` is discarded: the next source (the feed) gives the date."""
    entry = Entry(url="u", published=datetime(2024, 5, 30, tzinfo=UTC))
    head = '<meta property="article:published_time" content="2024-07-01T08:30:00Z">'
    article = run(simple_page(head), entry=entry)
    assert article.published_from == "feed"
    assert article.published == datetime(2024, 5, 30, tzinfo=UTC)


def test_modified_before_published_is_dropped_end_to_end() -> None:
    """A modification date earlier than the publication date is not reported."""
    head = (
        '<meta property="article:published_time" content="2024-03-14T08:30:00Z">'
        '<meta property="article:modified_time" content="2024-03-01T08:30:00Z">'
    )
    assert run(simple_page(head)).modified is None


# --------------------------------------------------------------------------------------------
# other metadata sources and fallbacks


def test_feed_entry_fills_gaps() -> None:
    """Title, authors, summary, image, tags and language come from the feed item when the page has none."""
    html = f"<!DOCTYPE html><html><body><div>{PARAGRAPHS}</div></body></html>"
    entry = Entry(
        url="u",
        title="Library lends more books",
        authors=("Lise Montel",),
        summary="<p>The volunteers <b>kept</b> it open.</p>",
        image="/img/lib.jpg",
        tags=("books",),
        language="en-GB",
    )
    article = run(html, entry=entry)
    assert article.title == "Library lends more books"
    assert article.authors == ("Lise Montel",)
    assert article.description == "The volunteers kept it open."
    assert article.image == "https://courier.example/img/lib.jpg"
    assert article.tags == ("books",)
    assert article.language == "en"


@pytest.mark.parametrize(
    "title",
    ["Library lends more books | The Courier", "The Courier - Library lends more books", "Library lends more books"],
)
def test_title_loses_site_name(title: str) -> None:
    """A <title> carrying the site name as a suffix or prefix is trimmed to the headline."""
    html = (
        f"<!DOCTYPE html><html><head><title>{title}</title>"
        f'<meta property="og:site_name" content="The Courier"></head><body><div>{PARAGRAPHS}</div></body></html>'
    )
    assert run(html).title == "Library lends more books"


def test_jsonld_article_body_when_trafilatura_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """When trafilatura fails on a page, the JSON-LD articleBody is the body."""

    def fail(*_args: object, **_kwargs: object) -> None:
        raise ValueError("broken tree")

    monkeypatch.setattr("newsmon.crawler.extraction.adapter.trafilatura.bare_extraction", fail)
    body_text = " ".join(["The volunteers kept the reading room open through the winter."] * 6)
    head = (
        '<script type="application/ld+json">'
        + json.dumps({"@type": "NewsArticle", "headline": "Library", "articleBody": body_text})
        + "</script>"
    )
    html = f"<!DOCTYPE html><html><head>{head}</head><body><div id='app'></div></body></html>"
    article = run(html)
    assert (article.body_from, article.text) == ("jsonld", body_text)


def test_comments_follow_the_setting() -> None:
    """Reader comments are left out by default and appended when settings.comments is on."""
    comments = (
        '<div id="comments" class="comments"><ul class="comment-list"><li class="comment"><p>What a '
        "wonderful effort by the volunteers, I borrow books there every week since it reopened.</p></li>"
        "</ul></div>"
    )
    html = simple_page().replace("</article>", "</article>" + comments)
    assert "wonderful effort" not in run(html).text
    assert "wonderful effort" in run(html, settings=ExtractionSettings(comments=True)).text


# --------------------------------------------------------------------------------------------
# language


def test_wrong_html_lang_is_corrected_by_detection() -> None:
    """A French article on a template declaring lang="en" is recorded as French."""
    article = run(simple_page(body=FR_PARAGRAPHS, html_attrs='lang="en"'))
    assert article.language == "fr"


def test_language_hint_is_the_weakest_declaration() -> None:
    """The source's language hint is used when the page declares nothing and the text cannot tell."""
    html = "<!DOCTYPE html><html><body><div>" + "<p>Habari za asubuhi, karibu sana kwenye maktaba yetu mpya.</p>" * 6
    assert run(html + "</div></body></html>", language_hint="sw").language == "sw"


# --------------------------------------------------------------------------------------------
# selectors


def test_css_selectors_override_generic_extraction() -> None:
    """CSS selectors for body, title, date and authors win, with published_from and body_from "selector"."""
    selectors = SelectorOverrides(body="div.article-body", title="h1", date="p.dateline time", authors="p.byline")
    article = run(load("en_article.html"), EN_URL, selectors=selectors)
    assert article.body_from == "selector"
    assert article.text.startswith("The long-promised bicycle bridge")
    assert article.title == "Riverside opens a bicycle bridge after six years of delays"
    assert (article.published, article.published_from) == (datetime(2024, 3, 14, 8, 30, tzinfo=UTC), "selector")
    assert article.authors == ("Mara Quillon", "Tobias Renk")


def test_xpath_selectors() -> None:
    """Selectors starting with / or ( are XPath expressions."""
    selectors = SelectorOverrides(body="//div[@class='texte']", title="(//h1)[1]", authors="//p[@class='byline']")
    article = run(load("fr_article.html"), FR_URL, selectors=selectors)
    assert article.body_from == "selector"
    assert "Lire aussi" in article.text  # a selected body is taken as is
    assert article.title == "Le marché couvert de Saint-Aubrac rouvre ses portes"


def test_unmatched_selectors_fall_back() -> None:
    """Selectors that match nothing leave generic extraction in charge."""
    selectors = SelectorOverrides(body=".nothing", title=".nothing", date=".nothing", authors=".nothing")
    article = run(load("en_article.html"), EN_URL, selectors=selectors)
    assert (article.body_from, article.published_from) == ("trafilatura", "jsonld")
    assert article.authors == ("Mara Quillon", "Tobias Renk")


def test_invalid_selector_is_ignored() -> None:
    """A selector that does not parse is logged and ignored, not raised."""
    article = run(load("en_article.html"), EN_URL, selectors=SelectorOverrides(body="div[[", date="//time["))
    assert article.body_from == "trafilatura"


# --------------------------------------------------------------------------------------------
# rejection and access


@pytest.mark.parametrize(
    ("page", "url", "reason"),
    [
        ("index_page.html", "https://courier.example/news/", "index-page"),
        ("video_page.html", "https://courier.example/video/wend-bridge", "video"),
        ("gallery_page.html", "https://courier.example/gallery/spring-fair", "gallery"),
        ("error_page.html", "https://courier.example/news/missing-story", "error-page"),
        ("short_page.html", "https://courier.example/news/road-closed", "too-short"),
    ],
)
def test_not_an_article(page: str, url: str, reason: str) -> None:
    """Index, video, gallery, error and too-short pages raise NotAnArticle with their reason."""
    with pytest.raises(NotAnArticle) as caught:
        run(load(page), url)
    assert caught.value.reason == reason
    assert caught.value.detail


def test_teaser_stream_without_markup_is_an_index() -> None:
    """A page whose text is mostly link headlines is an index page even without listing markup."""
    teasers = "".join(
        f'<p><a href="/n/{i}">Harbour board publishes its plan number {i} for the quay</a></p>' for i in range(20)
    )
    with pytest.raises(NotAnArticle) as caught:
        run(f"<!DOCTYPE html><html><body><div>{teasers}</div></body></html>", "https://courier.example/latest")
    assert caught.value.reason == "index-page"


def test_short_article_with_site_navigation_is_kept() -> None:
    """A short article on a site whose JSON-LD only describes the WebSite, with a big menu, is not an index."""
    menu = "".join(f'<li><a href="/s/{i}">All the latest news from section number {i}</a></li>' for i in range(30))
    head = '<script type="application/ld+json">{"@type": "WebSite", "name": "The Courier"}</script>'
    html = (
        f"<!DOCTYPE html><html><head><title>Library lends more books</title>{head}</head><body>"
        f"<nav><ul>{menu}</ul></nav><article><h1>Library lends more books</h1>{PARAGRAPHS}</article></body></html>"
    )
    assert run(html).text.startswith("The volunteers kept the reading room open")


def test_short_story_with_many_related_links_is_kept() -> None:
    """A brief dated as an article, followed by more link headlines than text, is not an index page."""
    related = "".join(
        f'<p><a href="/n/{i}">Harbour board publishes its plan number {i} for the quay</a></p>' for i in range(12)
    )
    head = '<meta property="article:published_time" content="2024-03-14T08:30:00Z">'
    article = run(simple_page(head, PARAGRAPHS + related))
    assert article.text.startswith("The volunteers kept the reading room open")


@pytest.mark.parametrize("html", ["", "   ", "<!DOCTYPE html><html><body><div id='app'></div></body></html>"])
def test_no_text(html: str) -> None:
    """Empty documents and pages without any text raise NotAnArticle."""
    with pytest.raises(NotAnArticle) as caught:
        run(html)
    assert caught.value.reason == "no-text"


def test_min_text_length_setting() -> None:
    """A short page passes when settings.min_text_length allows it."""
    article = run(load("short_page.html"), settings=ExtractionSettings(min_text_length=20))
    assert article.text == "Quay Street is closed to traffic until Friday for gas works."


def test_article_with_video_and_gallery_is_kept() -> None:
    """An article that embeds a video object and many images is still an article."""
    video = (
        '<script type="application/ld+json">{"@type": "VideoObject", "name": "Clip", '
        '"uploadDate": "2024-03-14T10:00:00Z"}</script>'
    )
    html = load("en_article.html").decode("utf-8").replace("</head>", video + "</head>")
    html = html.replace("<footer", '<div class="strip">' + '<img src="/i.jpg" alt="">' * 12 + "</div><footer")
    article = run(html, "https://courier.example/gallery/2024/03/14/riverside-bicycle-bridge")
    assert article.text.startswith("The long-promised bicycle bridge")


def test_paywalled_article() -> None:
    """isAccessibleForFree false marks the article paywalled, and its short teaser is not rejected."""
    article = run(load("paywalled.html"), "https://courier.example/news/harbour")
    assert article.access == "paywalled"
    assert article.text.startswith("Minutes seen by the Courier")


def test_content_tier_locked_is_paywalled() -> None:
    """article:content_tier "locked" marks the article paywalled."""
    article = run(simple_page('<meta property="article:content_tier" content="locked">'))
    assert article.access == "paywalled"


def test_paywall_marker_with_short_text() -> None:
    """A paywall element next to a short text marks it paywalled; a long free text is not."""
    marker = '<div class="paywall-prompt">Subscribe to continue reading</div>'
    assert run(simple_page(body=PARAGRAPHS + marker)).access == "paywalled"
    assert run(simple_page(body=PARAGRAPHS * 7 + marker)).access == "free"


# --------------------------------------------------------------------------------------------
# decoding


FRENCH_PAGE = (
    '<!DOCTYPE html><html lang="fr"><head><meta charset="{charset}"><title>Marché</title></head><body><article>'
    + "<p>Le marché couvert a rouvert ses portes : fromages, légumes, crêpes et pâtés étaient à l'honneur.</p>"
    "<p>Les producteurs ont retrouvé leurs étals sous une charpente restaurée, plus claire qu'avant.</p>"
    "<p>Dès huit heures, les allées étaient pleines et les cafés du bourg ne désemplissaient pas.</p>"
    + "</article></body></html>"
)


def test_windows_1252_page_declared_utf8() -> None:
    """A windows-1252 page whose meta tag says UTF-8 still decodes to the right accents."""
    data = FRENCH_PAGE.format(charset="utf-8").encode("cp1252")
    article = run(data)
    assert "légumes, crêpes et pâtés étaient à l'honneur" in article.text


def test_windows_1252_page_without_declaration() -> None:
    """An undeclared windows-1252 page decodes to the right accents."""
    data = FRENCH_PAGE.replace('<meta charset="{charset}">', "").encode("cp1252")
    assert "crêpes et pâtés" in decode_html(data)


@pytest.mark.parametrize(
    ("charset", "codec"), [("iso-8859-1", "latin-1"), ("windows-1252", "cp1252"), ("utf-8", "utf-8")]
)
def test_declared_charsets(charset: str, codec: str) -> None:
    """A page is decoded with the charset its meta tag declares."""
    data = FRENCH_PAGE.format(charset=charset).encode(codec)
    assert "crêpes et pâtés" in decode_html(data)


CYRILLIC = "Городской совет объявил про новый мост."


def test_utf8_page_mislabelled_latin1() -> None:
    """A UTF-8 page whose meta tag says iso-8859-1 decodes as UTF-8, without mojibake."""
    text = decode_html(FRENCH_PAGE.format(charset="iso-8859-1").encode("utf-8"))
    assert "crêpes et pâtés" in text
    assert "Ã" not in text


def test_cyrillic_declared_charset() -> None:
    """A windows-1251 page declared as such decodes to Cyrillic."""
    html = f'<html><head><meta charset="windows-1251"></head><body><p>{CYRILLIC}</p></body></html>'
    assert CYRILLIC in decode_html(html.encode("cp1251"))


def test_cyrillic_page_declared_utf8() -> None:
    """A windows-1251 page whose meta tag says UTF-8 is decoded as Cyrillic, not as windows-1252."""
    html = f'<html><head><meta charset="utf-8"></head><body><p>{CYRILLIC * 5}</p></body></html>'
    assert CYRILLIC in decode_html(html.encode("cp1251"))


def test_byte_order_mark_wins() -> None:
    """A UTF-16 byte-order mark decides the encoding, whatever the meta tag says."""
    data = "\ufeff".encode("utf-16-le") + FRENCH_PAGE.format(charset="iso-8859-1").encode("utf-16-le")
    assert "crêpes et pâtés" in decode_html(data)


def test_mostly_utf8_with_stray_bytes() -> None:
    """A UTF-8 page with one windows-1252 byte keeps its UTF-8 text and reads the stray byte as cp1252."""
    data = FRENCH_PAGE.format(charset="utf-8").encode("utf-8") + "<p>prix : 5 €</p>".encode("cp1252")
    text = decode_html(data)
    assert "crêpes et pâtés" in text
    assert "5 €" in text


def test_short_windows_1252_page_with_curly_quotes_is_not_read_as_a_baltic_code_page() -> None:
    """A short undeclared windows-1252 page with typographic punctuation decodes as windows-1252."""
    from newsmon.crawler.extraction import decode_html

    page = "<html><body><p>La crème du café naïf \u2019était\u2019 servie \u2014 très chaude.</p></body></html>"
    assert decode_html(page.encode("cp1252")) == page


def test_visible_byline_when_markup_names_no_author() -> None:
    """Without author markup, the names in the visible byline are the authors."""
    body = f'<p class="story-byline">By Mara Quillon and Tobias Renk</p><div>{PARAGRAPHS}</div>'
    assert run(simple_page(body=body)).authors == ("Mara Quillon", "Tobias Renk")


def test_visible_byline_beats_a_publisher_named_as_author() -> None:
    """A JSON-LD author equal to the publisher gives way to the person named in the byline."""
    node = {
        "@type": "NewsArticle",
        "headline": "Bridge opens",
        "author": {"@type": "Organization", "name": "The Courier"},
        "publisher": {"@type": "Organization", "name": "The Courier"},
    }
    head = f'<script type="application/ld+json">{json.dumps(node)}</script>'
    body = f'<span class="author-name">Mara Quillon</span><div>{PARAGRAPHS}</div>'
    assert run(simple_page(head=head, body=body)).authors == ("Mara Quillon",)


def test_publisher_author_kept_without_a_visible_byline() -> None:
    """A publisher named as author stays when the page shows no byline."""
    node = {"@type": "NewsArticle", "headline": "Bridge opens", "author": {"@type": "Organization", "name": "Courier"}}
    head = (
        f'<script type="application/ld+json">{json.dumps(node)}</script>'
        '<meta property="og:site_name" content="Courier">'
    )
    assert run(simple_page(head=head)).authors == ("Courier",)


def test_naive_jsonld_time_takes_the_meta_offset_end_to_end() -> None:
    """A page whose JSON-LD time is naive and whose OpenGraph time has an offset publishes the true instant."""
    node = {"@type": "NewsArticle", "headline": "Bridge opens", "datePublished": "2024-03-14T09:30:00"}
    head = (
        f'<script type="application/ld+json">{json.dumps(node)}</script>'
        '<meta property="article:published_time" content="2024-03-14T09:30:00+01:00">'
    )
    article = run(simple_page(head=head))
    assert (article.published, article.published_from) == (datetime(2024, 3, 14, 8, 30, tzinfo=UTC), "jsonld")


def test_source_timezone_localizes_a_naive_time_end_to_end() -> None:
    """The source's timezone setting localizes a naive page time when nothing on the page shows an offset."""
    node = {"@type": "NewsArticle", "headline": "Bridge opens", "datePublished": "2024-03-14T09:30:00"}
    head = f'<script type="application/ld+json">{json.dumps(node)}</script>'
    article = extract(simple_page(head=head), EN_URL, now=NOW, timezone="America/New_York")
    assert article.published == datetime(2024, 3, 14, 13, 30, tzinfo=UTC)


def _two_modes(monkeypatch: pytest.MonkeyPatch, fast_xml: str, default_xml: str) -> list[str]:
    """Make trafilatura return ``fast_xml`` in fast mode and ``default_xml`` with its defaults."""
    from lxml import etree

    modes: list[str] = []

    def fake(_tree: object, _url: str, *, comments: bool, mode: str) -> tuple[object, None]:
        modes.append(mode)
        return etree.fromstring(f"<body>{fast_xml if mode == 'fast-recall' else default_xml}</body>"), None

    monkeypatch.setattr("newsmon.crawler.extraction.article.trafilatura_body", fake)
    return modes


def test_too_short_fast_extraction_is_retried_with_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """When fast mode finds too little text (a caption), the library defaults are tried and their text kept."""
    story = "".join(f"<p>{LONG_LINE} {i}.</p>" for i in range(4))
    modes = _two_modes(monkeypatch, "<p>A caption under the photo.</p>", story)
    article = run(simple_page())
    assert modes == ["fast-recall", "defaults"]
    assert article.text.startswith(LONG_LINE)


def test_jsonld_body_twice_as_long_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    """A JSON-LD articleBody more than twice as long as both extractions is the body."""
    body_text = " ".join([LONG_LINE] * 12)
    node = {"@type": "NewsArticle", "headline": "Library", "articleBody": body_text}
    head = f'<script type="application/ld+json">{json.dumps(node)}</script>'
    short = "".join(f"<p>{LONG_LINE} {i}.</p>" for i in range(3))
    _two_modes(monkeypatch, short, short)
    article = run(simple_page(head=head))
    assert (article.body_from, article.text) == ("jsonld", body_text)


def test_fast_extraction_is_kept_when_it_is_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fast extraction of a normal length is not retried."""
    story = "".join(f"<p>{LONG_LINE} {i}.</p>" for i in range(4))
    modes = _two_modes(monkeypatch, story, "<p>never asked</p>")
    run(simple_page())
    assert modes == ["fast-recall"]


LONG_LINE = "The volunteers kept the reading room open through the winter and lent more books than before"
