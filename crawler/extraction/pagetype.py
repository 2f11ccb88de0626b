"""Page classification: is this an article at all, and is it behind a paywall?

Each rejection rule needs two kinds of evidence, a signal of the page type (markup, title, URL)
and a body that does not look like an article (little prose, mostly links): article pages
routinely embed a video, a gallery or link lists, and must pass. On the 181 article pages of the
ScrapingHub benchmark, none of these rules fires (``bench/extraction.py`` counts rejections).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml import etree
from lxml.etree import _Element

from newsmon.crawler.extraction.body import PageIndex, block_text, key, words
from newsmon.crawler.extraction.metadata import PageMetadata

ERROR_PAGE_MAX_CHARS = 2000
VIDEO_MAX_CHARS = 1000
GALLERY_MAX_CHARS = 1500
GALLERY_ARTICLE_MAX_CHARS = 500  # when the markup declares an article, captions only
GALLERY_MIN_IMAGES = 6
INDEX_MAX_PROSE_CHARS = 1000  # prose = paragraphs of 150+ characters that are not a link
INDEX_TEASER_SHARE = 0.5  # share of the extracted text made of link-only blocks
INDEX_MIN_HEADLINE_LINKS = 20  # links of 4+ words on a page declared as a listing
PAYWALL_MAX_CHARS = 2500  # a paywall marker only counts when the text is this short

_ERROR_TITLE = re.compile(
    r"""\b(?:404|410)\b.{0,40}\b(?:not\ found|error|erreur|introuvable|fehler|gone)\b|
    \b(?:error|erreur|fehler|errore)\s*404\b|
    \b(?:page|seite|página|pagina|article)\b.{0,30}\b(?:not\ found|cannot\ be\ found|could\ not\ be\ found|
    does\ not\ exist|doesn['\u2019]t\ exist|no\ longer\ exists|introuvable|n['\u2019]existe\ pas|nicht\ gefunden|
    no\ encontrada|não\ encontrada|non\ trovata|niet\ gevonden)|
    ^\W*(?:not\ found|page\ not\ found|page\ introuvable|oops!?)\W*$""",
    re.IGNORECASE | re.VERBOSE,
)
_GALLERY_PATH = re.compile(
    r"/(?:galler(?:y|ies)|photos?|fotos?|diaporamas?|slideshows?|galeries?|bildergalerie|fotogalerie|"
    r"in-pictures|photo-gallery|picture-gallery)(?:/|-|$)",
    re.IGNORECASE,
)
# WebSite is not one of them: SEO plugins describe the site with it on every page, articles included.
_LISTING_TYPES = frozenset(("collectionpage", "itemlist", "searchresultspage", "profilepage"))
_GALLERY_TYPES = frozenset(("imagegallery", "mediagallery"))
_PAYWALL_MARKER = re.compile(
    r"paywall|piano-(?:inline|offer|container)|subscriber-only|subscribers-only|premium-(?:content|article)|"
    r"regwall|meter-?wall|article-locked|content-locked|tp-modal",
    re.IGNORECASE,
)
_CLASSES_AND_IDS = etree.XPath("//@class | //@id", smart_strings=False)


@dataclass(frozen=True, slots=True)
class BodyStats:
    """Measures of trafilatura's body before cleanup (cleanup removes the teasers it counts)."""

    chars: int = 0
    teaser_chars: int = 0  # in blocks whose whole text is one link of two or more words
    prose_chars: int = 0  # in paragraphs of 150+ characters that are not links


