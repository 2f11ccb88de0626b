"""The second topic syntax: weights and scores, field scope, NEAR, unless_near, per-language terms,
inflections and acronym forms; and the first syntax behaving as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsmon.crawler.topic import TopicMatcher, inflections
from newsmon.settings.loader import ConfigError, load_config
from newsmon.settings.model import Term, Topic

SOURCES = "sources:\n  - name: s\n    feeds: [https://a.example/rss]\n"


def _topic(tmp_path: Path, yaml: str) -> Topic:
    path = tmp_path / "newsmon.yaml"
    path.write_text(SOURCES + yaml)
    topic = load_config(path, env={}).topic
    assert topic is not None
    return topic


def _kept(matcher: TopicMatcher, title: str, text: str = "", language: str | None = None) -> bool:
    return matcher.evaluate({"title": title, "text": text}, language).kept


def test_acronym_tokens_match_their_forms_and_keep_case() -> None:
    """With acronyms, "US base" matches "US Base", "U.S. base", "USA bases"; not "us base" or "US-based"."""
    matcher = TopicMatcher(Topic("t", any=(Term("US base"),), inflect=True, acronyms=True))
    for text in ("Rockets hit US Base in Syria", "A U.S. base was hit", "Two USA bases", "US bases in Iraq"):
        assert _kept(matcher, text), text
    for text in ("a US-based charity", "give us base pay", "Us base camp"):
        assert not _kept(matcher, text), text


def test_inflections_cover_english_plurals_and_french_gender_and_number() -> None:
    """inflect matches plurals and French feminine forms without "*", but never verb forms like "based"."""
    assert set(inflections("base", ["en"])) == {"base", "bases"}
    assert {"americain", "americaine", "americains", "americaines"} <= set(inflections("americain", ["fr"]))
    assert "navaux" in inflections("naval", ["fr"])
    matcher = TopicMatcher(Topic("t", any=(Term("soldat américain"), Term("US destroyer")), inflect=True,
                                 acronyms=True))
    assert _kept(matcher, "Des soldats américains blessés")
    assert _kept(matcher, "Two U.S. destroyers arrive")
    assert not _kept(matcher, "Les soldats américanisés")


def test_weights_and_group_minimum_need_more_than_a_passing_mention() -> None:
    """A half-weight term alone misses a group of min_score 1; two of them, or one strong term, reach it."""
    weak = (Term("Pentagon", weight=0.5), Term("destroyer", weight=0.5), Term("US troops"))
    matcher = TopicMatcher(Topic("t", all=(("us", weak), ("region", (Term("Israel*"),)))))
    passing = matcher.evaluate({"title": "Pentagon chief warns Israel"})
    assert (passing.kept, passing.missed, passing.scores["us"]) == (False, ["us"], 0.5)
    assert _kept(matcher, "Pentagon sends destroyer to Israel")
    assert _kept(matcher, "US troops near Israel")


def test_threshold_and_title_weight_score_the_article() -> None:
    """title_weight multiplies title hits; threshold needs the total score."""
    topic = Topic("t", any=(Term("Houthi*"), Term("Red Sea")), threshold=3, title_weight=2)
    matcher = TopicMatcher(topic)
    assert matcher.evaluate({"title": "Houthis in the Red Sea"}).score == 4
    assert _kept(matcher, "Houthis in the Red Sea")
    assert not _kept(matcher, "News", "Houthis in the Red Sea")  # 2 below 3 in the text


def test_field_scope_counts_a_term_only_where_listed() -> None:
    """A term with fields: [title] counts in the headline only."""
    matcher = TopicMatcher(Topic("t", any=(Term("Gaza", fields=("title",)),)))
    assert _kept(matcher, "Gaza aid")
    assert not _kept(matcher, "Aid", "Trucks reached Gaza.")


def test_near_needs_both_sides_close_or_in_one_sentence() -> None:
    """A NEAR/2 B needs at most two words between; A NEAR/s B the same sentence (U.S. is no sentence end)."""
    matcher = TopicMatcher(Topic("t", any=(Term("US NEAR/2 jet"), Term("Pentagon NEAR/s troop")), inflect=True,
                                 acronyms=True))
    assert _kept(matcher, "US and British jets strike")
    assert not _kept(matcher, "US officials said that Israeli jets struck")
    assert _kept(matcher, "The Pentagon, citing U.S. officials, said troops would go.")
    assert not _kept(matcher, "The Pentagon spoke. Israeli troops moved.")


def test_unless_near_discards_a_hit_in_that_context() -> None:
    """A term does not count with an unless_near word within the given words (or the sentence)."""
    term = Term("Pentagon", unless_near=("budget", "audit"), within=3)
    matcher = TopicMatcher(Topic("t", any=(term,)))
    assert not _kept(matcher, "Pentagon fails its audit")
    assert _kept(matcher, "Pentagon warns Iran over attacks on shipping lanes, budget talks later")
    sentence = TopicMatcher(Topic("t", any=(Term("Pentagone", unless_near=("budget",)),)))
    assert not _kept(sentence, "Le budget du Pentagone augmente")
    assert _kept(sentence, "Le budget augmente. Le Pentagone envoie des troupes.")


def test_language_lists_apply_to_their_language_only() -> None:
    """An en: term counts in English articles and in articles of unknown language, not in French ones."""
    matcher = TopicMatcher(Topic("t", any=(Term("Pentagon", languages=("en",)),)))
    assert _kept(matcher, "Pentagon", language="en")
    assert _kept(matcher, "Pentagon", language=None)
    assert not _kept(matcher, "Pentagon", language="fr")


def test_evaluate_explains_a_miss_per_group() -> None:
    """evaluate() says which groups missed, which terms each found, and which none term excluded."""
    matcher = TopicMatcher(Topic("t", all=(("a", (Term("Iran"),)), ("b", (Term("Navy"),))), none=(Term("football"),)))
    verdict = matcher.evaluate({"title": "Iran football"})
    assert (verdict.kept, verdict.groups, verdict.missed, verdict.excluded) == (
        False, {"a": ["Iran"], "b": []}, ["b"], ["football"])
    assert verdict.reason == "excluded by football"


def test_first_syntax_loads_and_matches_as_before(tmp_path: Path) -> None:
    """An old all/any/none topic with match_case loads unchanged and keeps the old meaning (no inflection)."""
    topic = _topic(tmp_path, """\
