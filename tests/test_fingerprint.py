"""Story ids and text fingerprints: normalization, stability, and what counts as a difference."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from newsmon.crawler.fingerprint import (
    anchors,
    content_tokens,
    hamming,
    simhash,
    story_id,
    text_fingerprint,
    text_prints,
    title_fingerprint,
    title_tokens,
    to_signed,
    tokens,
)

STORIES = Path(__file__).parent / "data" / "dedup" / "stories.txt"
SAMPLE = (
    "HARBOURTON (CPA) \u2014 The city council voted on Tuesday to close the old harbour bridge for eighteen "
    "months of repairs, after engineers found corrosion in three of its steel piers.\n\nPhoto: archive\n\n"
    "Ferries will run every twenty minutes between the two shores from six in the morning until midnight, "
    "the transport office said."
)


def story_text(name: str) -> list[str]:
    """The paragraphs of one story of the labelled set."""
    (body,) = [b for b in re.split(r"^## ", STORIES.read_text(encoding="utf-8"), flags=re.MULTILINE)
               if b.startswith(name + "\n")]
    chunks = [" ".join(c.split()) for c in body.split("\n\n")[1:]]
    return [c for c in chunks if c and not re.match(r"^(topic|titles|lede|local|follows):", c)]


def test_story_id_is_sha256_of_the_canonical_url() -> None:
    """The story id is the first 16 hex digits of SHA-256 of the canonical URL."""
    url = "https://example.com/news/a"
    assert story_id(url) == hashlib.sha256(url.encode()).hexdigest()[:16]


def test_fingerprints_are_stable_across_versions() -> None:
    """Stored fingerprints must match new ones after an upgrade: these values are pinned."""
    prints = text_prints(SAMPLE)
    assert (prints.exact, prints.simhash) == (0x9A1EE4297CA30A28, 0xEDCB2E4CE0CE1860)
    assert prints.anchors == (0x082B0BCB0F2704D2, 0x4445AF7AA3AEB643, 0x830A50F0C11094AC, 0xC81F9ED9F8D56FCF)
    assert title_fingerprint("Harbour bridge to close | Harbourton Daily") == 0xC2666B447B0B2501
    assert story_id("https://example.com/a") == "2dce0a4c50441bfc"


def test_exact_fingerprint_ignores_case_punctuation_spacing_and_accents() -> None:
    """Case, punctuation, white space and Latin accents do not change the exact fingerprint."""
    base = text_fingerprint("The café reopened on Monday, the owner said.")
    assert text_fingerprint("the CAFE reopened   on monday -- the owner said") == base
    assert text_fingerprint("The café reopened on Tuesday, the owner said.") != base


def test_text_prints_agree_with_the_single_functions() -> None:
    """text_prints() computes what text_fingerprint(), simhash() and anchors() compute alone."""
    prints = text_prints(SAMPLE)
    assert (prints.exact, prints.simhash, prints.anchors) == (text_fingerprint(SAMPLE), simhash(SAMPLE),
                                                              anchors(SAMPLE))


def test_content_leaves_out_datelines_and_short_lines() -> None:
    """The wire dateline and lines of fewer than ten words are not content."""
    words = content_tokens(SAMPLE)
    assert words[:3] == ["the", "city", "council"]
    assert "photo" not in words
    assert content_tokens("Short line only") == ["short", "line", "only"]


def test_cjk_characters_are_words() -> None:
    """Scripts without spaces are split into characters, so they still have shingles."""
    assert tokens("東京タワー 서울") == ["東", "京", "タ", "ワ", "ー", "서울"]


def test_simhash_of_a_copy_is_close_and_of_another_story_far() -> None:
    """An edited copy differs in few SimHash bits; a same-topic follow-up in many."""
    closure = story_text("city-bridge-closure")
    copy = ["By Coastal Press Agency", *closure[:-1], "Sign up for our morning newsletter and get the most "
            "important stories of the day in your inbox."]
    followup = story_text("city-bridge-delay")
    original = simhash("\n\n".join(closure))
    assert hamming(original, simhash("\n\n".join(copy))) <= 12
    assert hamming(original, simhash("\n\n".join(followup))) >= 20


def test_copies_share_anchors_and_other_stories_do_not() -> None:
    """A copy with a paragraph cut shares min-hash anchors with the original; other stories none."""
    closure = story_text("city-bridge-closure")
    original = anchors("\n\n".join(closure))
    copy = anchors("\n\n".join(closure[1:]))
    other = anchors("\n\n".join(story_text("city-tram-extension")))
    assert sum(a == b != 0 for a, b in zip(original, copy, strict=True)) >= 2
    assert sum(a == b != 0 for a, b in zip(original, other, strict=True)) == 0
    assert all(a >> 62 == band for band, a in enumerate(original))


def test_empty_text_has_empty_fingerprints() -> None:
    """A text without words has SimHash 0 and no anchors."""
    prints = text_prints(" \n -- \n")
    assert (prints.simhash, prints.anchors) == (0, (0, 0, 0, 0))


def test_title_fingerprint_drops_the_outlet_suffix() -> None:
    """'Headline | Outlet' and 'Headline - Outlet' are the headline; a hyphenated headline is kept."""
    plain = title_fingerprint("Harbour bridge to close for repairs")
    assert title_fingerprint("Harbour bridge to close for repairs | Harbourton Daily") == plain
    assert title_fingerprint("HARBOUR BRIDGE TO CLOSE FOR REPAIRS \u2013 Kestrel Gazette") == plain
    assert title_tokens("Bridge - closes") == ["bridge", "closes"]
    assert title_tokens("Mayor resigns - what happens now for the harbour plan") == [
        "mayor", "resigns", "what", "happens", "now", "for", "the", "harbour", "plan"
    ]


def test_to_signed_keeps_intset_range() -> None:
    """Unsigned 64-bit values map onto the signed int64 range Redis intsets hold."""
    assert to_signed(0) == 0
    assert to_signed(2**63 - 1) == 2**63 - 1
    assert to_signed(2**63) == -(2**63)
    assert to_signed(2**64 - 1) == -1
