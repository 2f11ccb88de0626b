"""Field merging: one value per article field from the selectors, the page's metadata and the feed.

The metadata readers (:mod:`newsmon.crawler.extraction.metadata`) return every candidate in
precedence order; a per-source selector beats them all, and the feed or sitemap entry that led to
the page fills the gaps the markup leaves. Dates have their own rules, in
:mod:`newsmon.crawler.extraction.dates`.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml.html import HtmlElement

from newsmon.crawler.extraction.jsonld import dedupe, split_authors
from newsmon.crawler.extraction.metadata import PageMetadata
from newsmon.crawler.extraction.selectors import select, selected_text
from newsmon.crawler.items import Entry
from newsmon.settings.model import SelectorOverrides

_DASHES = "\u2013\u2014"  # en and em dash
_TITLE_SEPARATORS = re.compile(rf"\s+[|{_DASHES}\u00b7\u2022:/-]\s+|\s+[-{_DASHES}|]\s*$")
_TITLE_TRIM = f" |{_DASHES}\u00b7\u2022:/-"
_BYLINE_MAX_CHARS = 120  # longer is an author bio, not a byline
_AUTHOR_MARKED = etree.XPath(
    "//body//*[@rel='author' or @itemprop='author' or @itemprop='name' and ancestor::*[@itemprop='author']]"
)
_AUTHOR_CLASSED = etree.XPath(
    "//body//*[contains(translate(@class, 'BYLINEAUTHOR', 'bylineauthor'), 'byline')"
    " or contains(translate(@class, 'BYLINEAUTHOR', 'bylineauthor'), 'author-name')"
    " or contains(translate(@class, 'BYLINEAUTHOR', 'bylineauthor'), 'author')"
    " and not(contains(translate(@class, 'BIOAVTR', 'bioavtr'), 'bio'))"
    " and not(contains(translate(@class, 'BIOAVTR', 'bioavtr'), 'avatar'))]"
)


def selected_title(tree: HtmlElement, selectors: SelectorOverrides | None) -> str | None:
    """The text of the first element the source's title selector matches, if any."""
    if not selectors or not selectors.title:
        return None
    return next((selected_text([e]) for e in select(tree, selectors.title)), None) or None


def title(meta: PageMetadata, entry: Entry | None, selected: str | None, url: str) -> str | None:
    """The selected title, else the first non-blank title of the page or the entry, site name dropped."""
    if selected:
        return selected
    candidates = [t for t, _ in meta.titles]
    if entry is not None and entry.title:
        candidates.append(entry.title)
    for candidate in candidates:
        if candidate.strip():
            return clean_title(candidate.strip(), meta.sitenames, urlsplit(url).hostname or "")
    return None


def clean_title(title: str, sitenames: list[str], host: str) -> str:
    """Drop a site name that a title carries as a prefix or suffix (``Headline | Site``)."""
    names = {n.casefold() for n in sitenames} | {host.casefold(), host.casefold().removeprefix("www.")}
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) > 1:
        if parts[-1].strip().casefold() in names or parts[-1].strip().casefold().replace(" ", "") in names:
            return title[: title.rfind(parts[-1])].rstrip(_TITLE_TRIM)
        if parts[0].strip().casefold() in names:
            return title[len(parts[0]) :].lstrip(_TITLE_TRIM)
    return title


def description(meta: PageMetadata, entry: Entry | None) -> str | None:
    """The page's description, else the entry's summary as plain text."""
    found = next((d for d, _ in meta.descriptions), None)
    if found is None and entry is not None and entry.summary:
        found = _strip_markup(entry.summary) or None
    return found


def image(meta: PageMetadata, entry: Entry | None, url: str) -> str | None:
    """The page's lead image, else the entry's, absolute."""
    found = next((i for i, _ in meta.images), None)
    if found is None and entry is not None and entry.image:
        found = urljoin(url, entry.image)
    return found


def authors(
    tree: HtmlElement, meta: PageMetadata, entry: Entry | None, selectors: SelectorOverrides | None
) -> tuple[str, ...]:
    """Names from the authors selector, else the first markup source that names a person, else
    the visible byline, else the entry.

    Markup that names only the publisher (a JSON-LD author equal to the site name) gives way to
    a visible byline that names someone, and is kept when there is none.
    """
    if selectors and selectors.authors:
        selected = dedupe([n for e in select(tree, selectors.authors) for n in split_authors(e.text_content())])
        if selected:
            return selected
    publishers = {n.casefold().lstrip("@") for n in meta.sitenames}
    found = next((names for names, _ in meta.authors if names), ())
    if not found or all(n.casefold() in publishers for n in found):
        visible = tuple(n for n in byline_names(tree) if n.casefold() not in publishers)
        if visible:
            return visible
    if not found and entry is not None:
        return entry.authors
    return found


def byline_names(tree: HtmlElement) -> tuple[str, ...]:
    """Names in the page's visible byline: the first short element marked as the author (``rel``,
    ``itemprop``), else the first whose class or id says ``byline`` or ``author``."""
    for query in (_AUTHOR_MARKED, _AUTHOR_CLASSED):
        for element in query(tree):
            text = " ".join(element.text_content().split())
            if 0 < len(text) <= _BYLINE_MAX_CHARS:
                names = dedupe(split_authors(text))
                if names:
                    return names
    return ()


def declared_languages(meta: PageMetadata, entry: Entry | None, hint: str | None) -> list[str]:
    """Declared languages, most trusted first: page markup, then the feed, then the source's hint."""
    declared = [code for code, _ in meta.languages]
    for extra in (entry.language if entry else None, hint):
        if extra:
            declared.append(extra.strip().lower().replace("_", "-").split("-", 1)[0])
    return declared


def _strip_markup(value: str) -> str:
    if "<" not in value:
        return " ".join(value.split())
    try:
        fragment = etree.fromstring(f"<div>{value}</div>", etree.HTMLParser())
    except etree.XMLSyntaxError:
        return " ".join(re.sub(r"<[^>]+>", " ", value).split())
    return " ".join("".join(fragment.itertext()).split()) if fragment is not None else ""
