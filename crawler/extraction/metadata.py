"""Structured metadata readers: JSON-LD, OpenGraph and other meta tags, microdata, ``<time>``.

Everything here reads an lxml tree that :mod:`newsmon.crawler.extraction.decoding` parsed once; nothing here
imports trafilatura (the JSON-LD reader lives in :mod:`newsmon.crawler.extraction.jsonld`).
:func:`read_metadata` returns every candidate it found, each with its source, in the order of
precedence of the sources; :mod:`newsmon.crawler.extraction.article` merges them with the feed entry and the
extracted text.

Sources, highest first: ``jsonld`` (the page's ``Article``-like node), ``opengraph``
(``og:*`` and ``article:*``), ``meta`` (Dublin Core, Parse.ly, Sailthru, ``pubdate``...),
``microdata`` (``itemprop``), ``time`` (``<time datetime>`` of the article), ``html`` (``<h1>``,
``<title>``, ``<html lang>``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml.html import HtmlElement

from newsmon.crawler.extraction.dates import DateCandidate
from newsmon.crawler.extraction.jsonld import add_date, dedupe, keywords, language_code, read_jsonld, split_authors

logger = logging.getLogger(__name__)


def _keys(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Meta tag names (lower case), in order of trust within each source.
_OG_PUBLISHED = _keys("article:published_time og:article:published_time og:published_time article:published")
_OG_MODIFIED = _keys("article:modified_time og:article:modified_time og:updated_time article:modified")
_META_PUBLISHED = _keys(
    """datepublished parsely-pub-date sailthru.date dc.date.issued dcterms.issued dc.date dcterms.date
    dcterms.created dc.date.created pubdate publishdate publish-date publish_date publication_date pub_date
    published_at published date_published article.published article.created datecreated
    originalpublicationdate citation_publication_date citation_date cxenseparse:recs:publishtime
    article_date_original bt:pubdate analyticsattributes.articledate date og:pubdate"""
)
_META_MODIFIED = _keys(
    """datemodified dcterms.modified dc.date.modified article.updated updated-date last-modified lastmod
    datelastpubbed parsely-updated sailthru.lastmodified"""
)
_META_AUTHORS = _keys(
    "author article:author parsely-author sailthru.author dc.creator dcterms.creator byl citation_author "
    "twitter:creator"
)
_META_TAGS = _keys("article:tag news_keywords parsely-tags sailthru.tags keywords")
_META_LANGUAGE = _keys("content-language dc.language language og:locale")
_PUBLISHED_CLASS = re.compile(r"publish|pubdate|post-date|entry-date|article-date|dateline|timestamp", re.I)


@dataclass(slots=True)
class PageMetadata:
    """Every candidate value found in the markup, each list in order of source precedence.

    Text candidates are ``(value, source)`` pairs; dates are :class:`DateCandidate`.
    """

    titles: list[tuple[str, str]] = field(default_factory=list)
    descriptions: list[tuple[str, str]] = field(default_factory=list)
    images: list[tuple[str, str]] = field(default_factory=list)
    authors: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    sitenames: list[str] = field(default_factory=list)
    canonical_url: str | None = None
    languages: list[tuple[str, str]] = field(default_factory=list)
    published: list[DateCandidate] = field(default_factory=list)
    modified: list[DateCandidate] = field(default_factory=list)
    article_body: str | None = None
    accessible_for_free: bool | None = None
    content_tier: str | None = None
    jsonld_types: frozenset[str] = frozenset()  # every @type in the page's JSON-LD, lower case
    has_article_node: bool = False
    og_type: str | None = None


def read_metadata(tree: HtmlElement, url: str) -> PageMetadata:
    """Read every structured metadata source of a parsed page."""
    meta = PageMetadata()
    tags = _meta_tags(tree)
    read_jsonld(tree, url, meta)
    _read_meta_tags(tags, url, meta)
    _read_microdata_and_time(tree, meta)
    _read_html(tree, url, meta)
    return meta


# --------------------------------------------------------------------------------------------
# meta tags


def _meta_tags(tree: HtmlElement) -> dict[str, list[str]]:
    """``<meta>`` contents by lower-case ``property``, ``name``, ``itemprop`` or ``http-equiv``."""
    found: dict[str, list[str]] = {}
    for element in tree.iter("meta"):
        content = element.get("content")
        if content is None or not content.strip():
            continue
        for attribute in ("property", "name", "itemprop", "http-equiv"):
            key = element.get(attribute)
            if key:
                found.setdefault(key.strip().lower(), []).append(content.strip())
    return found


def _first(tags: dict[str, list[str]], *keys: str) -> str | None:
    for key in keys:
        for value in tags.get(key, ()):
            text = " ".join(value.split())
            if text:
                return text
    return None


# (field, source, keys): the first non-empty key of each row gives one candidate
_TEXT_TAGS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("titles", "opengraph", ("og:title",)),
    ("titles", "meta", ("twitter:title", "dc.title", "title")),
    ("descriptions", "opengraph", ("og:description",)),
    ("descriptions", "meta", ("description", "twitter:description", "dc.description")),
    ("images", "opengraph", ("og:image", "og:image:url", "og:image:secure_url")),
    ("images", "meta", ("twitter:image", "twitter:image:src", "thumbnail")),
)
# (field, source, keys): every value of every key is a date candidate
_DATE_TAGS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("published", "opengraph", _OG_PUBLISHED),
    ("modified", "opengraph", _OG_MODIFIED),
    ("published", "meta", _META_PUBLISHED),
    ("modified", "meta", _META_MODIFIED),
)


def _read_meta_tags(tags: dict[str, list[str]], url: str, meta: PageMetadata) -> None:
    for name, source, keys in _TEXT_TAGS:
        value = _first(tags, *keys)
        if value and name == "images":
            if not value.startswith("data:"):
                meta.images.append((urljoin(url, value), source))
        elif value:
            getattr(meta, name).append((value, source))
    for name, source, keys in _DATE_TAGS:
        for key in keys:
            for value in tags.get(key, ()):
                add_date(getattr(meta, name), value, source)
    for key in _META_AUTHORS:
        names = [n for value in tags.get(key, ()) for n in split_authors(value)]
        if names:
            meta.authors.append((dedupe(names), "opengraph" if key.startswith("article:") else "meta"))
    meta.tags.extend(k for key in _META_TAGS for value in tags.get(key, ()) for k in keywords(value))
    meta.sitenames.extend(
        n for key in ("og:site_name", "application-name", "publisher", "dc.publisher") if (n := _first(tags, key))
    )
    for key in _META_LANGUAGE:
        language = language_code(_first(tags, key))
        if language:
            meta.languages.append((language, "opengraph" if key.startswith("og:") else "meta"))
    meta.og_type = (_first(tags, "og:type") or "").lower() or None
    meta.content_tier = (_first(tags, "article:content_tier") or "").lower() or None
    og_url = _first(tags, "og:url")
    if og_url and meta.canonical_url is None:
        meta.canonical_url = _absolute(og_url, url)


# --------------------------------------------------------------------------------------------
# microdata, <time>, <h1>, <title>, <link rel=canonical>, <html lang>


_MICRODATA_DATES = etree.XPath('//*[@itemprop="datePublished" or @itemprop="dateModified"][not(self::meta)]')
_TIMES = etree.XPath("//time[@datetime]")


def _read_microdata_and_time(tree: HtmlElement, meta: PageMetadata) -> None:
    for element in _MICRODATA_DATES(tree):
        value = element.get("datetime") or element.get("content") or element.text_content()
        target = meta.published if element.get("itemprop") == "datePublished" else meta.modified
        add_date(target, value, "microdata")
    times = _TIMES(tree)
    if not times:
        return
    marked = (
        t
        for t in times
        if t.get("pubdate") is not None
        or _PUBLISHED_CLASS.search(f"{t.get('class', '')} {t.get('id', '')}")
        or any(_PUBLISHED_CLASS.search(a.get("class", "")) for a in _ancestors(t, 3))
    )
    in_article = (t for t in times if any(a.tag in ("article", "main") for a in t.iterancestors()))
    chosen = next(marked, None)
    if chosen is None:
        chosen = next(in_article, None)
    if chosen is None and len(times) == 1:
        chosen = times[0]
    if chosen is not None:
        add_date(meta.published, chosen.get("datetime"), "time")


def _ancestors(element: HtmlElement, levels: int) -> Iterator[HtmlElement]:
    for count, ancestor in enumerate(element.iterancestors()):
        if count >= levels:
            return
        yield ancestor


def _read_html(tree: HtmlElement, url: str, meta: PageMetadata) -> None:
    headings = [" ".join(h.text_content().split()) for h in tree.iter("h1")]
    headings = [h for h in headings if h]
    if headings:
        meta.titles.append((headings[0], "html"))
    title = tree.find(".//title")
    if title is not None and title.text_content().strip():
        meta.titles.append((" ".join(title.text_content().split()), "html"))
    for link in tree.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        if "canonical" in rel and link.get("href"):
            canonical = _absolute(link.get("href", ""), url)
            if canonical:
                meta.canonical_url = canonical
                break
    root = tree.getroottree().getroot()
    language = language_code(root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang"))
    if language:
        meta.languages.insert(_html_lang_position(meta.languages), (language, "html"))


def _html_lang_position(languages: list[tuple[str, str]]) -> int:
    """``<html lang>`` ranks after JSON-LD ``inLanguage`` and before meta tags and ``og:locale``."""
    return sum(1 for _, source in languages if source == "jsonld")


def _absolute(href: str, base: str) -> str | None:
    href = href.strip()
    if not href:
        return None
    absolute = urljoin(base, href)
    return absolute if urlsplit(absolute).scheme in ("http", "https") else None


__all__ = ["PageMetadata", "dedupe", "read_metadata", "split_authors"]
