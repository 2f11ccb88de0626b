"""Story identity and text fingerprints: the inputs of deduplication.

* :func:`story_id`: the record id, 16 hex digits of SHA-256 of the canonical URL.
* :func:`text_fingerprint`: a 64-bit hash of the normalized text (case, accents, punctuation
  and white space do not count); equal values mean the same words in the same order.
* :func:`simhash`: a 64-bit SimHash (Charikar) of the set of word 3-shingles of the content
  (:func:`content_tokens`: no dateline, no short lines); copies with small edits differ in few
  bits (see :func:`hamming`), distinct stories in about half.
* :func:`anchors`: four min-hashes of the content's 6-word shingles (one-permutation min-hash);
  copies share some, distinct stories almost never: the near-duplicate index looks them up.
* :func:`title_fingerprint`: a 64-bit hash of the normalized headline, without the
  ``| Outlet name`` suffix many sites append.
* :func:`text_prints`: the exact fingerprint, SimHash and anchors in one pass (what the
  publish pipeline should call, through ``Fingerprints.of``).

All fingerprints are unsigned 64-bit ints computed with BLAKE2b (stable across processes and
Python versions, unlike ``hash()``). Nothing here touches Redis.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import re
import struct
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Words per shingle. Three keeps distinct stories on one topic (which share many single
#: words and common pairs) far apart while a copy with a sentence changed stays close.
SHINGLE = 3

#: Lines with fewer words are not content (bylines, captions, "Read more" links).
MIN_LINE_WORDS = 10
#: Min-hash bands of the near-duplicate index (a power of two).
ANCHOR_BANDS = 4
#: Near-duplicate signals read at most this many content words: copies share their
#: beginnings, and it bounds the cost of a very long text (about 1 ms).
MAX_CONTENT_WORDS = 1000
_MASK64 = (1 << 64) - 1
# "HARBOURTON (CPA) \u2014 ", "KESTREL BAY, May 3 (Reuters) - ": a wire dateline.
_DATELINE = re.compile(
    r"^[A-Z][A-Z .,'\-]{1,40}(?:,\s*[A-Z][a-z]{2,8}\.?\s+\d{1,2})?\s*(?:\([^)]{1,30}\))?\s*[\u2014\u2013-]{1,2}\s+"
)
# Combining diacritical marks (U+0300-U+036F) left by NFKD: accents on Latin, Greek, Cyrillic.
_COMBINING = re.compile("[\u0300-\u036f]")
# A CJK ideograph or kana counts as one word (those scripts do not separate words by spaces);
# other scripts split on anything that is not a word character.
_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W_]+")
# Headline separators before an outlet's name: "Mayor resigns | The Daily Planet".
_SEPARATORS = r"\-|\u2022\u00b7\u00bb\u2013\u2014"  # hyphen | bullet middle-dot guillemet en-dash em-dash
_TITLE_SUFFIX = re.compile(rf"\s+(?:[{_SEPARATORS}]|::)\s+(?=[^{_SEPARATORS}:]+$)")
_MAX_SUFFIX_WORDS = 4

def story_id(canonical_url: str) -> str:
    """The record id of a story: the first 16 hex digits of SHA-256 of its canonical URL."""
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:16]


def hash64(data: str | bytes) -> int:
    """An unsigned 64-bit BLAKE2b hash."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "big")


def normalize(text: str) -> str:
    """NFKC, case-folded, Latin accents removed (``Café`` and ``cafe`` are one word)."""
    if text.isascii():
        return text.lower()
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    # Recompose what is left (Hangul syllables, marks of other scripts).
    return unicodedata.normalize("NFC", _COMBINING.sub("", folded))


def tokens(text: str) -> list[str]:
    """The normalized words of ``text`` (see :func:`normalize`); punctuation is not a word."""
    return _TOKEN.findall(normalize(text))


def text_fingerprint(text: str) -> int:
    """64-bit fingerprint of the normalized text: the same words in the same order."""
    return hash64(" ".join(tokens(text)))


def title_tokens(title: str) -> list[str]:
    """Normalized headline words, without a short trailing ``| Outlet`` part."""
    parts = _TITLE_SUFFIX.split(title.strip(), maxsplit=1)
    if len(parts) == 2 and len(tokens(parts[1])) <= _MAX_SUFFIX_WORDS and len(tokens(parts[0])) >= 3:
        title = parts[0]
    return tokens(title)


def title_fingerprint(title: str) -> int:
    """64-bit fingerprint of the normalized headline (outlet suffix removed)."""
    return hash64(" ".join(title_tokens(title)))


@dataclass(frozen=True, slots=True)
class TextPrints:
    """Everything deduplication needs from an article body, computed in one pass."""

    exact: int  # text_fingerprint(): every word counts
    simhash: int  # SimHash of the content (datelines and short lines left out)
    anchors: tuple[int, ...]  # ANCHOR_BANDS min-hashes of content 6-word shingles; 0 = empty band


def content_tokens(text: str) -> list[str]:
    """The words that make an article's content, for near-duplicate signals.

    Outlets wrap one wire text in different credit lines, captions, "Read more" links and
    datelines; lines shorter than :data:`MIN_LINE_WORDS` words and a leading dateline
    (``HARBOURTON (CPA) \u2014``) are left out so they do not count as differences. A text made
    only of short lines is kept whole. At most :data:`MAX_CONTENT_WORDS` words are returned.
    """
    return _content(text, _lines(normalize(text)))


