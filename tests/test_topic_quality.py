"""The packaged topic on the held-out part of the labelled set (tests/data/topic/holdout.jsonl)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from newsmon.crawler.topic import TopicMatcher
from newsmon.settings.loader import load_config

HOLDOUT = Path(__file__).parent / "data" / "topic" / "holdout.jsonl"


def test_packaged_topic_reaches_the_targets_on_the_holdout_part() -> None:
    """English on-topic precision and recall >= 0.90; French related kept <= 10 %, off-topic kept <= 5 %."""
    topic = load_config(env={}).topic
    assert topic is not None
    matcher = TopicMatcher(topic)
    counts: Counter[tuple[str, str, bool]] = Counter()
    for line in HOLDOUT.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        kept = matcher.evaluate({"title": item["title"], "text": item["text"]}, item["language"]).kept
        counts[item["language"], item["label"], kept] += 1
    en_kept = sum(n for (lang, _, kept), n in counts.items() if lang == "en" and kept)
    en_on = counts["en", "on", True] + counts["en", "on", False]
    assert counts["en", "on", True] / en_kept >= 0.90
    assert counts["en", "on", True] / en_on >= 0.90
    fr_related = counts["fr", "related", True] + counts["fr", "related", False]
    fr_off = counts["fr", "off", True] + counts["fr", "off", False]
    assert counts["fr", "related", True] / fr_related <= 0.10
    assert counts["fr", "off", True] / fr_off <= 0.05
    assert min(en_on, fr_related, fr_off) >= 10  # enough items for the ratios to mean something
