"""Deduplication benchmark: every issue-5 target, measured, in one command.

    .venv/bin/python bench/dedup.py                 # a private embedded redis-server (6.2)
    .venv/bin/python bench/dedup.py --redis-url redis://127.0.0.1:6379/11
    .venv/bin/python bench/dedup.py --quick         # smaller sizes, for a first look

Against a named server it works under a key prefix of its own and deletes only those keys;
it never flushes a database. Sections:

1. URL canonicalization over ``tests/data/dedup/url_variants.txt``.
2. Near-duplicate precision and recall over the labelled set (``bench/dedup_corpus.py``),
   through the real store and Lua script, in several independent renderings.
3. Memory: ``MEMORY USAGE`` and ``INFO memory`` at N seen URLs and M indexed stories.
4. Latency of fingerprinting + publish per article, with the M stories indexed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dedup_corpus import Document, load_stories, render

from newsmon.crawler.fingerprint import story_id
from newsmon.crawler.urls import canonicalize
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.redis_conn import EmbeddedRedis, connect, redact, server_version
from newsmon.scheduler.store import Fingerprints, StoryStore
from newsmon.settings.model import DedupSettings, FeedSettings

URL_TABLE = Path(__file__).resolve().parent.parent / "tests" / "data" / "dedup" / "url_variants.txt"


class Clock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def delete_prefix(client: redis.Redis, keys: Keys) -> None:
    pattern = keys.tag.replace("{", r"\{").replace("}", r"\}") + ":*"
    batch: list[bytes] = []
    for key in client.scan_iter(match=pattern, count=5000):
        batch.append(key)
        if len(batch) >= 5000:
            client.unlink(*batch)
            batch = []
    if batch:
        client.unlink(*batch)


def memory_by_family(client: redis.Redis, keys: Keys) -> tuple[dict[str, int], dict[str, Counter[str]], int]:
    """MEMORY USAGE summed per key family (the part after the tag), encodings, key count."""
    pattern = keys.tag.replace("{", r"\{").replace("}", r"\}") + ":*"
    names = [k.decode() for k in client.scan_iter(match=pattern, count=5000)]
    sizes: dict[str, int] = Counter()
    encodings: dict[str, Counter[str]] = {}
    for i in range(0, len(names), 2000):
        chunk = names[i : i + 2000]
        pipe = client.pipeline(transaction=False)
        for name in chunk:
            pipe.memory_usage(name, samples=0)
            pipe.object("encoding", name)
        answers = pipe.execute()
        for j, name in enumerate(chunk):
            family = name[len(keys.tag) + 1 :].split(":")[0]
            if family == "seen":
                family = "seen:" + name.split(":")[2]
            sizes[family] += int(answers[2 * j] or 0)
            encoding = answers[2 * j + 1]
            encodings.setdefault(family, Counter())[encoding.decode() if encoding else "?"] += 1
    return dict(sizes), encodings, len(names)


def settle(client: redis.Redis, limit: float = 120.0) -> None:
    """Wait (bounded) until no AOF rewrite or RDB save runs in the background."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        info = client.info("persistence")
        if not info.get("aof_rewrite_in_progress") and not info.get("rdb_bgsave_in_progress"):
            return
        time.sleep(0.2)  # polling a server-side state, bounded by the deadline


def used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


# -- 1. canonicalization ---------------------------------------------------------------------

def url_groups() -> list[tuple[str, list[str]]]:
    groups: list[tuple[str, list[str]]] = []
    for raw in URL_TABLE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("= "):
            groups.append((line[2:], []))
        else:
            groups[-1][1].append(line)
    return groups


def bench_canonicalization() -> dict[str, Any]:
    groups = url_groups()
    failures = []
    ids = []
    for expected, variants in groups:
        got = {canonicalize(v) for v in [expected, *variants]}
        if got != {expected}:
            failures.append((expected, sorted(got - {expected})))
        ids.append(story_id(expected))
    return {
        "groups": len(groups),
        "variants": sum(len(v) + 1 for _, v in groups),
        "failures": failures,
        "distinct": len(set(ids)) == len(ids),
    }


# -- 2. labelled set ---------------------------------------------------------------------------

def record_of(doc: Document, url: str | None = None) -> dict[str, Any]:
    url = url or canonicalize(doc.url)
    return {
        "schema_version": 1, "url": doc.url, "canonical_url": url, "source": doc.outlet, "title": doc.title,
        "text": doc.text, "description": None, "language": "en", "published": None, "published_from": None,
        "modified": None, "authors": [], "image": None, "tags": [], "sitename": doc.outlet, "access": "free",
        "fetched_at": "2024-05-14T12:00:00Z", "discovered_via": {"kind": "feed", "url": "https://x.example/rss"},
        "topic": None,
    }


