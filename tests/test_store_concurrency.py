"""Concurrent workers racing on the same stories: nothing published twice, nothing lost."""

from __future__ import annotations

import json
import multiprocessing
import random
from collections import Counter
from typing import Any

import redis

from newsmon.scheduler.keys import Keys
from newsmon.scheduler.redis_conn import connect
from newsmon.scheduler.store import Fingerprints, StoryStore

WORKERS = 6
TEXTS = 30
OUTLETS = ("https://cpa.example", "https://daily.example", "https://gazette.example")


def items() -> list[dict[str, Any]]:
    """Each of TEXTS stories, word for word the same on every outlet."""
    out = []
    for t in range(TEXTS):
        text = " ".join(f"story{t} word{w} about the harbour and bridge number {w * t}" for w in range(30))
        for outlet in OUTLETS:
            url = f"{outlet}/news/{t}"
            out.append({
                "schema_version": 1, "url": url, "canonical_url": url, "source": outlet.split("//")[1],
                "title": f"Story {t}", "text": text, "published": None, "modified": None,
                "authors": [], "tags": [],
            })
    return out


def race(url: str, prefix: str, seed: int, barrier: Any, results: Any) -> None:
    """One worker: publish every item (in its own order) as soon as all workers are ready."""
    client = connect(url)
    store = StoryStore(client, Keys(prefix))
    work = items()
    random.Random(seed).shuffle(work)
    barrier.wait()
    outcomes = []
    for record in work:
        outcome = store.publish(record, Fingerprints.of(record, [record["canonical_url"]]))
        outcomes.append((record["canonical_url"], outcome.event, outcome.reason))
    results.put(outcomes)
    client.close()


def test_racing_workers_publish_each_page_once(redis_url: str, redis_client: redis.Redis, keys: Keys) -> None:
    """Six processes publishing the same 90 pages: one entry per page, one "new" per story."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    results = ctx.Queue()
    workers = [ctx.Process(target=race, args=(redis_url, keys.prefix, seed, barrier, results))
               for seed in range(WORKERS)]
    for worker in workers:
        worker.start()
    outcomes = [o for _ in workers for o in results.get(timeout=120)]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0

    records = [json.loads(f[b"record"]) for _, f in redis_client.xrange(keys.articles)]
    per_url = Counter(r["canonical_url"] for r in records)
    assert per_url == Counter({item["canonical_url"]: 1 for item in items()})
    new = [r for r in records if r["event"] == "new"]
    assert len(new) == TEXTS
    by_text = {r["text"]: r["id"] for r in new}
    assert all(r["duplicate_of"] == by_text[r["text"]] for r in records if r["event"] == "duplicate")
    published = Counter(event for _, event, _ in outcomes if event)
    assert published == Counter({"new": TEXTS, "duplicate": TEXTS * (len(OUTLETS) - 1)})
    assert len(outcomes) == WORKERS * TEXTS * len(OUTLETS)
