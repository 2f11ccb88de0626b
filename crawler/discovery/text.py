"""Small helpers every discovery parser shares: text cleaning, link resolution, newest-first caps."""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from html import unescape
from typing import TypeVar
from urllib.parse import urljoin, urlsplit

from newsmon.crawler.urls import unescape_query

#: Longest URL discovery keeps; longer ones are crawl traps or garbage.
MAX_URL_LENGTH = 2048
#: Cleaned summaries are cut (at a word boundary) to this many characters.
MAX_SUMMARY_LENGTH = 2000
#: Cleaned titles are cut to this many characters.
MAX_TITLE_LENGTH = 500
# Markup past this many characters is not read: a summary never needs it, and a hostile
# feed could otherwise make every item cost megabytes of regex work.
_MAX_MARKUP = 64 * 1024

_HTTP_SCHEMES = frozenset({"http", "https"})
# Every unbounded part stops at the next "<" or runs to the end (\Z), so no input makes these
# patterns quadratic: an unclosed <script> or "<a<a<a..." costs one linear scan, not one per "<".
_BLOCK_TAG = re.compile(
    r"<(?:br|p|div|li|ul|ol|h[1-6]|tr|td|th|table|blockquote|section|article|figure|figcaption|hr|img)"
    r"\b[^<>]*>|</(?:p|div|li|h[1-6]|tr|td|th|blockquote|figure|figcaption|section|article)\s*>",
    re.IGNORECASE,
)
_OTHER_MARKUP = re.compile(
    r"<(script|style)\b[^<>]*>.*?(?:</\1\s*>|\Z)|<!--.*?(?:-->|\Z)|<!\[CDATA\[|\]\]>|</?[a-zA-Z][^<>]*>",
    re.IGNORECASE | re.DOTALL,
)
# An absolute http(s) URL with a plain ASCII host and no port is accepted as is: urljoin and
# urlsplit would otherwise dominate the cost of a 100,000-item feed.
_PLAIN_ABSOLUTE_URL = re.compile(
    r"https?://(?:[^/?#\s@]*@)?(?:[A-Za-z0-9._~%!$&'()*+,;=-]+|\[[0-9A-Fa-f:.]+\])(?:[/?#]\S*)?",
    re.IGNORECASE,
)
# Authors written with an e-mail address: "jd@x.org (Jane Doe)", "Jane Doe (jd@x.org)",
# "Jane Doe <jd@x.org>", "mailto:jd@x.org"; group "name" is the display name when there is one.
_EMAIL = r"<?(?:mailto:)?[^\s@()<>]+@[^\s@()<>]+>?"
_AUTHOR_FORMS = (
    re.compile(rf"^{_EMAIL}$", re.IGNORECASE),
    re.compile(rf"^{_EMAIL}\s*\((?P<name>[^()@]+)\)$", re.IGNORECASE),
    re.compile(rf"^(?P<name>[^()<>@]+?)\s*\({_EMAIL}\)$", re.IGNORECASE),
    re.compile(rf"^(?P<name>[^<>@]+?)\s*{_EMAIL}$", re.IGNORECASE),
)
# Windows-1252 text decoded as latin-1 upstream (or stored so) leaves C1 controls where curly
# quotes, dashes and the euro sign were: "don\x92t". No text means a C1 control, so they are
# read as the windows-1252 characters; the five bytes windows-1252 leaves undefined are dropped.
_C1_REPAIR = {code: bytes([code]).decode("cp1252", "ignore") or None for code in range(0x80, 0xA0)}
_HAS_C1 = re.compile("[\x80-\x9f]")
# What makes text HTML when a feed does not say (RSS): a tag HTML knows, a closing tag, or an
# entity reference. "<blink>" or "<3" alone is text.
_LOOKS_LIKE_HTML = re.compile(
    r"</[a-z][a-z0-9]*\s*>|&(?:#\d{1,7}|#x[0-9a-f]{1,6}|[a-z][a-z0-9]{1,31});"
    r"|<(?:a|abbr|b|br|cite|code|div|em|i|img|p|q|s|small|span|strong|sub|sup|u)\b[^<>]*>",
    re.IGNORECASE,
)

T = TypeVar("T")

_OLDEST = datetime.min.replace(tzinfo=UTC)


