"""The topic matcher: which articles belong to the topic, and why."""

from __future__ import annotations

import pytest

from newsmon.crawler.topic import TopicMatch, TopicMatcher, normalize
from newsmon.settings.loader import load_config
from newsmon.settings.model import Term, Topic


def _terms(*texts: str | Term) -> tuple[Term, ...]:
    return tuple(t if isinstance(t, Term) else Term(t) for t in texts)


def _matcher(
    groups: dict[str, list[str | Term]] | None = None,
    any_of: list[str | Term] | None = None,
    none_of: list[str | Term] | None = None,
    fields: tuple[str, ...] = ("title", "description", "text"),
) -> TopicMatcher:
    """A matcher for a topic named "t" with these ``all`` groups, ``any`` and ``none`` terms."""
    all_groups = tuple((name, _terms(*terms)) for name, terms in (groups or {}).items())
    return TopicMatcher(Topic("t", all_groups, _terms(*(any_of or [])), _terms(*(none_of or [])), fields))


US_MIDEAST = {
    "us_military": ["Pentagon", "Pentagone", "armée américaine", "frappe* américaine*", "US troops"],
    "region": ["Iraq", "Irak", "Syria", "mer Rouge", "États-Unis", "Houthi*", "Iran"],
}


def _found(matcher: TopicMatcher, text: str) -> list[str] | None:
    match = matcher.match({"text": text})
    return None if match is None else match.matched


def test_english_article_matches_with_its_terms_and_groups() -> None:
    """An English article with a term of each group matches, naming the terms found per group."""
    match = _matcher(US_MIDEAST).match(
        {"title": "US troops attacked in western Iraq", "description": "The Pentagon said no one was hurt."}
    )
    assert isinstance(match, TopicMatch)
    assert (match.name, match.matched, match.groups) == (
        "t", ["Iraq", "Pentagon", "US troops"], {"us_military": ["Pentagon", "US troops"], "region": ["Iraq"]}
    )


def test_french_article_matches_ignoring_case_and_accents() -> None:
    """French terms match whatever the case and accents: PENTAGONE, etats-unis, ARMEE AMERICAINE."""
    match = _matcher(US_MIDEAST).match({"text": "Le PENTAGONE et l'ARMEE AMERICAINE, selon les etats-unis."})
    assert match is not None
    assert match.matched == ["armée américaine", "Pentagone", "États-Unis"]


def test_record_shape_is_name_matched_and_groups() -> None:
    """to_record() gives the name, sorted matched terms, per-group terms in config order and the scores."""
    match = _matcher(US_MIDEAST).match({"title": "Frappes américaines sur les Houthis en mer Rouge"})
    assert match is not None
    assert match.to_record() == {
        "name": "t",
        "matched": ["frappe* américaine*", "Houthi*", "mer Rouge"],
        "groups": {"us_military": ["frappe* américaine*"], "region": ["Houthi*", "mer Rouge"]},
        "score": 3.0,
        "scores": {"us_military": 1.0, "region": 2.0},
    }
    assert list(match.to_record()["groups"]) == ["us_military", "region"]


def test_phrases_match_across_line_breaks_extra_spaces_and_dashes() -> None:
    """The words of a phrase match across line breaks, runs of spaces, no-break spaces and hyphens."""
    matcher = _matcher(any_of=["mer Rouge", "États-Unis", "armée américaine"])
    assert _found(matcher, "en mer\n   Rouge") == ["mer Rouge"]
    assert _found(matcher, "les Etats Unis") == ["États-Unis"]
    assert _found(matcher, "les États\u2011Unis") == ["États-Unis"]
    assert _found(matcher, "l\u2019armée\u00a0américaine") == ["armée américaine"]
    assert _found(matcher, "la mer est Rouge") is None


def test_typographic_apostrophes_match_plain_ones() -> None:
    """A curly apostrophe in the text matches the straight one in a term, and the other way round."""
    matcher = _matcher(any_of=["golfe d'Aden", "détroit d\u2019Ormuz"])
    assert _found(matcher, "dans le golfe d\u2019Aden") == ["golfe d'Aden"]
    assert _found(matcher, "le detroit d'Ormuz") == ["détroit d\u2019Ormuz"]


def test_terms_match_whole_words_only() -> None:
    """'Iran' matches "Iran" and "Iran's" but not "Irans", "Tirana" or "Iranian"."""
    matcher = _matcher(any_of=["Iran"])
    assert _found(matcher, "Iran's navy") == ["Iran"]
    assert _found(matcher, "in (Iran).") == ["Iran"]
    assert _found(matcher, "the Irans of this world, Tirana, an Iranian") is None


def test_prefix_terms_match_any_word_ending() -> None:
    """A trailing * matches any ending of that word, in single words and inside phrases."""
    matcher = _matcher(any_of=["Houthi*", "frappe* américaine*"])
    assert _found(matcher, "Houthis fire missiles") == ["Houthi*"]
    assert _found(matcher, "Houthi-controlled port") == ["Houthi*"]
    assert _found(matcher, "une frappe américaine") == ["frappe* américaine*"]
    assert _found(matcher, "des frappes américaines") == ["frappe* américaine*"]
    assert _found(matcher, "the Bhouthi family") is None