def body_stats(body: _Element | None, page: PageIndex) -> BodyStats:
    """Count link-headline and prose characters in trafilatura's raw body."""
    if body is None:
        return BodyStats()
    anchors = page.anchors
    chars = teaser = prose = 0
    for block in body.iter("p", "head", "item"):
        text = block_text(block)
        if not text:
            continue
        chars += len(text)
        if len(words(text)) >= 2 and key(text) in anchors:
            teaser += len(text)
        elif block.tag == "p" and len(text) >= 150:
            prose += len(text)
    return BodyStats(chars, teaser, prose)


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a page is not an article: a short ``reason`` code and a human ``detail``."""

    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class _Evidence:
    meta: PageMetadata
    page: PageIndex
    stats: BodyStats
    text: str
    url: str
    min_text_length: int


def classify(
    meta: PageMetadata, page: PageIndex, stats: BodyStats, text: str, *, url: str, min_text_length: int
) -> Rejection | None:
    """The reason this page is not an article, or None when it is one.

    The checks run from the most specific reason to the most generic one.
    """
    evidence = _Evidence(meta, page, stats, text, url, min_text_length)
    for check in (_error_page, _video, _gallery, _index_page, _no_text, _too_short):
        rejection = check(evidence)
        if rejection is not None:
            return rejection
    return None


def _error_page(e: _Evidence) -> Rejection | None:
    if len(e.text) >= ERROR_PAGE_MAX_CHARS:
        return None
    for title, source in e.meta.titles:
        if source in ("html", "opengraph") and _ERROR_TITLE.search(title):
            return Rejection("error-page", f"title {title[:80]!r}")
    return None


def _video(e: _Evidence) -> Rejection | None:
    declared = (e.meta.og_type or "").startswith("video") or (
        "videoobject" in e.meta.jsonld_types and not e.meta.has_article_node
    )
    if declared and len(e.text) < VIDEO_MAX_CHARS:
        return Rejection("video", f"video page with {len(e.text)} characters of text")
    return None


def _gallery(e: _Evidence) -> Rejection | None:
    limit = GALLERY_ARTICLE_MAX_CHARS if e.meta.has_article_node else GALLERY_MAX_CHARS
    if len(e.text) < limit and _is_gallery(e.meta, e.page, e.url):
        return Rejection("gallery", f"gallery with {len(e.text)} characters of text")
    return None


def _index_page(e: _Evidence) -> Rejection | None:
    listing = _listing_evidence(e.meta, e.page, e.stats, e.url)
    return Rejection("index-page", listing) if listing else None


def _no_text(e: _Evidence) -> Rejection | None:
    return None if e.text.strip() else Rejection("no-text", "no article text found")


def _too_short(e: _Evidence) -> Rejection | None:
    if len(e.text) >= e.min_text_length or (e.meta.accessible_for_free is False and e.meta.has_article_node):
        return None  # a paywalled article's teaser is short by design
    return Rejection("too-short", f"{len(e.text)} characters, fewer than {e.min_text_length}")


def _is_gallery(meta: PageMetadata, page: PageIndex, url: str) -> bool:
    declared = (bool(_GALLERY_TYPES & meta.jsonld_types) and not meta.has_article_node) or (
        meta.og_type in ("gallery", "photo", "image")
    )
    if not declared and not _GALLERY_PATH.search(urlsplit(url).path):
        return False
    images = sum(1 for _ in page.tree.iter("img"))
    return images >= GALLERY_MIN_IMAGES


def _listing_evidence(meta: PageMetadata, page: PageIndex, stats: BodyStats, url: str) -> str | None:
    """Why the page looks like a section or index page, or None.

    Markup that declares an article (a JSON-LD article node, an article publication date) vetoes
    both rules: a short story followed by a long list of related links is still a story.
    """
    if meta.has_article_node or _has_article_date(meta) or stats.prose_chars >= INDEX_MAX_PROSE_CHARS:
        return None
    total = max(stats.chars, 1)
    if stats.teaser_chars >= INDEX_TEASER_SHARE * total:
        return f"{stats.teaser_chars} of {total} characters are link headlines"
    declared_listing = bool(_LISTING_TYPES & meta.jsonld_types) or meta.og_type == "website"
    home = urlsplit(url).path in ("", "/")
    if declared_listing or home:
        headline_links = sum(1 for a in page.tree.iter("a") if len(words(a.text_content())) >= 4)
        if headline_links >= INDEX_MIN_HEADLINE_LINKS:
            return f"listing page with {headline_links} headline links and {stats.prose_chars} characters of prose"
    return None


def _has_article_date(meta: PageMetadata) -> bool:
    return any(c.source in ("jsonld", "opengraph") for c in meta.published)


def access(meta: PageMetadata, page: PageIndex, text: str) -> str:
    """``"paywalled"`` when the markup says so or a paywall marker sits next to a short text."""
    if meta.accessible_for_free is False or meta.content_tier in ("locked", "premium"):
        return "paywalled"
    if len(text) < PAYWALL_MAX_CHARS and _PAYWALL_MARKER.search(" ".join(_CLASSES_AND_IDS(page.tree))):
        return "paywalled"
    return "free"