def _lines(normalized: str) -> list[list[str]]:
    return [words for words in map(_TOKEN.findall, normalized.splitlines()) if words]


def _content(text: str, lines: list[list[str]]) -> list[str]:
    if not lines:
        return []
    first = next(line for line in text.splitlines() if _TOKEN.search(line))
    dateline = _DATELINE.match(first)
    if dateline:
        lines = [lines[0][len(tokens(dateline.group())) :], *lines[1:]]
    kept = [line for line in lines if len(line) >= MIN_LINE_WORDS] or lines
    return list(itertools.chain.from_iterable(kept))[:MAX_CONTENT_WORDS]


def text_prints(text: str) -> TextPrints:
    """The exact fingerprint, SimHash and anchors of ``text``, normalizing it once."""
    lines = _lines(normalize(text))
    exact = hash64(" ".join(itertools.chain.from_iterable(lines)))
    return TextPrints(exact, *_near_prints(_content(text, lines)))


def _near_prints(words: list[str]) -> tuple[int, tuple[int, ...]]:
    if not words:
        return 0, (0,) * ANCHOR_BANDS
    encoded = [word.encode("utf-8") for word in words]
    if len(encoded) >= SHINGLE:
        shingles = list(map(b" ".join, zip(*(encoded[i:] for i in range(SHINGLE)), strict=False)))
    else:
        shingles = [b" ".join(encoded)]
    blake = hashlib.blake2b
    digests = [blake(shingle, digest_size=8).digest() for shingle in shingles]
    return _simhash(set(digests)), _anchors(struct.unpack(f">{len(digests)}Q", b"".join(digests)))


def _simhash(features: set[bytes]) -> int:
    data = b"".join(features)
    half = len(features)
    # Bit-slicing: column c of the features (their byte c, one byte each) as one big int;
    # (column >> bit) & ones keeps that bit of every feature, and bit_count() adds them up.
    ones = int.from_bytes(b"\x01" * half, "big")
    value = 0
    for position in range(8):  # byte 0 is the most significant
        column = int.from_bytes(data[position::8], "big")
        shift = (7 - position) * 8
        for bit in range(8):
            # A bit is set when more than half of the features have it set.
            if 2 * ((column >> bit) & ones).bit_count() > half:
                value |= 1 << (shift + bit)
    return value


def _anchors(shingles: tuple[int, ...]) -> tuple[int, ...]:
    """One-permutation min-hash: the smallest 6-word shingle hash in each of the
    :data:`ANCHOR_BANDS` equal parts of the hash space. Two texts share a band's anchor with
    probability about the Jaccard similarity of their shingles: copies share some, distinct
    stories rarely any."""
    # A 6-word shingle is two consecutive 3-word shingles; mixing their hashes (xor with a
    # rotation, so that the pair is ordered) avoids hashing the text a second time.
    six = sorted({a ^ (((b << 23) | (b >> 41)) & _MASK64) for a, b in zip(shingles, shingles[3:], strict=False)})
    bits = 64 - (ANCHOR_BANDS - 1).bit_length()
    anchors = []
    for band in range(ANCHOR_BANDS):
        i = bisect.bisect_left(six, band << bits)
        anchors.append(six[i] if i < len(six) and six[i] >> bits == band else 0)
    return tuple(anchors)


def simhash(text: str) -> int:
    """64-bit SimHash of the content's word 3-shingles (each distinct shingle counts once)."""
    return _near_prints(content_tokens(text))[0]


def anchors(text: str) -> tuple[int, ...]:
    """The :data:`ANCHOR_BANDS` min-hash anchors of the content (0: the band is empty)."""
    return _near_prints(content_tokens(text))[1]


def hamming(a: int, b: int) -> int:
    """Number of bits in which two 64-bit fingerprints differ."""
    return (a ^ b).bit_count()


def to_signed(value: int) -> int:
    """An unsigned 64-bit value as the signed int64 Redis stores in an intset."""
    return value - (1 << 64) if value >= 1 << 63 else value


@dataclass(frozen=True, slots=True)
class Fingerprints:
    """What the story store compares: built by the publish pipeline, read by the store."""

    # Canonical (dedup-key) URLs this page is known by; urls[0] is the story's key, from which
    # its id derives. The record's canonical_url is the lighter display form of the same URL.
    urls: tuple[str, ...]
    text: int  # 64-bit exact fingerprint of the normalized text (unsigned)
    simhash: int  # 64-bit SimHash of the normalized text (unsigned)
    title: int | None = None  # 64-bit fingerprint of the normalized title
    anchors: tuple[int, ...] = ()  # min-hash anchors of the content, one per band (0: empty band)

    @classmethod
    def of(cls, record: Mapping[str, Any], urls: Sequence[str]) -> Fingerprints:
        """The fingerprints of a record's text and title (normalizes the text once)."""
        prints = text_prints(record.get("text") or "")
        title = record.get("title")
        return cls(
            urls=tuple(urls),
            text=prints.exact,
            simhash=prints.simhash,
            title=title_fingerprint(title) if title else None,
            anchors=prints.anchors,
        )
