"""Decoding and parsing a fetched page: charset detection, then one lxml tree.

:func:`parse_html` is the one place a page becomes a tree; the metadata readers, trafilatura and
the cleanup rules all read that tree, so the page is decoded and parsed once.
"""

from __future__ import annotations

import codecs
import logging
import unicodedata

from lxml.html import HtmlElement

from newsmon.crawler.extraction.adapter import parse_tree

logger = logging.getLogger(__name__)

_UTF8_NAMES = frozenset(("utf-8", "utf8", "utf_8"))


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    """Decode the bytes UTF-8 rejects as windows-1252 (pages that mix both)."""
    assert isinstance(error, UnicodeDecodeError)
    chunk = error.object[error.start : error.end]
    return chunk.decode("cp1252", errors="replace"), error.end


codecs.register_error("newsmon-cp1252", _cp1252_fallback)


def decode_html(data: bytes) -> str:
    """Decode a page: byte-order mark, then UTF-8, then the declared charset, then detection.

    Valid UTF-8 wins over a declared single-byte charset: text in a legacy code page is almost
    never valid UTF-8 by accident, while pages labelled ``iso-8859-1`` that are really UTF-8 are
    common. A page that is not valid UTF-8 is decoded with its declared charset; without a usable
    declaration, as UTF-8 with its stray bytes read as windows-1252 when most of it is UTF-8, and
    otherwise with the charset charset-normalizer guesses for non-Latin alphabets, else windows-1252.
    """
    from w3lib.encoding import html_body_declared_encoding, read_bom

    bom_encoding, bom = read_bom(data)
    if bom_encoding and bom:
        return data[len(bom) :].decode(bom_encoding, errors="replace")
    declared = (html_body_declared_encoding(data) or "").lower()
    if declared.startswith(("utf-16", "utf-32", "utf_16", "utf_32")):
        try:
            return data.decode(declared)
        except (UnicodeDecodeError, LookupError):
            logger.debug("declared charset %s does not decode the page", declared)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if declared and declared not in _UTF8_NAMES:
        try:
            return data.decode(declared)
        except (UnicodeDecodeError, LookupError):
            logger.debug("declared charset %s does not decode the page", declared)
    loose = data.decode("utf-8", errors="replace")
    invalid = loose.count("\ufffd")
    multibyte = sum(1 for ch in loose if ord(ch) > 127) - invalid
    if multibyte > invalid:
        return data.decode("utf-8", errors="newsmon-cp1252")
    return data.decode(_guess_single_byte(data), errors="replace")


def _guess_single_byte(data: bytes) -> str:
    """charset-normalizer's guess when it sees a non-Latin alphabet, else windows-1252.

    On short Latin-script pages its guesses between Western and Central European code pages are
    unreliable, and windows-1252 is by far the most common legacy encoding of such pages.
    """
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    if best is None:
        return "cp1252"
    # Judge by letters, not by the blocks it reports: curly quotes and dashes ("General
    # Punctuation") would otherwise make a French page look non-Latin and pick cp1257.
    sample = str(best)[:20_000]
    if any(ch.isalpha() and not unicodedata.name(ch, "LATIN").startswith("LATIN") for ch in sample):
        return best.encoding
    return "cp1252"


def parse_html(html: bytes | str) -> HtmlElement | None:
    """Decode if needed and parse once, with trafilatura's parser settings and repairs."""
    text = decode_html(html) if isinstance(html, bytes) else html
    return parse_tree(text)


__all__ = ["decode_html", "parse_html"]
