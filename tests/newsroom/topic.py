"""The newsroom's topic: US military involvement in the Israel-Hamas war and the wider Middle East.

``TOPIC`` is the ``topic:`` section ``Newsroom.config_yaml(topic=True)`` writes. ``matches`` is a
small reference matcher with the semantics newsmon documents (case and accents ignored, whole
words and phrases, a trailing ``*`` matches a word prefix); the fixture uses it to check its own
labels: every on-topic article matches both groups, no off-topic article matches ``us_military``.
``forbidden_words`` lists the words an off-topic text must never contain.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

__all__ = ["REGION", "TOPIC", "TOPIC_NAME", "US_MILITARY", "forbidden_words", "matches", "normalize"]

TOPIC_NAME = "us-military-mideast"

US_MILITARY: tuple[str, ...] = (
    "Pentagon*",  # also Pentagone
    "CENTCOM",
    "US Central Command",
    "US military",
    "U.S. military",
    "US Navy",
    "US troops",
    "US forces",
    "American troops",
    "American aircraft",
    "armée américaine",
    "soldats américains",
    "militaires américains",
    "forces américaines",
    "marine américaine",
    "destroyer américain",
    "avions américains",
)

REGION: tuple[str, ...] = (
    "Israel*",  # also Israël, Israeli, israélien
    "Gaza",
    "Hamas",
    "Houthi*",
    "Red Sea",
    "mer Rouge",
    "Yemen*",
    "Syria*",
    "Syrie*",
    "Iraq*",
    "Irak*",
    "Jordan*",  # also Jordanie, Jordanian
    "Lebanon",
    "Liban*",
    "Hezbollah",
    "Iran*",
    "Middle East",
    "Moyen-Orient",
    "Proche-Orient",
)

TOPIC: dict[str, Any] = {
    "name": TOPIC_NAME,
    "all": {"us_military": list(US_MILITARY), "region": list(REGION)},
}

# Off-topic texts contain none of these (word starts, so "Syrie" covers "syrienne").
_FORBIDDEN = re.compile(
    r"\b(pentagon\w*|u\.?s\.? military|armee americaine|americain\w*|troops?|soldats?|houthi\w*"
    r"|red sea|mer rouge|gaza|israel\w*|hamas|iraq\w*|irak\w*|syri\w*|jordan\w*|centcom)\b"
)
_WORD = re.compile(r"\w+")


def normalize(text: str) -> str:
    """Lower-case ``text`` and strip its accents: ``"Israël"`` becomes ``"israel"``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _term_matches(term: str, words: list[str]) -> bool:
    prefix = term.endswith("*")
    wanted = _WORD.findall(normalize(term.rstrip("*")))
    size = len(wanted)
    for start in range(len(words) - size + 1):
        window = words[start:start + size]
        if window[:-1] != wanted[:-1]:
            continue
        last = window[-1]
        if last == wanted[-1] or (prefix and last.startswith(wanted[-1])):
            return True
    return False


def matching_terms(terms: Iterable[str], text: str) -> list[str]:
    """The terms of ``terms`` that occur in ``text``."""
    words = _WORD.findall(normalize(text))
    return [term for term in terms if _term_matches(term, words)]


def matches(text: str) -> bool:
    """True when ``text`` has a term of every group of ``TOPIC``."""
    return bool(matching_terms(US_MILITARY, text)) and bool(matching_terms(REGION, text))


def forbidden_words(text: str) -> list[str]:
    """The words off-topic texts must avoid that occur in ``text``."""
    return sorted({match.group(0) for match in _FORBIDDEN.finditer(normalize(text))})
