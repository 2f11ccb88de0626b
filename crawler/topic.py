"""Decide whether an article belongs to the configured topic, and say why.

Matching ignores case and accents: text and terms are both normalised (typographic apostrophes
and dashes to ASCII, ligatures spelled out, NFKD, combining marks dropped, case folded) before
they meet, so "Pentagone" matches "PENTAGONE" and "États-Unis" matches "etats-unis". Terms match
whole words: "Iran" matches "Iran" and "Iran's" but not "Irans" or "Tirana". A ``*`` ending a
word matches any ending ("américain*": "américaines"); the words of a phrase match across any run
of spaces, line breaks and hyphens ("mer Rouge" matches "mer\\nRouge", "États-Unis" matches
"Etats Unis"). A ``match_case`` term keeps its case ("US" never matches the pronoun "us").

The second topic syntax (docs/topic.md) adds to this: per-term weights and a score, per-group
minimums, field scope, ``A NEAR/n B`` and ``A NEAR/s B`` proximity, ``unless_near`` context
exclusions, term lists per language, English and French inflections without ``*`` (``inflect``)
and acronyms as case-kept tokens with their dotted forms (``acronyms``: ``US`` is ``U.S.``, ``USA``).

Every phrase of a topic (term sides and context words) compiles into one regular expression, so
a long text is scanned once; the positions found are then read term by term.
"""

from __future__ import annotations

import bisect
import functools
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from newsmon.settings.model import Term, Topic
from newsmon.settings.rules import split_near

__all__ = ["TopicMatch", "TopicMatcher", "inflections", "normalize"]

logger = logging.getLogger(__name__)

# Between the words of a phrase: any whitespace (line breaks, no-break spaces) and hyphens.
_GAP = r"[\s\-]+"
# Where a term may begin: a visible character that does not continue a word.
_STARTS = re.compile(r"(?<!\w)\S")
_APOSTROPHES = "\u2018\u2019\u201b\u02bc\u2032\uff07"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
# Invisible characters that split a word without showing: soft hyphen, zero-width spaces, BOM.
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
# Letters NFKD leaves alone although readers treat them as accented Latin letters.
_LETTERS = {"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D",
            "ł": "l", "Ł": "L", "\u0131": "i"}


@functools.cache
def _tables() -> tuple[dict[int, str | None], dict[int, None]]:
    """The translation tables applied before and after NFKD; built once, on first use."""
    before: dict[int, str | None] = {ord(c): "'" for c in _APOSTROPHES}
    before.update({ord(c): "-" for c in _DASHES})
    before.update({ord(c): None for c in _INVISIBLE})
    before.update({ord(c): spelled for c, spelled in _LETTERS.items()})
    # The regular expression ignores case with simple case folding; spell out the characters
    # whose full case folding differs ("ß" is "ss"), so that matching equals casefold().
    for code in range(0x80, 0x10000):
        char = chr(code)
        if code not in before and char.casefold() != char.lower():
            before[code] = char.casefold()
    after: dict[int, None] = {code: None for code in range(0x300, 0x10000) if unicodedata.combining(chr(code))}
    return before, after


def normalize(text: str) -> str:
    """Return ``text`` with accents removed and apostrophes, dashes and ligatures made plain.

    Case is kept (``match_case`` terms need it); the matcher ignores case itself.
    """
    if text.isascii():
        return text
    before, after = _tables()
    return unicodedata.normalize("NFKD", text.translate(before)).translate(after)


# Acronyms written in a term stand for all their forms, and keep their case ("US" is not "us").
_ACRONYM_FORMS: tuple[tuple[str, ...], ...] = (
    ("US", "U.S.", "USA", "U.S.A."),
    ("UK", "U.K."),
    ("UN", "U.N."),
    ("EU", "E.U."),
)
_ACRONYMS = {form: forms for forms in _ACRONYM_FORMS for form in forms}
# The languages whose inflections are known.
_INFLECTED = frozenset({"en", "fr"})
# A sentence ends at ., ! or ? (closing quotes allowed) before a space, or at a line break...
_SENTENCE_END = re.compile(r"[.!?\u2026][\"')\u00bb\u201d]*\s+|\n\s*")
# ...unless the dot ends an abbreviation: an initial (the "S." of "U.S."), or a title.
_ABBREVIATION = re.compile(
    r"(?:(?<!\w)\w|\b(?:Mr|Mrs|Ms|Dr|Gen|Lt|Col|Sgt|Adm|Capt|Maj|Sen|Rep|Gov|St|Jr|Mt|No|vs|Mme|Mgr|cf))\.$"
)
_WORD = re.compile(r"\w+")


