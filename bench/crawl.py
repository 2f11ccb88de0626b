#!/usr/bin/env python3
"""Whole-pipe figures on the fixture newsroom: crawl throughput and daemon memory.

    python bench/crawl.py [--articles 400] [--polls 200] [--redis-url URL]

1. ``newsmon crawl`` over the four fixture outlets after publishing ``--articles`` extra
   articles (synthetic text): articles per second, from the crawl's own timing.
2. ``newsmon run --workers 2`` polling every second until ``--polls`` polls are recorded:
   resident memory (VmRSS) of the supervisor and each worker at the first and the last poll.

Runs against an embedded Redis of its own (or ``--redis-url``, under a key prefix of its own,
deleted at the end). Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.redis_server import bench_redis  # noqa: E402
from newsmon.scheduler.keys import Keys  # noqa: E402
from newsmon.scheduler.redis_conn import connect  # noqa: E402
from tests.newsroom import Newsroom  # noqa: E402

SENTENCES = [
    line.strip()
    for name in ("en.txt",)
    for line in (ROOT / "tests/newsroom/stories" / name).read_text().splitlines()
    if line.strip() and not line.startswith("#")
]


def synthetic_paragraphs(rnd: random.Random) -> list[str]:
    return [" ".join(rnd.sample(SENTENCES, 4)) for _ in range(rnd.randint(4, 7))]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(p) for p in (task / "children").read_text().split()]
    return out


def newsmon(*args: str) -> list[str]:
    return [sys.executable, "-m", "newsmon.scheduler.cli", *args]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=400)
    ap.add_argument("--polls", type=int, default=200)
    ap.add_argument("--redis-url")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="newsmon-bench-"))
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    keys = Keys(prefix)
    rnd = random.Random(7)
    with (
        bench_redis(args.redis_url, work, [prefix]) as url,
        contextlib.closing(connect(url)) as client,
        Newsroom() as room,
    ):
        outlets = [o.name for o in room.outlets]
        for i in range(args.articles):
            outlet = outlets[i % len(outlets)]
            room.publish(outlet, title=f"Bench story {i}: {rnd.choice(SENTENCES)[:60]}",
                         paragraphs=synthetic_paragraphs(rnd), on_topic=False, language="en")
        config = work / "newsmon.yaml"
        config.write_text(room.config_yaml(
            interval="1s", redis={"url": url, "prefix": prefix}, data_dir=str(work / "var"),
            fetch={"delay": "0s", "concurrency_per_host": 8, "max_items_per_feed": 1000},
            scheduler={"jitter": "0s"}))
        started = time.monotonic()
        out = subprocess.run(newsmon("--config", str(config), "crawl", "--json"), capture_output=True,
                             text=True, check=True)
        wall = time.monotonic() - started
        summary = json.loads(out.stdout)
        published = sum(s["published"] for s in summary["sources"])
        fetched = sum(s["fetched"] for s in summary["sources"])
        print("== newsmon crawl on the fixture newsroom (4 outlets, delay 0, 8 per host)")
        print(f"articles in the room      {len(room.articles)}")
        print(f"fetched / published       {fetched} / {published}")
        print(f"crawl time (in-process)   {summary['seconds']:.2f} s")
        print(f"wall time (with start-up) {wall:.2f} s")
        print(f"articles per second       {published / summary['seconds']:.1f} (crawl), "
              f"{published / wall:.1f} (wall)")

        def polls() -> int:
            return sum(int(client.hget(keys.source_state(o), "polls") or 0) for o in outlets)

        baseline = polls()  # the crawl above counts as one poll per source
        daemon = subprocess.Popen(newsmon("--config", str(config), "run", "--workers", "2"),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while polls() < baseline + len(outlets) and time.monotonic() < deadline:
                time.sleep(0.2)
            first = {"supervisor": rss_kib(daemon.pid)}
            first.update({f"worker {i}": rss_kib(p) for i, p in enumerate(children(daemon.pid))})
            started = time.monotonic()
            while polls() < baseline + args.polls:
                if daemon.poll() is not None:
                    raise SystemExit("the daemon exited")
                time.sleep(0.5)
            last = {"supervisor": rss_kib(daemon.pid)}
            last.update({f"worker {i}": rss_kib(p) for i, p in enumerate(children(daemon.pid))})
            took = time.monotonic() - started
        finally:
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(timeout=60)
        print(f"\n== newsmon run --workers 2, interval 1s: memory (VmRSS) after {polls() - baseline} polls "
              f"({took:.0f} s); exit {code}")
        for name in dict.fromkeys([*first, *last]):
            print(f"{name:<12} first poll {first.get(name, 0) / 1024:7.1f} MiB   "
                  f"after {last.get(name, 0) / 1024:7.1f} MiB")
        print(f"{'total':<12} first poll {sum(first.values()) / 1024:7.1f} MiB   "
              f"after {sum(last.values()) / 1024:7.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
