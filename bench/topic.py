"""Topic filtering benchmark: precision and recall per language, and the cost per item.

    .venv/bin/python bench/topic.py                    # the packaged topic
    .venv/bin/python bench/topic.py --config my.yaml   # another configuration's topic
    .venv/bin/python bench/topic.py --errors tune      # also list the tuning part's mistakes

Reads the labelled set under ``tests/data/topic/`` (JSON lines ``{"id", "title", "text",
"language", "label"}``, label ``on``, ``related`` or ``off``): ``tune.jsonl`` is the part the
packaged topic was tuned on, ``holdout.jsonl`` the part it never was. For each part and
language it prints precision and recall of the ``on`` items, and the share of ``related`` and
``off`` items kept; then the matcher's cost per item (title and lead, best of five runs).
It measures; it never asserts (tests/test_topic_quality.py holds the targets).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from newsmon.crawler.topic import TopicMatcher
from newsmon.settings.loader import load_config

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "topic"
PARTS = ("tune", "holdout")


def load(part: str) -> list[dict[str, Any]]:
    with open(DATA / f"{part}.jsonl", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def keep(matcher: TopicMatcher, item: dict[str, Any]) -> bool:
    return matcher.evaluate({"title": item["title"], "text": item["text"]}, item.get("language")).kept


def figures(matcher: TopicMatcher, items: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per language: n, precision and recall of the ``on`` items, share of related and off kept."""
    counts: dict[str, Counter[str]] = {}
    for item in items:
        kept = keep(matcher, item)
        count = counts.setdefault(item["language"], Counter())
        count[item["label"]] += 1
        count[f"{item['label']}_kept"] += kept
    out = {}
    for language, c in sorted(counts.items()):
        kept = c["on_kept"] + c["related_kept"] + c["off_kept"]
        out[language] = {
            "n": c["on"] + c["related"] + c["off"],
            "precision": c["on_kept"] / kept if kept else 1.0,
            "recall": c["on_kept"] / c["on"] if c["on"] else 1.0,
            "related_kept": c["related_kept"] / c["related"] if c["related"] else 0.0,
            "off_kept": c["off_kept"] / c["off"] if c["off"] else 0.0,
        }
    return out


def cost(matcher: TopicMatcher, items: list[dict[str, Any]]) -> float:
    """Microseconds per item, best of five runs."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for item in items:
            keep(matcher, item)
        best = min(best, time.perf_counter() - started)
    return best / len(items) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, help="configuration file (default: the packaged example)")
    parser.add_argument("--errors", choices=PARTS, help="list this part's misclassified items")
    args = parser.parse_args()
    topic = load_config(args.config, env={}).topic
    if topic is None:
        parser.error("the configuration has no topic")
    started = time.perf_counter()
    matcher = TopicMatcher(topic)
    build_ms = (time.perf_counter() - started) * 1000
    print(f"topic {topic.name}: {DATA}")
    print(f"{'part':8} {'lang':4} {'n':>4} {'precision':>9} {'recall':>6} {'related kept':>12} {'off kept':>8}")
    every = []
    for part in PARTS:
        items = load(part)
        every += items
        for language, f in figures(matcher, items).items():
            print(f"{part:8} {language:4} {f['n']:4.0f} {f['precision']:9.2f} {f['recall']:6.2f} "
                  f"{f['related_kept']:12.0%} {f['off_kept']:8.0%}")
    print(f"cost: {cost(matcher, every):.1f} µs per item (title + lead, {len(every)} items); "
          f"matcher built in {build_ms:.1f} ms")
    if args.errors:
        for item in load(args.errors):
            verdict = matcher.evaluate({"title": item["title"], "text": item["text"]}, item["language"])
            if verdict.kept != (item["label"] == "on"):
                print(f"{item['id']:16} {'KEPT' if verdict.kept else 'MISS'} {verdict.score:5.2f} "
                      f"{json.dumps(verdict.groups, ensure_ascii=False)} | {item['title']}")


if __name__ == "__main__":
    main()
