"""One RSS ``<item>`` or Atom ``<entry>`` element reduced to a :class:`RawItem`.

Each child element is dispatched on its Clark tag through one dict lookup; the handler tables
list every element (and namespace variant) that means something. Text is kept raw here: HTML is
stripped later, and only for the items that survive the ``max_items`` cut.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from lxml import etree

from newsmon.crawler.discovery.dates import parse_date
from newsmon.crawler.discovery.text import collapse, resolve_url
from newsmon.crawler.discovery.xml import XML_BASE, XML_LANG, local_name, text_of, xml_base

RSS1: Final = "http://purl.org/rss/1.0/"
RSS090: Final = "http://my.netscape.com/rdf/simple/0.9/"
RDF: Final = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
ATOM: Final = "http://www.w3.org/2005/Atom"
ATOM03: Final = "http://purl.org/atom/ns#"
DC: Final = "http://purl.org/dc/elements/1.1/"
DCTERMS: Final = "http://purl.org/dc/terms/"
CONTENT: Final = "http://purl.org/rss/1.0/modules/content/"
FEEDBURNER: Final = "http://rssnamespace.org/feedburner/ext/1.0"
MEDIA: Final = ("http://search.yahoo.com/mrss/", "http://search.yahoo.com/mrss")
# RSS 2.0 has no namespace, but UserLand's draft ones still turn up in the wild.
RSS_NAMESPACES: Final = ("", RSS1, RSS090, "http://backend.userland.com/rss2", "http://backend.userland.com/rss")
ATOM_NAMESPACES: Final = ("", ATOM, ATOM03)

ITUNES: Final = "http://www.itunes.com/dtds/podcast-1.0.dtd"

_RDF_ABOUT = f"{{{RDF}}}about"
_ATOM_MARKUP_TYPES = frozenset({"html", "xhtml", "text/html", "application/xhtml+xml"})
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif")
# Which candidate link wins, best first. "origlink" is FeedBurner's unproxied article URL.
_LINK_PREFERENCE = ("origlink", "link", "alternate_html", "alternate", "permalink", "id")


@dataclass(slots=True)
class RawItem:
    """What one item yields before cleaning: text fields (authors and tags too) are raw markup."""

    url: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    title: str | None = None
    #: Whether the title is HTML (Atom ``type="html"``), plain text (``type="text"``) or unsaid (RSS).
    title_html: bool | None = None
    summary: str | None = None
    content: str | None = None
    authors: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    image: str | None = None
    thumbnail: str | None = None
    language: str | None = None

    def sort_date(self) -> datetime | None:
        """The date the item is ranked by: published, else updated."""
        return self.published or self.updated


@dataclass(slots=True)
class _Reader:
    feed_url: str
    base: str
    now: datetime
    raw: RawItem
    links: dict[str, str] = field(default_factory=dict)
    created: datetime | None = None

    def offer_link(self, kind: str, url: str | None) -> None:
        if url is not None:
            self.links.setdefault(kind, url)

    def base_of(self, element: etree._Element) -> str:
        return self.base if element.get(XML_BASE) is None else xml_base(element, self.feed_url)


_Handler = Callable[[_Reader, etree._Element], None]


def read_item(element: etree._Element, handlers: dict[str, _Handler], feed_url: str, now: datetime) -> RawItem:
    """Read an item or entry with ``RSS_HANDLERS`` or ``ATOM_HANDLERS``."""
    reader = _Reader(feed_url, xml_base(element, feed_url), now, RawItem(language=collapse(element.get(XML_LANG))))
    for child in element:
        handler = handlers.get(child.tag)
        if handler is not None:
            handler(reader, child)
    raw = reader.raw
    raw.url = next((reader.links[kind] for kind in _LINK_PREFERENCE if kind in reader.links), None)
    raw.url = raw.url or absolute_url(element.get(_RDF_ABOUT))
    raw.published = raw.published or reader.created
    return raw


def absolute_url(text: str | None) -> str | None:
    """``text`` if it is already an absolute http(s) URL: ids and guids are not relative links."""
    if text is None or not text.lstrip()[:8].lower().startswith(("http://", "https://")):
        return None
    return resolve_url(text.strip(), text)


def _title(reader: _Reader, element: etree._Element) -> None:
    if reader.raw.title is None:
        reader.raw.title = _text(element)
        reader.raw.title_html = None


def _atom_title(reader: _Reader, element: etree._Element) -> None:
    if reader.raw.title is None:
        reader.raw.title = _text(element)
        # Atom says which: "text" (the default) is plain text, "html" and "xhtml" are markup.
        reader.raw.title_html = (element.get("type") or "text").strip().lower() in _ATOM_MARKUP_TYPES


def _summary(reader: _Reader, element: etree._Element) -> None:
    reader.raw.summary = reader.raw.summary or _text(element)


def _content(reader: _Reader, element: etree._Element) -> None:
    reader.raw.content = reader.raw.content or _text(element)


def _text(element: etree._Element) -> str | None:
    # Atom 0.3 may base64-encode content; never worth decoding for a summary.
    if element.get("mode") == "base64":
        return None
    return text_of(element)


def _link(reader: _Reader, element: etree._Element) -> None:
    # A <link> with markup or an undefined entity inside holds a URL cut short (see sitemaps).
    if not len(element):
        reader.offer_link("link", resolve_url(reader.base, element.text))


def _origlink(reader: _Reader, element: etree._Element) -> None:
    reader.offer_link("origlink", resolve_url(reader.base, element.text))


def _guid(reader: _Reader, element: etree._Element) -> None:
    # RSS 2.0: isPermaLink defaults to true; only an absolute URL can be one.
    if (element.get("isPermaLink") or "true").strip().lower() != "false":
        reader.offer_link("permalink", absolute_url(element.text))


def _id(reader: _Reader, element: etree._Element) -> None:
    reader.offer_link("id", absolute_url(element.text))


def _atom_link(reader: _Reader, element: etree._Element) -> None:
    rel = (element.get("rel") or "alternate").strip().lower()
    href = resolve_url(reader.base_of(element), element.get("href"))
    media_type = (element.get("type") or "").strip().lower()
    if rel == "alternate":
        # Prefer the HTML alternate over, say, an application/pdf one.
        is_html = not media_type or media_type.startswith(_HTML_TYPES)
        reader.offer_link("alternate_html" if is_html else "alternate", href)
    elif rel == "enclosure" and reader.raw.image is None and _is_image(media_type, href):
        reader.raw.image = href


def _date(reader: _Reader, element: etree._Element) -> None:
    # Several elements may carry the publication date; the first readable one wins.
    reader.raw.published = reader.raw.published or parse_date(element.text, reader.now)


def _created(reader: _Reader, element: etree._Element) -> None:
    reader.created = reader.created or parse_date(element.text, reader.now)


def _updated(reader: _Reader, element: etree._Element) -> None:
    reader.raw.updated = reader.raw.updated or parse_date(element.text, reader.now)


def _author(reader: _Reader, element: etree._Element) -> None:
    if element.text:
        reader.raw.authors.append(element.text)


def _atom_author(reader: _Reader, element: etree._Element) -> None:
    name = child_text(element, "name")
    if name:
        reader.raw.authors.append(name)


def _category(reader: _Reader, element: etree._Element) -> None:
    if element.text:
        reader.raw.tags.append(element.text)


def _atom_category(reader: _Reader, element: etree._Element) -> None:
    term = element.get("term") or element.get("label")
    if term:
        reader.raw.tags.append(term)


def _language(reader: _Reader, element: etree._Element) -> None:
    reader.raw.language = collapse(element.text) or reader.raw.language


def _enclosure(reader: _Reader, element: etree._Element) -> None:
    if reader.raw.image is None:
        href = resolve_url(reader.base, element.get("url"))
        if _is_image(element.get("medium") or element.get("type"), href):
            reader.raw.image = href


def _thumbnail(reader: _Reader, element: etree._Element) -> None:
    reader.raw.thumbnail = reader.raw.thumbnail or resolve_url(reader.base, element.get("url"))


def _media_group(reader: _Reader, element: etree._Element) -> None:
    for child in element:
        handler = _MEDIA_HANDLERS.get(child.tag)
        if handler is not None:
            handler(reader, child)


def _is_image(medium: str | None, href: str | None) -> bool:
    if href is None:
        return False
    if medium:
        medium = medium.strip().lower()
        return medium == "image" or medium.startswith("image/")
    return href.lower().split("?", 1)[0].endswith(_IMAGE_EXTENSIONS)


def child_text(parent: etree._Element, name: str) -> str | None:
    """The text of the first child whose local name is ``name``."""
    for child in parent:
        if local_name(child.tag) == name:
            return text_of(child)
    return None


def _clark(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}" if namespace else name


def _table(namespaces: tuple[str, ...], handlers: dict[str, _Handler]) -> dict[str, _Handler]:
    return {_clark(ns, name): handler for ns in namespaces for name, handler in handlers.items()}


_MEDIA_HANDLERS = _table(MEDIA, {"content": _enclosure, "thumbnail": _thumbnail})
_EXTENSION_HANDLERS = {
    _clark(DC, "creator"): _author,
    _clark(DC, "author"): _author,
    _clark(ITUNES, "author"): _author,
    _clark(DCTERMS, "creator"): _author,
    _clark(DC, "subject"): _category,
    _clark(DC, "language"): _language,
    _clark(DC, "date"): _date,
    _clark(DCTERMS, "issued"): _date,
    _clark(DCTERMS, "date"): _date,
    _clark(DCTERMS, "created"): _created,
    _clark(DCTERMS, "modified"): _updated,
    _clark(FEEDBURNER, "origLink"): _origlink,
    **_MEDIA_HANDLERS,
    **_table(MEDIA, {"group": _media_group}),
}
#: Clark tag of an RSS item's child -> handler.
RSS_HANDLERS: Final = {
    **_table(
        RSS_NAMESPACES,
        {
            "title": _title,
            "link": _link,
            "description": _summary,
            "pubDate": _date,
            "author": _author,
            "category": _category,
            "guid": _guid,
            "enclosure": _enclosure,
        },
    ),
    _clark(CONTENT, "encoded"): _content,
    _clark(ATOM, "link"): _atom_link,
    _clark(ATOM, "author"): _atom_author,
    _clark(ATOM, "published"): _date,
    _clark(ATOM, "updated"): _updated,
    **_EXTENSION_HANDLERS,
}
#: Clark tag of an Atom entry's child -> handler (Atom 1.0, 0.3 and namespace-less).
ATOM_HANDLERS: Final = {
    **_table(
        ATOM_NAMESPACES,
        {
            "title": _atom_title,
            "link": _atom_link,
            "summary": _summary,
            "content": _content,
            "published": _date,
            "issued": _date,
            "created": _created,
            "updated": _updated,
            "modified": _updated,
            "author": _atom_author,
            "category": _atom_category,
            "id": _id,
        },
    ),
    **_EXTENSION_HANDLERS,
}
