"""Article extraction: :func:`extract` turns a fetched page into an :class:`Article`.

The page is decoded and parsed once (:mod:`~newsmon.crawler.extraction.decoding`); the lxml tree
feeds the metadata readers (:mod:`~newsmon.crawler.extraction.metadata`), trafilatura's body
extraction (:mod:`~newsmon.crawler.extraction.adapter`), and the cleanup rules
(:mod:`~newsmon.crawler.extraction.body`). Metadata is merged from, in order of precedence:
per-source selectors, JSON-LD, OpenGraph, other meta tags, microdata and ``<time>``, the feed
entry, the URL, and trafilatura's date finder (htmldate) as a last resort
(:mod:`~newsmon.crawler.extraction.fields`, :mod:`~newsmon.crawler.extraction.dates`). Every value
records where it came from when that matters to users (``published_from``, ``body_from``). Dates
are aware UTC; a time without an offset borrows one from the page or the source's time zone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml.html import HtmlElement

from newsmon.crawler.dates import to_utc
from newsmon.crawler.extraction import fields
from newsmon.crawler.extraction.adapter import DEFAULTS, FAST_RECALL, body_text, trafilatura_body
from newsmon.crawler.extraction.body import PageIndex, clean_body, keep_embedded_posts
from newsmon.crawler.extraction.dates import page_dates
from newsmon.crawler.extraction.decoding import parse_html
from newsmon.crawler.extraction.jsonld import dedupe
from newsmon.crawler.extraction.language import resolve_language
from newsmon.crawler.extraction.metadata import PageMetadata, read_metadata
from newsmon.crawler.extraction.pagetype import BodyStats, access, body_stats, classify
from newsmon.crawler.extraction.selectors import select, selected_text
from newsmon.crawler.items import Entry
from newsmon.settings.model import ExtractionSettings, SelectorOverrides

logger = logging.getLogger(__name__)

MAX_TAGS = 50
JSONLD_BODY_RATIO = 2.0  # a JSON-LD articleBody this many times longer than the extracted text wins
_DEFAULT_SETTINGS = ExtractionSettings()


@dataclass(frozen=True, slots=True)
class Article:
    """One extracted article. Dates are timezone-aware UTC; ``*_from`` name the winning source."""

    title: str | None
    text: str
    language: str | None  # two-letter code
    published: datetime | None
    published_from: str | None  # selector, jsonld, opengraph, meta, microdata, time, feed, url, htmldate
    modified: datetime | None
    authors: tuple[str, ...]
    description: str | None
    image: str | None
    tags: tuple[str, ...]
    sitename: str | None
    canonical_url: str | None  # rel=canonical or og:url, absolute
    access: str  # "free" | "paywalled"
    body_from: str  # "trafilatura", "jsonld" or "selector"


class NotAnArticle(ValueError):
    """The page is not an article.

    ``reason`` is one of ``too-short``, ``index-page``, ``video``, ``gallery``, ``error-page``,
    ``no-text``; ``detail`` says what was measured.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def extract(
    html: bytes | str,
    url: str,
    entry: Entry | None = None,
    *,
    language_hint: str | None = None,
    timezone: str | None = None,
    selectors: SelectorOverrides | None = None,
    settings: ExtractionSettings = _DEFAULT_SETTINGS,
    now: datetime | None = None,
) -> Article:
    """Extract the article of a page.

    Args:
        html: the response body (bytes are decoded, see
            :func:`~newsmon.crawler.extraction.decoding.decode_html`) or decoded text.
        url: the page URL, used for relative links and the URL date.
        entry: the feed or sitemap item that led to the page; fills gaps in the markup.
        language_hint: the source's configured language, the weakest declaration.
        timezone: the source's IANA time zone, for times of day the page gives without an offset
            (when no other date on the page shows the offset).
        selectors: per-source overrides, used in preference to generic extraction when they match.
        settings: extraction settings (comments, minimum text length).
        now: the reference time for rejecting future dates (default: the current time).

    Raises:
        NotAnArticle: the page is an index, video, gallery or error page, or has too little text.
    """
    now = to_utc(now) if now is not None else datetime.now(UTC)
    tree = parse_html(html)
    if tree is None:
        raise NotAnArticle("no-text", "the document is not HTML")
    meta = read_metadata(tree, url)
    page = PageIndex(
        tree,
        titles=tuple(t for t, _ in meta.titles) + ((entry.title,) if entry and entry.title else ()),
        descriptions=tuple(d for d, _ in meta.descriptions),
    )
    text, body_from, stats = _body(tree, url, meta, page, selectors=selectors, settings=settings)
    rejection = classify(meta, page, stats, text, url=url, min_text_length=settings.min_text_length)
    if rejection is not None:
        raise NotAnArticle(rejection.reason, rejection.detail)

    selected_title = fields.selected_title(tree, selectors)
    published, modified = page_dates(
        tree, meta, entry, selectors=selectors, url=url, now=now, timezone=timezone
    )
    return Article(
        title=fields.title(meta, entry, selected_title, url),
        text=text,
        language=resolve_language(fields.declared_languages(meta, entry, language_hint), text),
        published=published.value if published else None,
        published_from=published.source if published else None,
        modified=modified.value if modified else None,
        authors=fields.authors(tree, meta, entry, selectors),
        description=fields.description(meta, entry),
        image=fields.image(meta, entry, url),
        tags=dedupe(meta.tags + list(entry.tags if entry else ()))[:MAX_TAGS],
        sitename=next((s.lstrip("@") for s in meta.sitenames if s.lstrip("@")), None),
        canonical_url=meta.canonical_url,
        access=access(meta, page, text),
        body_from=body_from,
    )