def inflections(word: str, languages: Iterable[str]) -> list[str]:
    """The forms of ``word`` in ``languages`` ("en", "fr"), the word itself first.

    English: plurals (``base``, ``bases``; ``army``, ``armies``). French: gender and number
    (``américain``, ``américaine``, ``américains``, ``américaines``; ``naval``, ``navaux``). Only
    words of three letters or more are inflected; verbs are not conjugated (``base`` never
    matches ``based``): a trailing ``*`` is still there for that.
    """
    forms = [word]
    if len(word) < 3 or not word.isalpha():
        return forms
    low = word.lower()
    langs = set(languages)
    if "en" in langs:
        if low.endswith("y") and low[-2] not in "aeiou":
            forms.append(word[:-1] + "ies")
        elif low.endswith(("s", "x", "z", "ch", "sh", "o")):
            forms.append(word + "es")
        else:
            forms.append(word + "s")
    if "fr" in langs:
        forms += _french(word, low)
    return list(dict.fromkeys(forms))


def _french(word: str, low: str) -> list[str]:  # noqa: PLR0911 - one return per ending
    if low.endswith("al"):
        return [word + "e", word + "es", word + "s", word[:-2] + "aux"]
    if low.endswith(("eau", "eu")):
        return [word + "x"]
    if low.endswith("eux"):
        return [word[:-1] + "se", word[:-1] + "ses"]
    if low.endswith(("en", "on")):
        return [word + "s", word + "ne", word + "nes", word + "e", word + "es"]
    if low.endswith("if"):
        return [word + "s", word[:-1] + "ve", word[:-1] + "ves"]
    if low.endswith("er"):
        return [word + "s", word[:-2] + "ere", word[:-2] + "eres"]
    if low.endswith(("s", "x", "z")):
        return [word + "e", word + "es"]
    if low.endswith("e"):
        return [word + "s"]
    return [word + "s", word + "e", word + "es"]


def _alternatives(forms: Iterable[str]) -> str:
    ordered = sorted(set(forms), key=len, reverse=True)  # longest first: "americaines" before "americain"
    return ordered[0] if len(ordered) == 1 else "(?:" + "|".join(ordered) + ")"


def _pattern(text: str, match_case: bool, inflect: frozenset[str] | None, acronyms: bool) -> str:
    """The regular expression of one phrase; ``inflect`` None leaves its words as written."""
    words = normalize(text).replace("-", " ").split()
    if not words or not any(c.isalnum() for c in text):
        raise ValueError(f"topic term {text!r} has no word to match")
    parts = []
    for word in words:
        stem = word.removesuffix("*")
        if not stem or "*" in stem:
            raise ValueError(f'topic term {text!r}: "*" may only end a word')
        if acronyms and word in _ACRONYMS:
            parts.append("(?-i:" + _alternatives(re.escape(form) for form in _ACRONYMS[word]) + ")")
        elif word.endswith("*"):
            parts.append(re.escape(stem) + r"\w*")
        elif inflect:
            parts.append(_alternatives(re.escape(form) for form in inflections(word, inflect)))
        else:
            parts.append(re.escape(word))
    pattern = _GAP.join(parts)
    return f"(?-i:{pattern})" if match_case else pattern


@dataclass(frozen=True, slots=True)
class TopicMatch:
    """Why an article belongs to a topic, or why not.

    ``matched`` lists the terms found (from ``all`` groups and ``any``), as written in the config,
    sorted and unique; ``groups`` maps each ``all`` group to its terms found, in config order;
    ``scores`` each ``all`` group (and ``any``, when listed) to its score. ``kept`` is False when
    a group is ``missed`` (below its minimum), a ``none`` term is found (``excluded``), or
    ``score`` is below the topic's threshold.
    """

    name: str
    matched: list[str]
    groups: dict[str, list[str]]
    score: float = 0.0
    scores: dict[str, float] = field(default_factory=dict)
    kept: bool = True
    missed: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    threshold: float | None = None

    def to_record(self) -> dict[str, Any]:
        """The JSON-ready form carried by published articles."""
        return {"name": self.name, "matched": list(self.matched),
                "groups": {group: list(terms) for group, terms in self.groups.items()},
                "score": self.score, "scores": dict(self.scores)}

    @property
    def reason(self) -> str:
        """Why the article is dropped, in a few words ("" when it is kept)."""
        if self.excluded:
            return "excluded by " + ", ".join(self.excluded)
        if self.missed:
            return "no match in " + ", ".join(self.missed)
        if not self.kept:
            return f"score {self.score:g} below {self.threshold:g}"
        return ""