def collapse(text: str | None, limit: int = MAX_TITLE_LENGTH) -> str | None:
    """Whitespace-collapse plain text; ``None`` when nothing is left."""
    if not text:
        return None
    if _HAS_C1.search(text):
        text = text.translate(_C1_REPAIR)
    cleaned = " ".join(text.split())
    return _truncate(cleaned, limit) or None


def clean_title(text: str | None, is_html: bool | None, limit: int = MAX_TITLE_LENGTH) -> str | None:
    """A title as plain text: markup stripped only from HTML titles.

    ``is_html`` is what the feed says (Atom's ``type``); ``None`` when it says nothing (RSS, JSON
    Feed), and then the text counts as HTML when it looks like it (see ``_LOOKS_LIKE_HTML``): a
    headline about "the <blink> tag" keeps its words.
    """
    if is_html is None:
        is_html = text is not None and _LOOKS_LIKE_HTML.search(text[:_MAX_MARKUP]) is not None
    return clean_html(text, limit) if is_html else collapse(text, limit)


def clean_html(markup: str | None, limit: int = MAX_SUMMARY_LENGTH) -> str | None:
    """Plain text from an HTML fragment: tags dropped, entities unescaped, whitespace collapsed.

    Handles the usual feed layering: markup escaped once (``&lt;p&gt;`` in the XML) or twice.
    """
    if not markup:
        return None
    text = markup[:_MAX_MARKUP]
    for _layer in range(2):
        if "<" in text:
            text = _OTHER_MARKUP.sub("", _BLOCK_TAG.sub(" ", text))
        if "&" not in text:
            break
        text = unescape(text)
        if "<" not in text:
            break
    return collapse(text, limit)


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return cut[:space] if space > limit // 2 else cut


def author_name(raw: str | None) -> str | None:
    """An author's display name, without an e-mail address.

    ``"jd@x.org (Jane Doe)"``, ``"Jane Doe (jd@x.org)"`` and ``"Jane Doe <jd@x.org>"`` give
    ``"Jane Doe"``. A bare address gives ``None``: it is not a name, the local part is often not
    one either (``newsdesk``, ``j.doe1``), and publishing addresses helps nobody but spammers.
    """
    text = collapse(unescape(raw[:_MAX_MARKUP])) if raw else None
    if text is None:
        return None
    for form in _AUTHOR_FORMS:
        match = form.match(text)
        if match:
            name = match.groupdict().get("name")
            return clean_html(name.strip(" \"'"), MAX_TITLE_LENGTH) if name else None
    return clean_html(text, MAX_TITLE_LENGTH)


def resolve_url(base: str, href: str | None) -> str | None:
    """Absolute http(s) URL for ``href`` relative to ``base``, or ``None`` when it is not one.

    Whitespace around the link (common in feeds) is dropped, and ``&amp;`` in the query (a feed
    that escaped its links twice) is read as ``&``; nothing else is normalized.
    """
    if not href:
        return None
    href = href.strip()
    if "&" in href:
        href = unescape_query(href)
    if not href or len(href) > MAX_URL_LENGTH:
        return None
    if _PLAIN_ABSOLUTE_URL.fullmatch(href):
        return href
    try:
        absolute = urljoin(base, href)
        parts = urlsplit(absolute)
        _port = parts.port  # raises for a port that is not a number in range
    except ValueError:  # e.g. an unbalanced IPv6 bracket or port 99999
        return None
    if parts.scheme not in _HTTP_SCHEMES or not parts.hostname or len(absolute) > MAX_URL_LENGTH:
        return None
    return absolute


def unique(values: Iterable[str | None]) -> tuple[str, ...]:
    """Non-empty values, first occurrence kept, in order."""
    return tuple(dict.fromkeys(value for value in values if value))


def newest_first(items: Iterable[T], date_of: Callable[[T], datetime | None], limit: int) -> list[T]:
    """The ``limit`` newest items, newest first; undated items follow in document order.

    Memory is ``O(limit)`` whatever the length of ``items`` (a heap, not a sort of everything),
    and ties keep document order.
    """

    def key(item: T) -> datetime:
        return date_of(item) or _OLDEST

    return heapq.nlargest(limit, items, key=key)


def check_limit(name: str, value: int) -> None:
    """Reject a non-positive cap with a message naming the argument."""
    if value < 1:
        raise ValueError(f"{name}: expected a positive number of items, got {value!r}")
