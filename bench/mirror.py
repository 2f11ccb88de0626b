#!/usr/bin/env python3
"""The whole pipe on real pages: ``newsmon crawl`` against ``shared/bench/newsroom_mirror.py``.

    python bench/mirror.py [--shared ../shared] [--outlets 6] [--syndicate 0.1] [--variants 0.1]

The mirror serves the real pages of ``shared/corpora/scrapinghub-aeb`` as several outlets on
loopback (feeds, sitemaps, articles), some of them also under URL variants and as syndicated
copies on a second outlet. One ``newsmon crawl`` reads them all; this script then reports:

* coverage: mirror articles published exactly once, missing, or published twice;
* URL variants collapsed into one story, syndicated copies linked as duplicates;
* body text against the ground truth with the shared scorer (its metric, imported by path);
* every record checked against the record schema;
* articles per second of the crawl.

It asserts nothing and needs nothing but the shared folder; Redis is an embedded server of its own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import free_port, load_scorer  # noqa: E402
from newsmon.crawler.urls import canonicalize  # noqa: E402
from newsmon.scheduler.feed import record_problems  # noqa: E402
from newsmon.scheduler.keys import Keys  # noqa: E402
from newsmon.scheduler.redis_conn import EmbeddedRedis, connect  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--outlets", type=int, default=6)
    ap.add_argument("--syndicate", type=float, default=0.1)
    ap.add_argument("--variants", type=float, default=0.1)
    ap.add_argument("--limit", type=int, default=0, help="serve only the first N pages")
    args = ap.parse_args()
    corpus = args.shared / "corpora" / "scrapinghub-aeb"
    mirror = args.shared / "bench" / "newsroom_mirror.py"
    if not corpus.is_dir() or not mirror.is_file():
        print(f"bench/mirror.py: {args.shared}: no corpora/scrapinghub-aeb or bench/newsroom_mirror.py",
              file=sys.stderr)
        return 2
    scorer = load_scorer(args.shared)

    work = Path(tempfile.mkdtemp(prefix="newsmon-mirror-"))
    port = free_port()
    cmd = [sys.executable, str(mirror), "--corpus", str(corpus), "--outlets", str(args.outlets), "--port", str(port),
           "--config-out", str(work / "mirror.yaml"), "--truth-out", str(work / "truth.json"),
           "--syndicate", str(args.syndicate), "--variants", str(args.variants)]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    embedded = EmbeddedRedis(work / "redis")
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        if not line.startswith("newsroom:"):
            raise SystemExit(f"bench/mirror.py: the mirror did not start: {line.strip()}")
        url = embedded.acquire()
        config = work / "newsmon.yaml"
        data = yaml.safe_load((work / "mirror.yaml").read_text())
        data["fetch"].update({"delay": "0s", "concurrency_per_host": 8, "max_items_per_feed": 1000,
                              "max_age": "36500d"})
        data.update({"redis": {"url": url, "prefix": "mirror"}, "data_dir": str(work / "var")})
        config.write_text(yaml.safe_dump(data, sort_keys=False))
        started = time.monotonic()
        run = subprocess.run([sys.executable, "-m", "newsmon.scheduler.cli", "--config", str(config), "crawl",
                              "--json"], capture_output=True, text=True, check=False)
        wall = time.monotonic() - started
        if run.returncode != 0:
            print(run.stderr[-3000:], file=sys.stderr)
            return 1
        summary = json.loads(run.stdout)
        client = connect(url)
        keys = Keys("mirror")
        records = [json.loads(fields[b"record"]) for _id, fields in client.xrange(keys.articles)]
        client.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
        embedded.stop()

    truth = json.loads((work / "truth.json").read_text())
    articles: dict[str, dict] = truth["articles"]
    by_key = Counter(canonicalize(r["url"]) for r in records)
    new = [r for r in records if r["event"] == "new"]
    published_once = sum(1 for u in articles if by_key[canonicalize(u)] == 1)
    missing = [u for u in articles if by_key[canonicalize(u)] == 0]
    twice = [u for u in articles if by_key[canonicalize(u)] > 1]
    variants = [u for u, a in articles.items() if a.get("variant")]
    syndicated = truth["syndicated"]
    record_of = {canonicalize(r["url"]): r for r in records}
    # Whichever copy of a pair was crawled first is the story; the other must be its duplicate.
    linked = 0
    for copy_url, original_url in syndicated.items():
        pair = [record_of.get(canonicalize(copy_url)), record_of.get(canonicalize(original_url))]
        if all(pair) and pair[0]["cluster_id"] == pair[1]["cluster_id"] \
                and sorted(r["event"] for r in pair) == ["duplicate", "new"]:
            linked += 1
    dropped_copies = sum(1 for u in syndicated if canonicalize(u) not in record_of)
    problems = {u: record_problems(r) for u, r in ((r["url"], r) for r in records) if record_problems(r)}

    rows = []
    for url, article in articles.items():
        record = record_of.get(canonicalize(url))
        rows.append(scorer.match_counts(article["text"], record["text"] if record else None))
    text = scorer.macro_scores(rows)

    published = sum(s["published"] for s in summary["sources"])
    print(f"== newsmon crawl over the real-page mirror ({args.outlets} outlets, {len(articles)} articles, "
          f"{len(syndicated)} syndicated copies, {len(variants)} listed under URL variants)")
    print(f"records published           {len(records)} ({len(new)} new, "
          f"{sum(1 for r in records if r['event'] == 'duplicate')} duplicate)")
    print(f"articles published once     {published_once} / {len(articles)}; missing {len(missing)}; twice {len(twice)}")
    print(f"URL variants collapsed      {sum(1 for u in variants if by_key[canonicalize(u)] == 1)} / {len(variants)}")
    print(f"syndicated pairs linked     {linked} / {len(syndicated)} (one new, one duplicate, one cluster; "
          f"{dropped_copies} copies not published)")
    print(f"body text vs ground truth   F1 {text['f1']:.4f}  P {text['precision']:.4f}  R {text['recall']:.4f} "
          f"(shared scorer, over every mirror article; a missing one scores 0)")
    print(f"records failing the schema  {len(problems)}")
    for url, found in list(problems.items())[:5]:
        print(f"    {url}: {found[0]}")
    print(f"crawl                       {summary['seconds']:.1f} s in-process, {wall:.1f} s wall; "
          f"{published / summary['seconds']:.1f} records/s")
    for url in missing[:5]:
        print(f"    missing: {url}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
