"""OPML, the feed readers' subscription list: read one into source entries, write the sources as one.

Reading uses lxml with entities, DTDs and the network turned off (an OPML file comes from
elsewhere). Each ``<outline>`` with an ``xmlUrl`` (at any depth: folders are flattened) becomes
one source; its ``htmlUrl`` becomes the source's ``home``. Writing gives one outline per source,
``xmlUrl`` its first feed (or first sitemap, for a source without feeds), with newsmon's name
and language as ``text`` and ``language``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from lxml import etree

from newsmon.settings.model import Source


class OpmlError(ValueError):
    """Not an OPML document; one line."""


@dataclass(frozen=True)
class Outline:
    """One subscription of an OPML file."""

    title: str
    feed: str
    home: str | None = None
    language: str | None = None


def read_opml(data: bytes) -> list[Outline]:
    """The subscriptions of an OPML document, in document order, each feed URL once.

    Raises:
        OpmlError: the document is not XML, or its root is not ``<opml>``.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise OpmlError(f"not XML: {exc}") from None
    if root is None or etree.QName(root).localname.lower() != "opml":
        raise OpmlError("not an OPML document: the root element is not <opml>")
    found: dict[str, Outline] = {}
    for outline in root.iter("{*}outline", "outline"):
        feed = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not feed.startswith(("http://", "https://")) or feed in found:
            continue
        title = (outline.get("title") or outline.get("text") or "").strip()
        home = (outline.get("htmlUrl") or outline.get("htmlurl") or "").strip() or None
        language = (outline.get("language") or "").strip() or None
        found[feed] = Outline(title, feed, home if home and home.startswith(("http://", "https://")) else None,
                              language)
    return list(found.values())


def write_opml(sources: Sequence[Source], title: str = "newsmon sources") -> str:
    """The sources as an OPML 2.0 document (sources with neither feed nor sitemap are left out)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<opml version="2.0">',
             f"  <head><title>{_text(title)}</title></head>", "  <body>"]
    for source in sources:
        url = (source.feeds or source.sitemaps or (None,))[0]
        if url is None:
            continue
        attributes = {"text": source.name, "title": source.name, "type": "rss", "xmlUrl": url}
        if source.home:
            attributes["htmlUrl"] = source.home
        if source.language:
            attributes["language"] = source.language
        lines.append("    <outline " + " ".join(f"{k}={quoteattr(v)}" for k, v in attributes.items()) + "/>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