@dataclass(frozen=True, slots=True)
class _Compiled:
    """One term, as positions of compiled phrases."""

    term: Term
    sides: tuple[int, ...]  # alternative indexes: one, or two for NEAR
    distance: int | None  # NEAR: words between the sides; None: the same sentence
    unless: tuple[int, ...]  # alternative indexes of the unless_near words
    fields: frozenset[str]


class _Text:
    """One normalised field, with its word and sentence offsets computed when first needed."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._words: list[int] | None = None
        self._sentences: list[int] | None = None

    def words_between(self, end: int, start: int) -> int:
        """How many words start in ``text[end:start]``."""
        if self._words is None:
            self._words = [m.start() for m in _WORD.finditer(self.text)]
        return max(0, bisect.bisect_left(self._words, start) - bisect.bisect_left(self._words, end))

    def sentence(self, offset: int) -> int:
        if self._sentences is None:
            self._sentences = [m.end() for m in _SENTENCE_END.finditer(self.text)
                               if not _ABBREVIATION.search(self.text, 0, m.start() + 1)]
        return bisect.bisect_right(self._sentences, offset)

    def close(self, a: tuple[int, int], b: tuple[int, int], distance: int | None) -> bool:
        """Whether spans ``a`` and ``b`` are within ``distance`` words (None: one sentence)."""
        if distance is None:
            return self.sentence(a[0]) == self.sentence(b[0])
        first, second = (a, b) if a[0] <= b[0] else (b, a)
        return self.words_between(first[1], second[0]) <= distance


class TopicMatcher:
    """Matches article fields against one topic. Build it once; :meth:`match` is thread-safe."""

    def __init__(self, topic: Topic) -> None:
        self.topic = topic
        self._patterns: dict[str, int] = {}  # pattern -> alternative index
        self._firsts: list[str] = []  # per alternative: the character its matches start with
        compiled: dict[Term, _Compiled] = {}
        for term in [term for _, group in topic.all for term in group] + [*topic.any, *topic.none]:
            if term not in compiled:
                compiled[term] = self._compile(term)
        self._compiled = compiled
        self._minimums = dict(topic.minimums)
        self._fields = tuple(dict.fromkeys([*topic.fields, *(f for c in compiled.values() for f in c.fields)]))
        # Alternatives are grouped by first letter behind a lookahead, so that at each position
        # the engine tries only the phrases that can start there (eight times faster than a flat
        # alternation of a hundred terms). Longest first: a phrase wins over its first word, which
        # leaves fewer phrases to look for inside the match.
        order = sorted(self._patterns, key=len, reverse=True)
        by_first: dict[str, list[str]] = {}
        for pattern in order:
            by_first.setdefault(self._firsts[self._patterns[pattern]], []).append(pattern)
        patterns = [pattern for group in by_first.values() for pattern in group]
        self._index = [self._patterns[pattern] for pattern in patterns]  # regex group -> alternative
        branches = "|".join(
            f"(?={re.escape(first)})(?:{'|'.join(f'({p})' for p in group)})" for first, group in by_first.items()
        )
        self._regex = re.compile(rf"(?<!\w)(?:{branches})(?!\w)", re.IGNORECASE)
        # For the phrases hidden inside a longer match ("armée" inside "armée américaine"): one
        # anchored pattern per alternative, tried only inside matches, indexed by first letter.
        self._singles: dict[str, list[tuple[int, re.Pattern[str]]]] = {}
        for pattern in patterns:
            index = self._patterns[pattern]
            single = re.compile(rf"(?:{pattern})(?!\w)", re.IGNORECASE)
            self._singles.setdefault(self._firsts[index], []).append((index, single))
        logger.debug("topic %s: %d terms in %d phrases", topic.name, len(compiled), len(patterns))

    def _compile(self, term: Term) -> _Compiled:
        languages = frozenset(term.languages) & _INFLECTED if term.languages else _INFLECTED
        inflect = languages if self.topic.inflect else None
        sides, distance = split_near(term.text)
        return _Compiled(
            term=term,
            sides=tuple(self._phrase(side, term.match_case, inflect) for side in sides),
            distance=distance if len(sides) > 1 else term.within,
            unless=tuple(self._phrase(word, False, inflect) for word in term.unless_near),
            fields=frozenset(term.fields or self.topic.fields),
        )

    def _phrase(self, text: str, match_case: bool, inflect: frozenset[str] | None) -> int:
        pattern = _pattern(text, match_case, inflect, self.topic.acronyms)
        if pattern not in self._patterns:
            self._patterns[pattern] = len(self._patterns)
            self._firsts.append(normalize(text).replace("-", " ").split()[0][0].casefold())
        return self._patterns[pattern]

    def match(self, fields: Mapping[str, str | None], language: str | None = None) -> TopicMatch | None:
        """Return why the article matches, or None when it does not (see :meth:`evaluate`)."""
        verdict = self.evaluate(fields, language)
        return verdict if verdict.kept else None

    def evaluate(self, fields: Mapping[str, str | None], language: str | None = None) -> TopicMatch:
        """Score the article and say, kept or not, which terms each group found and which missed.

        Args:
            fields: the article's text by field name (``title``, ``description``, ``text``);
                only the fields the topic and its terms look at are read; missing or None ones
                are skipped.
            language: the article's ISO 639-1 code; terms listed for other languages are
                ignored. None: every term applies.
        """
        texts: dict[str, _Text] = {}
        spans: dict[str, dict[int, list[tuple[int, int]]]] = {}
        for name in self._fields:
            text = fields.get(name)
            if text:
                texts[name] = _Text(normalize(text))
                spans[name] = self._scan(texts[name].text)
        language = language.split("-")[0].lower() if language else None
        title_weight = self.topic.title_weight
        anywhere = {index for found in spans.values() for index in found}

        def worth(term: Term) -> float:
            if term.languages and language is not None and language not in term.languages:
                return 0.0
            compiled = self._compiled[term]
            if not anywhere.issuperset(compiled.sides):
                return 0.0  # most terms: skipped without looking at any field
            where = self._found_in(compiled, texts, spans)
            if not where:
                return 0.0
            return term.weight * (title_weight if "title" in where else 1.0)

        found: dict[Term, float] = {}
        scores: dict[str, float] = {}
        groups: dict[str, list[str]] = {}
        missed: list[str] = []
        for name, group in self.topic.all:
            values = {term: worth(term) for term in group}
            found.update({term: value for term, value in values.items() if value})
            scores[name] = _round(sum(values.values()))
            groups[name] = _texts(term for term, value in values.items() if value)
            if scores[name] < self._minimums.get(name, 1.0) or not groups[name]:
                missed.append(name)
        if self.topic.any:
            values = {term: worth(term) for term in self.topic.any}
            found.update({term: value for term, value in values.items() if value})
            scores["any"] = _round(sum(values.values()))
            if not any(values.values()) or scores["any"] < self._minimums.get("any", 1.0):
                missed.append("any")
        excluded = _texts(term for term in self.topic.none if worth(term))
        score = _round(sum(scores.values()))
        threshold = self.topic.threshold
        kept = not missed and not excluded and (threshold is None or score >= threshold)
        positive = [term for _, group in self.topic.all for term in group] + list(self.topic.any)
        return TopicMatch(self.topic.name, _texts(t for t in positive if t in found), groups, score, scores,
                          kept, missed, excluded, threshold)

    def _found_in(self, term: _Compiled, texts: Mapping[str, _Text],
                  spans: Mapping[str, Mapping[int, list[tuple[int, int]]]]) -> list[str]:
        """The fields where ``term`` has a hit that counts."""
        where = []
        for name in term.fields:
            found = spans.get(name)
            if found is None or any(side not in found for side in term.sides):
                continue
            text = texts[name]
            if len(term.sides) == 1:
                hits = found[term.sides[0]]
            else:
                hits = [(min(a[0], b[0]), max(a[1], b[1])) for a in found[term.sides[0]]
                        for b in found[term.sides[1]] if text.close(a, b, term.distance)]
            context = [span for index in term.unless for span in found.get(index, ())]
            if context:
                hits = [hit for hit in hits if not any(text.close(hit, span, term.term.within) for span in context)]
            if hits:
                where.append(name)
        return where

    def _scan(self, text: str) -> dict[int, list[tuple[int, int]]]:
        """Every phrase found in ``text``, by alternative index, with its spans."""
        found: dict[int, list[tuple[int, int]]] = {}
        for match in self._regex.finditer(text):
            assert match.lastindex is not None  # one alternative group always takes part
            index = self._index[match.lastindex - 1]
            found.setdefault(index, []).append(match.span())
            # Other phrases may start inside this match ("Joint Chiefs" in "Joint Chiefs of Staff"
            # hides "Chiefs of Staff"); try them where a phrase can begin.
            for start in _STARTS.finditer(text, match.start(), match.end()):
                for other, single in self._singles.get(start.group().casefold(), ()):
                    if other != index and (hit := single.match(text, start.start())):
                        found.setdefault(other, []).append(hit.span())
        return found


def _round(value: float) -> float:
    return round(value, 3) + 0.0  # + 0.0: never -0.0


def _texts(terms: Iterable[Term]) -> list[str]:
    return sorted({term.text for term in terms}, key=lambda text: (text.casefold(), text))
