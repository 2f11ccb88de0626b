#!/usr/bin/env python3
"""What polling costs the outlets, and how long each hostile case holds a crawl.

    python bench/fetch.py [--new 8] [--redis-url URL] [--timeout 3] [--retries 1] [--json FILE]

1. The fixture newsroom (``tests/newsroom``, four outlets), polled three times in one process
   with newsmon's own crawl code: a full poll (everything new), an unchanged poll (nothing new
   since), and an incremental poll after ``--new`` articles were published. For each: requests,
   bytes received and sent (Scrapy's downloader stats), articles published, requests per new
   article.
2. The hostile web (``tests/hostile``), polled once by ``newsmon crawl`` with
   ``fetch.timeout=--timeout`` and ``fetch.retries=--retries``: per outlet, the requests it
   received, the bytes it sent, how long from its first request until newsmon was done with
   it (the time the case took to be cut off), and the least gap between two of its requests
   after robots.txt (the "polite" outlet asks for Crawl-delay: 1).

Runs against an embedded Redis of its own (or ``--redis-url``, under a key prefix of its own,
deleted at the end). Prints tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.redis_server import bench_redis  # noqa: E402
from newsmon.scheduler.keys import Keys  # noqa: E402
from newsmon.scheduler.redis_conn import connect  # noqa: E402
from newsmon.settings.loader import load_config  # noqa: E402
from tests.hostile import CASES, HostileWeb, build_outlets, crawl, source_of, write_config  # noqa: E402
from tests.hostile.content import paragraphs  # noqa: E402
from tests.newsroom import Newsroom  # noqa: E402


def newsroom_polls(url: str, prefix: str, work: Path, new: int) -> list[dict[str, Any]]:
    """Three polls of the newsroom in one process; Scrapy's stats of each."""
    from newsmon.crawler import scrapy_settings
    from newsmon.crawler.runner import run_with_reactor
    from newsmon.scheduler.status import record_poll
    from newsmon.scheduler.worker import make_context

    with Newsroom(outlets=4) as room:
        path = work / "newsroom.yaml"
        path.write_text(room.config_yaml(interval="5m", redis={"url": url, "prefix": prefix},
                                         data_dir=str(work / "data"), sinks={"jsonl": {"enabled": False}}))
        config = load_config(path, env={})
        client = connect(url)
        keys = Keys(prefix)
        rows: list[dict[str, Any]] = []

        async def poll(label: str) -> None:
            from scrapy.crawler import AsyncCrawlerRunner
            from scrapy.settings import Settings

            from newsmon.crawler.spiders.poll import PollSpider

            ctx = make_context(config, client, keys, [s.name for s in config.sources])
            runner = AsyncCrawlerRunner(Settings(scrapy_settings.build(config)))
            crawler = runner.create_crawler(PollSpider)
            room.reset_log()
            started = time.monotonic()
            await runner.crawl(crawler, ctx=ctx)
            seconds = time.monotonic() - started
            record_poll(client, keys, ctx.reports.values())
            stats = crawler.stats.get_stats() if crawler.stats else {}
            counts = {k: sum(r.counts[k] for r in ctx.reports.values())
                      for k in ("new", "published", "documents_read", "documents_unchanged", "fetched")}
            rows.append({
                "poll": label,
                "requests": stats.get("downloader/request_count", 0),
                "outlet_requests": len(room.requests()),
                "bytes_received": stats.get("downloader/response_bytes", 0),
                "bytes_sent": stats.get("downloader/request_bytes", 0),
                "status_304": stats.get("downloader/response_status_count/304", 0),
                **counts,
                "requests_per_new": round(stats.get("downloader/request_count", 0) / counts["new"], 2)
                if counts["new"] else None,
                "seconds": round(seconds, 2),
            })

        async def main() -> int:
            await poll("full")
            await poll("unchanged")
            names = [o.name for o in room.outlets]
            for i in range(new):
                room.publish(names[i % len(names)], title=f"Harbour ferry timetable changes, part {i + 1}",
                             paragraphs=paragraphs(i + 1), on_topic=False)
            await poll(f"{new} new")
            return 0

        run_with_reactor(main)
        client.close()
    return rows


def hostile_cutoffs(url: str, prefix: str, work: Path, timeout: float,
                    retries: int) -> tuple[float, list[dict[str, Any]]]:
    """One ``newsmon crawl`` over the hostile web; per outlet, how long newsmon spent on it."""
    with HostileWeb(build_outlets()) as web:
        config = write_config(work, [source_of(o) for o in web.outlets.values()], url, prefix,
                              timeout=f"{timeout}s", retries=retries)
        result = crawl(config)
        rows = []
        for name in CASES:
            hits = web.requests(name)
            first = min(h.started for h in hits)
            last = max(h.ended or h.started for h in hits)
            report = result[name]
            outcome = "failed" if report["failed"] else f"{report['published']} published"
            # The least gap between two requests after robots.txt: Crawl-delay (the "polite"
            # outlet) and fetch.delay must keep it at or above the delay.
            starts = [h.started for h in hits if h.path != "/robots.txt"]
            gaps = [b - a for a, b in itertools.pairwise(starts)]
            rows.append({"case": name, "requests": len(hits), "bytes_served": sum(h.sent for h in hits),
                         "seconds": round(last - first, 2), "min_gap": round(min(gaps), 2) if gaps else "-",
                         "outcome": outcome})
    return result.seconds, rows


def table(rows: list[dict[str, Any]]) -> str:
    heads = list(rows[0])
    widths = [max(len(str(h)), *(len(str(r[h])) for r in rows)) for h in heads]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(heads, widths, strict=True))]
    lines += ["  ".join(str(r[h]).ljust(w) for h, w in zip(heads, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--new", type=int, default=8, help="articles published before the incremental poll")
    ap.add_argument("--timeout", type=float, default=3.0, help="fetch.timeout of the hostile crawl")
    ap.add_argument("--retries", type=int, default=1, help="fetch.retries of the hostile crawl")
    ap.add_argument("--redis-url")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="newsmon-bench-fetch-"))
    prefixes = [f"bench-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    with bench_redis(args.redis_url, work, prefixes) as url:
        polls = newsroom_polls(url, prefixes[0], work, args.new)
        (work / "hostile").mkdir()
        crawl_seconds, cutoffs = hostile_cutoffs(url, prefixes[1], work / "hostile", args.timeout, args.retries)
    print("Newsroom polls (4 outlets):")
    print(table(polls))
    print(f"\nHostile web, one crawl of {len(cutoffs)} outlets in {crawl_seconds:.1f}s "
          f"(fetch.timeout {args.timeout:g}s, fetch.retries {args.retries}):")
    print(table(cutoffs))
    if args.json:
        args.json.write_text(json.dumps({"newsroom": polls, "hostile": cutoffs, "hostile_crawl_seconds":
                                         crawl_seconds, "settings": vars(args) | {"json": str(args.json)}}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