def bench_labelled(client: redis.Redis, rounds: int, seed: int) -> dict[str, Any]:
    stories = {s.id: s for s in load_stories()}
    tp = fp = fn = 0
    merges: Counter[str] = Counter()
    missed: Counter[str] = Counter()
    documents = 0
    for r in range(rounds):
        keys = Keys(f"newsmon-bench-{uuid.uuid4().hex[:8]}")
        clock = Clock(time.time())
        store = StoryStore(client, keys, clock=clock)
        label_of: dict[str, str] = {}
        published: set[str] = set()
        try:
            for doc in render(list(stories.values()), seed=seed + r):
                documents += 1
                clock.now += 60
                record = record_of(doc)
                outcome = store.publish(record, Fingerprints.of(record, [record["canonical_url"]]))
                has_earlier = doc.story in published
                published.add(doc.story)
                if outcome.event == "new":
                    label_of[outcome.story_id] = doc.story
                    if has_earlier:
                        fn += 1
                        missed[doc.outlet] += 1
                elif outcome.event == "duplicate":
                    label_of[outcome.story_id] = doc.story
                    linked = label_of.get(outcome.duplicate_of or "")
                    if linked == doc.story:
                        tp += 1
                    else:
                        fp += 1
                        fn += has_earlier
                        other = stories[linked] if linked else None
                        kind = "other topic"
                        if other is not None and other.topic == stories[doc.story].topic:
                            follow = doc.story in (other.follows, None) or other.id == stories[doc.story].follows
                            kind = "follow-up" if follow else "same topic"
                        merges[kind] += 1
                else:
                    raise AssertionError(f"unexpected outcome {outcome} for {doc.url}")
        finally:
            delete_prefix(client, keys)
    return {
        "rounds": rounds, "documents": documents, "tp": tp, "fp": fp, "fn": fn,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "merges": merges, "missed": missed,
    }


# -- 3. memory ---------------------------------------------------------------------------------

def synthetic_urls(n: int, salt: str) -> Iterator[str]:
    for i in range(n):
        yield f"https://outlet{i % 997}.example/news/2024/{i % 12 + 1:02d}/{salt}-story-{i}"