def _body(
    tree: HtmlElement,
    url: str,
    meta: PageMetadata,
    page: PageIndex,
    *,
    selectors: SelectorOverrides | None,
    settings: ExtractionSettings,
) -> tuple[str, str, BodyStats]:
    """The article text, where it came from, and trafilatura's raw body measures."""
    if selectors and selectors.body:
        selected = select(tree, selectors.body)
        text = selected_text(selected) if selected else ""
        if text:
            return text, "selector", BodyStats()
    keep_embedded_posts(tree)
    text, stats = _trafilatura_text(tree, url, page, settings, FAST_RECALL)
    jsonld_body = meta.article_body or ""
    if _failed(text, jsonld_body, settings):
        # fast mode can pick a caption or a fragment as the container: the library defaults
        # compare it with readability/jusText; keep whichever run found more text
        retry, retry_stats = _trafilatura_text(tree, url, page, settings, DEFAULTS)
        if len(retry) > len(text):
            text, stats = retry, retry_stats
    if len(jsonld_body) > len(text) and (
        len(text) < settings.min_text_length or len(jsonld_body) > JSONLD_BODY_RATIO * len(text)
    ):
        # trafilatura failed, or found far less than the JSON-LD articleBody (a script-rendered page)
        return jsonld_body, "jsonld", stats
    return text, "trafilatura", stats


def _failed(text: str, jsonld_body: str, settings: ExtractionSettings) -> bool:
    """Whether a trafilatura run looks failed: too short, or far shorter than the JSON-LD body."""
    return len(text) < settings.min_text_length or len(jsonld_body) > JSONLD_BODY_RATIO * len(text)


def _trafilatura_text(
    tree: HtmlElement, url: str, page: PageIndex, settings: ExtractionSettings, mode: str
) -> tuple[str, BodyStats]:
    """One trafilatura run in ``mode``, cleaned up, with comments when the settings ask for them."""
    body, comments = trafilatura_body(tree, url, comments=settings.comments, mode=mode)
    stats = body_stats(body, page)
    text = ""
    if body is not None:
        clean_body(body, page)
        text = body_text(body)
    if text and comments is not None and len(comments):
        text = f"{text}\n{body_text(comments)}".strip()
    return text, stats
