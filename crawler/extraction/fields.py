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
    """Names from the authors selector, else the first source that names any, else the entry."""
    if selectors and selectors.authors:
        selected = dedupe([n for e in select(tree, selectors.authors) for n in split_authors(e.text_content())])
        if selected:
            return selected
    found = next((names for names, _ in meta.authors if names), ())
    if not found and entry is not None:
        return entry.authors
    return found


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