topic:
  name: old
  all:
    us: [Pentagon, {term: US base*, match_case: true}]
    region: [Iraq]
  none: [football]
""")
    assert topic == Topic("old", all=(("us", (Term("Pentagon"), Term("US base*", match_case=True))),
                                      ("region", (Term("Iraq"),))), none=(Term("football"),))
    matcher = TopicMatcher(topic)
    assert _kept(matcher, "US based in Iraq")  # the old prefix semantics, kept
    assert not _kept(matcher, "US BASES in Iraq")  # match_case still applies to the whole phrase
    assert not _kept(matcher, "Pentagons in Iraq")  # no inflection without inflect: true
    assert not _kept(matcher, "Pentagon in Iraq football")
    assert matcher.evaluate({"title": "Pentagon in Iraq"}).to_record()["groups"] == {"us": ["Pentagon"],
                                                                                     "region": ["Iraq"]}


def test_second_syntax_builds_the_model(tmp_path: Path) -> None:
    """Language lists, min_score, weights, fields, unless_near/within and topic options become the model."""
    topic = _topic(tmp_path, """\
topic:
  name: new
  inflect: true
  acronyms: true
  threshold: 2.5
  title_weight: 1.5
  all:
    us:
      min_score: 1.5
      terms: [CENTCOM]
      en: [{term: Pentagon, weight: 0.5, unless_near: [budget], within: 4}, US NEAR/3 jet]
      fr: [{term: Pentagone, fields: [title]}]
    region: [Gaza]
""")
    assert topic.all[0] == ("us", (
        Term("CENTCOM"),
        Term("Pentagon", weight=0.5, unless_near=("budget",), within=4, languages=("en",)),
        Term("US NEAR/3 jet", languages=("en",)),
        Term("Pentagone", fields=("title",), languages=("fr",)),
    ))
    assert (topic.minimums, topic.threshold, topic.title_weight, topic.inflect, topic.acronyms) == (
        (("us", 1.5),), 2.5, 1.5, True, True)


def test_second_syntax_errors_name_file_line_and_field(tmp_path: Path) -> None:
    """Bad NEAR, weights, scores, language keys, fields and within are refused as file:line: field: message."""
    path = tmp_path / "newsmon.yaml"
    path.write_text(SOURCES + """\
topic:
  name: t
  threshold: 0
  all:
    us:
      min_score: -1
      english: [Pentagon]
      en: [A NEAR/x B, {term: Pentagon, weight: 0}, {term: CENTCOM, within: 3}]
    region:
      fr: [{term: Gaza, fields: [body], unless_near: [a NEAR/2 b], within: 99}]
""")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert str(caught.value).splitlines() == [
        f"{path}:6: topic.threshold: expected a number above 0, got 0",
        f"{path}:9: topic.all.us.min_score: expected a number above 0, got -1",
        f'{path}:10: topic.all.us.english: unknown key; expected terms, min_score or a language code: expected a '
        f'two-letter ISO 639-1 code like "en" or "fr", got "english"',
        f'{path}:11: topic.all.us.en[0]: expected NEAR/s (the same sentence) or NEAR/n with n from 1 to 50 words, '
        f'got "A NEAR/x B"',
        f"{path}:11: topic.all.us.en[1].weight: expected a number other than 0, from -10 to 10, got 0",
        f"{path}:11: topic.all.us.en[2].within: only means something with unless_near",
        f'{path}:13: topic.all.region.fr[0].fields[0]: expected one of title, description, text, got "body"',
        f'{path}:13: topic.all.region.fr[0].unless_near[0]: expected a word or phrase without NEAR, got "a NEAR/2 b"',
        f"{path}:13: topic.all.region.fr[0].within: expected sentence or a number of words from 1 to 50, got 99",
    ]