def bench_seen_urls(client: redis.Redis, n: int) -> dict[str, Any]:
    keys = Keys(f"newsmon-bench-{uuid.uuid4().hex[:8]}")
    dedup = DedupSettings()
    window = dedup.window.total_seconds()
    start = time.time() - window  # the URLs arrive evenly over one window, ending now
    clock = Clock(start)
    store = StoryStore(client, keys, dedup, clock=clock)
    before = used_memory(client)
    batch: list[str] = []
    try:
        for i, url in enumerate(synthetic_urls(n, "seen")):
            batch.append(url)
            if len(batch) == 2000:
                clock.now = start + window * i / n
                store.mark_seen(batch)
                batch = []
        if batch:
            store.mark_seen(batch)
        clock.now = start + window
        after = used_memory(client)
        sizes, encodings, key_count = memory_by_family(client, keys)
        # No false positives observed: every inserted URL is seen, no fresh URL is.
        sample = list(synthetic_urls(n, "seen"))[:: max(1, n // 50_000)]
        missing = sum(len(store.unseen(sample[i : i + 500])) for i in range(0, len(sample), 500))
        fresh = list(synthetic_urls(100_000, "fresh"))
        false_positives = sum(500 - len(store.unseen(fresh[i : i + 500])) for i in range(0, len(fresh), 500))
        lookups = []
        for i in range(0, 20_000, 50):
            t0 = time.perf_counter()
            store.unseen(fresh[i : i + 50])
            lookups.append((time.perf_counter() - t0) * 1000)
    finally:
        delete_prefix(client, keys)
    return {
        "n": n, "usage": sizes.get("seen:u", 0), "info": after - before, "keys": key_count,
        "encodings": encodings.get("seen:u", Counter()), "missing": missing,
        "false_positives": false_positives, "checked_fresh": len(fresh),
        "unseen50_p99": percentile(lookups, 99),
    }


def random_fingerprints(rng: random.Random, i: int) -> tuple[dict[str, Any], Fingerprints]:
    canonical = f"https://outlet{i % 997}.example/news/2024/story-{i}"
    record = {"schema_version": 1, "url": canonical + "?utm_source=rss", "canonical_url": canonical,
              "source": f"outlet{i % 997}", "title": "t", "text": "x", "authors": [], "tags": []}
    bits = rng.getrandbits
    fp = Fingerprints(
        urls=(canonical, f"https://outlet{i % 997}.example/n/{i}"),
        text=bits(64), simhash=bits(64), title=bits(64),
        anchors=tuple((band << 62) | bits(62) for band in range(4)),
    )
    return record, fp


def bench_stories(client: redis.Redis, n: int, seed: int, rounds: int) -> dict[str, Any]:
    keys = Keys(f"newsmon-bench-{uuid.uuid4().hex[:8]}")
    dedup = DedupSettings()
    near = dedup.near_window.total_seconds()
    start = time.time() - near  # the stories arrive evenly over one near window, ending now
    clock = Clock(start)
    store = StoryStore(client, keys, dedup, FeedSettings(max_length=1000), clock=clock)
    rng = random.Random(seed)
    before = used_memory(client)
    fill = []
    try:
        for i in range(n):
            clock.now = start + near * i / n
            record, fp = random_fingerprints(rng, i)
            t0 = time.perf_counter()
            outcome = store.publish(record, fp)
            fill.append((time.perf_counter() - t0) * 1000)
            if outcome.event != "new":
                raise AssertionError(f"random story {i} was not new: {outcome}")
        clock.now = start + near
        after = used_memory(client)
        sizes, encodings, key_count = memory_by_family(client, keys)

        # Latency per article with the index full: fingerprint + publish, real texts; not
        # while the server rewrites its AOF after the bulk load (a fork: an artifact of the bench).
        settle(client)
        fingerprint_ms: list[float] = []
        publish_ms: list[float] = []
        total_ms: list[float] = []
        stories = load_stories()
        for r in range(rounds):
            for doc in render(stories, seed=seed + 1000 + r):
                clock.now += 1
                record = record_of(doc, canonicalize(doc.url) + f"?r={r}")
                t0 = time.perf_counter()
                fp = Fingerprints.of(record, [record["canonical_url"]])
                t1 = time.perf_counter()
                store.publish(record, fp)
                t2 = time.perf_counter()
                fingerprint_ms.append((t1 - t0) * 1000)
                publish_ms.append((t2 - t1) * 1000)
                total_ms.append((t2 - t0) * 1000)
        long_text = "\n\n".join(p for s in stories[:6] for p in s.paragraphs)
        long_ms = []
        for _ in range(200):
            t0 = time.perf_counter()
            Fingerprints.of({"text": long_text, "title": "x"}, ["https://x.example/a"])
            long_ms.append((time.perf_counter() - t0) * 1000)
    finally:
        delete_prefix(client, keys)
    stream = sizes.pop("articles", 0)
    index = sizes.get("near", 0) + sizes.get("title", 0)
    state = sum(sizes.values())
    return {
        "n": n, "sizes": sizes, "encodings": encodings, "keys": key_count, "stream": stream,
        "index": index, "state": state, "info": after - before - stream,
        "fill_p50": statistics.median(fill), "fill_p99": percentile(fill, 99),
        "fingerprint_p99": percentile(fingerprint_ms, 99), "publish_p50": statistics.median(publish_ms),
        "publish_p99": percentile(publish_ms, 99), "total_p50": statistics.median(total_ms),
        "total_p99": percentile(total_ms, 99), "articles": len(total_ms),
        "long_words": len(long_text.split()), "long_p99": percentile(long_ms, 99),
    }


# -- main --------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis-url", help="use this server (a prefix of its own) instead of a private one")
    parser.add_argument("--urls", type=int, default=1_000_000)
    parser.add_argument("--stories", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=10, help="renderings of the labelled set")
    parser.add_argument("--seed", type=int, default=100, help="first rendering seed (1-5 were used for tuning)")
    parser.add_argument("--quick", action="store_true", help="100k URLs, 10k stories, 3 rounds")
    args = parser.parse_args(argv)
    if args.quick:
        args.urls, args.stories, args.rounds = 100_000, 10_000, 3

    embedded = None
    if args.redis_url:
        client = connect(args.redis_url)
        where = redact(args.redis_url)
    else:
        directory = Path(tempfile.mkdtemp(prefix="newsmon-bench-"))
        embedded = EmbeddedRedis(directory)
        client = connect(embedded.acquire())
        where = f"private embedded redis-server under {directory}"
    try:
        config = client.config_get("set-max-intset-entries")
        config.update(client.config_get("hash-max-ziplist-entries"))
        version = ".".join(map(str, server_version(client)))
        print(f"Redis {version} ({where}); " + ", ".join(f"{k} {v}" for k, v in sorted(config.items())))
        if args.redis_url:
            print("   (a shared server: INFO deltas and latencies include other clients' work)")

        t0 = time.perf_counter()
        canon = bench_canonicalization()
        print(f"\n1. URL canonicalization: {canon['variants']} URLs in {canon['groups']} groups (stories)")
        for expected, wrong in canon["failures"]:
            print(f"   MISMATCH {expected}: also {wrong}")
        print(f"   every variant -> its group's URL: {not canon['failures']}; groups stay distinct: "
              f"{canon['distinct']}")

        lab = bench_labelled(client, args.rounds, args.seed)
        print(f"\n2. Near duplicates, labelled set: {lab['documents']} documents in {lab['rounds']} renderings "
              f"(seeds {args.seed}..{args.seed + args.rounds - 1})")
        print(f"   decisions: {lab['tp']} copies linked right, {lab['fp']} linked wrong, {lab['fn']} copies missed")
        print(f"   precision {lab['precision']:.4f}  recall {lab['recall']:.4f}")
        print(f"   distinct stories merged: {sum(lab['merges'].values())} {dict(lab['merges']) or ''}")
        print(f"   missed copies by outlet template: {dict(lab['missed'])}")

        urls = bench_seen_urls(client, args.urls)
        print(f"\n3a. Seen URLs: {urls['n']:,} over one window, {urls['keys']:,} keys "
              f"(encodings {dict(urls['encodings'])})")
        print(f"   MEMORY USAGE {urls['usage'] / urls['n']:.2f} B/URL; INFO used_memory delta "
              f"{urls['info'] / urls['n']:.2f} B/URL")
        print(f"   no false positives: {urls['missing']} inserted URLs reported unseen, {urls['false_positives']} of "
              f"{urls['checked_fresh']:,} fresh URLs reported seen (64-bit hashes: P(false positive) "
              f"~ n/2^64 = {urls['n'] / 2**64:.1e} per lookup)")
        print(f"   unseen() of 50 URLs: p99 {urls['unseen50_p99']:.2f} ms")

        st = bench_stories(client, args.stories, args.seed, args.rounds)
        print(f"\n3b. Indexed stories: {st['n']:,} over one near window, {st['keys']:,} keys")
        for family, size in sorted(st["sizes"].items()):
            print(f"   {family:8s} {size / st['n']:7.1f} B/story   encodings {dict(st['encodings'][family])}")
        print(f"   near-duplicate index (anchors + titles): {st['index'] / st['n']:.1f} B/story")
        print(f"   all dedup state (+ story state, seen texts, 2 seen URLs per story): "
              f"{st['state'] / st['n']:.1f} B/story; INFO delta without the stream {st['info'] / st['n']:.1f} B/story")
        print(f"   publish while filling: p50 {st['fill_p50']:.3f} ms, p99 {st['fill_p99']:.3f} ms")
        print(f"\n4. Latency per article, {st['articles']} labelled articles against the full index:")
        print(f"   fingerprint p99 {st['fingerprint_p99']:.3f} ms; publish p50 {st['publish_p50']:.3f} "
              f"p99 {st['publish_p99']:.3f} ms; together p50 {st['total_p50']:.3f} p99 {st['total_p99']:.3f} ms")
        print(f"   fingerprint of a {st['long_words']}-word article: p99 {st['long_p99']:.3f} ms")

        # INFO used_memory counts every client of the server: only a private server's delta
        # is ours. MEMORY USAGE of our keys is exact either way.
        url_bytes = urls["usage"] if args.redis_url else max(urls["usage"], urls["info"])
        targets = [
            ("near-duplicate precision >= 0.98", f"{lab['precision']:.4f}", lab["precision"] >= 0.98),
            ("near-duplicate recall >= 0.95", f"{lab['recall']:.4f}", lab["recall"] >= 0.95),
            ("distinct stories on one topic not merged",
             f"{lab['merges']['same topic'] + lab['merges']['follow-up']} merged",
             lab["merges"]["same topic"] + lab["merges"]["follow-up"] == 0),
            ("every URL variant maps to one story", f"{canon['variants']} URLs",
             not canon["failures"] and canon["distinct"]),
            ("dedup+publish p99 <= 2 ms per article", f"{st['total_p99']:.3f} ms", st["total_p99"] <= 2.0),
            ("<= 24 B per seen URL, no false positives",
             f"{url_bytes / urls['n']:.2f} B, {urls['false_positives']} FP",
             url_bytes / urls["n"] <= 24 and urls["false_positives"] == 0 and urls["missing"] == 0),
            ("<= 200 B per indexed story (index)", f"{st['index'] / st['n']:.1f} B", st["index"] / st["n"] <= 200),
        ]
        print(f"\nTargets ({time.perf_counter() - t0:.0f} s):")
        for name, value, ok in targets:
            print(f"   {'PASS' if ok else 'FAIL'}  {name:45s} {value}")
        return 0 if all(ok for _, _, ok in targets) else 1
    finally:
        if embedded is not None:
            embedded.release(client)
        else:
            client.close()


if __name__ == "__main__":
    sys.exit(main())