def test_match_case_terms_keep_their_case() -> None:
    """A match_case term matches its own case only; the other terms ignore case."""
    matcher = _matcher(any_of=[Term("US", match_case=True), Term("US troops", match_case=True), "Pentagon"])
    assert _found(matcher, "the US said") == ["US"]
    assert _found(matcher, "US troops left") == ["US", "US troops"]
    assert _found(matcher, "they gave us troops and told us") is None
    assert _found(matcher, "the pentagon said") == ["Pentagon"]


def test_none_terms_exclude_an_otherwise_matching_article() -> None:
    """An article with a none term does not match, even when every group is satisfied."""
    matcher = _matcher(US_MIDEAST, none_of=["Call of Duty"])
    assert matcher.match({"text": "US troops in Iraq"}) is not None
    assert matcher.match({"text": "US troops in Iraq, as in Call of Duty"}) is None
    assert matcher.match({"title": "Call of Duty", "text": "US troops in Iraq"}) is None


def test_every_all_group_must_have_a_term() -> None:
    """An article with terms of one group only does not match."""
    matcher = _matcher(US_MIDEAST)
    assert matcher.match({"text": "The Pentagon announced a budget."}) is None
    assert matcher.match({"text": "Floods in Iraq."}) is None
    assert matcher.match({"text": "The Pentagon on floods in Iraq."}) is not None


def test_any_terms_are_required_when_listed() -> None:
    """With any terms listed, at least one must occur besides the all groups."""
    matcher = _matcher({"region": ["Iraq"]}, any_of=["drone*", "missile*"])
    assert matcher.match({"text": "Elections in Iraq."}) is None
    match = matcher.match({"text": "Drones over Iraq."})
    assert match is not None
    assert match.matched == ["drone*", "Iraq"]
    assert match.groups == {"region": ["Iraq"]}


def test_only_the_topic_fields_are_searched() -> None:
    """Fields outside topic.fields are ignored, missing or None fields are skipped."""
    matcher = _matcher(any_of=["Pentagon"], fields=("title",))
    assert matcher.match({"title": None, "text": "Pentagon"}) is None
    assert matcher.match({"text": "Pentagon"}) is None
    assert matcher.match({"title": "Pentagon"}) is not None


def test_phrases_do_not_span_two_fields() -> None:
    """A phrase is not found across the end of one field and the start of the next."""
    matcher = _matcher(any_of=["mer Rouge"])
    assert matcher.match({"title": "Tempête en mer", "description": "Rouge de colère"}) is None


def test_terms_inside_a_longer_match_are_found_too() -> None:
    """Terms that start inside another term's match are reported, not hidden by it."""
    matcher = _matcher(any_of=["armée", "armée américaine", "américaine", "Joint Chiefs", "Chiefs of Staff"])
    assert _found(matcher, "l'armée américaine") == ["américaine", "armée", "armée américaine"]
    assert _found(matcher, "the Joint Chiefs of Staff") == ["Chiefs of Staff", "Joint Chiefs"]


def test_spellings_that_normalise_alike_are_all_reported() -> None:
    """Two terms differing only by accents both appear in matched, once each."""
    matcher = _matcher(any_of=["Israel", "Israël", "Israel"])
    assert _found(matcher, "ISRAËL and Israel") == ["Israel", "Israël"]


def test_a_term_at_the_end_of_a_long_text_is_found() -> None:
    """Matching scans the whole text: a term after 200,000 characters of other words is found."""
    matcher = _matcher(US_MIDEAST)
    text = "Weather and markets today. " * 8000 + "The Pentagon confirmed strikes in Syria."
    match = matcher.match({"text": text})
    assert match is not None
    assert match.matched == ["Pentagon", "Syria"]


def test_normalize_strips_accents_ligatures_and_typographic_marks() -> None:
    """normalize() removes accents and spells out ligatures and typographic apostrophes and dashes."""
    assert normalize("Œuvre d\u2019État\u2014Straße") == "OEuvre d'Etat-Strasse"
    assert normalize("Pen\u00adtagone") == "Pentagone"


@pytest.mark.parametrize("text", ["*", "a*b", "--"])
def test_terms_without_a_word_are_refused(text: str) -> None:
    """A term the matcher cannot compile raises ValueError naming it."""
    with pytest.raises(ValueError, match="topic term"):
        _matcher(any_of=[text])


def test_packaged_topic_matches_english_and_french_coverage() -> None:
    """The packaged example's topic keeps US-military Middle East stories in both languages, not others."""
    topic = load_config(env={}).topic
    assert topic is not None
    matcher = TopicMatcher(topic)
    english = matcher.match({"title": "Houthis fire on US warship in the Red Sea, CENTCOM says"}, "en")
    french = matcher.match({"title": "Des soldats américains blessés en Syrie, selon le Pentagone"}, "fr")
    assert english is not None
    assert english.groups == {"us_military": ["CENTCOM", "US warship", "warship"], "region": ["Houthi*", "Red Sea"]}
    assert french is not None
    assert french.groups == {
        "us_military": ["Pentagone", "Pentagone NEAR/s soldat", "soldat américain"], "region": ["Syrie*"]
    }
    assert matcher.match({"title": "Iraq qualifies for the World Cup", "text": "Fans in Baghdad cheered."}) is None
    assert matcher.match({"title": "Pentagon budget hearing", "text": "Congress debated procurement."}) is None
