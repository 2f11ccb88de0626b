"""Feed benchmark: records per second through `feed read` and the Python API, and the delay
from publishing a record to a following reader getting it.

    .venv/bin/python bench/feed.py                        # a private embedded redis-server (6.2)
    .venv/bin/python bench/feed.py --redis-url redis://127.0.0.1:6379/11
    .venv/bin/python bench/feed.py --records 20000 --rate 500

Against a named server it works under a key prefix of its own and deletes only those keys; it
never flushes a database. Records are realistic in size (about 3.5 KB of JSON, 3,000 characters
of text). Sections:

1. Throughput, ``newsmon feed read`` (a process, output to /dev/null, acknowledging every
   batch), from process start to exit, and with the interpreter start-up subtracted.
2. Throughput, the Python API: ``read`` + ``ack`` batches without parsing the record, and
   ``iter()`` with each record parsed.
3. Delay from XADD to a following reader's hands (``feed read --follow`` in a process, and a
   ``FeedReader.iter`` in a process), at a steady publishing rate: median, p99, max.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis

from newsmon.scheduler.feed import FeedReader
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.redis_conn import EmbeddedRedis, connect, redact, server_version

TEXT = ("the council said on tuesday that the new bridge would open to cyclists in spring after "
        "works on the north bank and the lighting of the approaches were finished officials "
        "added that traffic would be diverted during the final weeks")
WORDS = tuple(TEXT.split(" "))

API_FOLLOWER = """
import json, sys, time
from newsmon.scheduler.feed import FeedReader
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.redis_conn import connect
reader = FeedReader(connect(sys.argv[1]), Keys(sys.argv[2]), "lat-api", "c", from_id="$")
print("ready", flush=True)
for item in reader.iter(batch=100):
    print(time.time(), item.record["bench_sent"], flush=True)
"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def make_record(n: int, rng: random.Random) -> dict[str, Any]:
    text = " ".join(rng.choice(WORDS) for _ in range(520))[:3000]
    return {
        "schema_version": 1, "id": f"{n:016x}", "event": "new",
        "url": f"https://outlet{n % 20}.example/2024/01/28/story-{n}",
        "canonical_url": f"https://outlet{n % 20}.example/2024/01/28/story-{n}",
        "source": f"outlet{n % 20}", "title": f"Story number {n} about the bridge", "text": text,
        "description": text[:200], "language": "en", "published": "2024-01-28T14:05:00Z",
        "published_from": "jsonld", "modified": None, "authors": ["A. Writer"], "image": None,
        "tags": ["city"], "sitename": "Outlet", "access": "free", "fetched_at": "2024-01-28T14:06:00Z",
        "discovered_via": {"kind": "feed", "url": f"https://outlet{n % 20}.example/rss"}, "topic": None,
        "duplicate_of": None, "cluster_id": f"{n:016x}", "revision": 1, "changes": [],
    }


def publish(client: redis.Redis, keys: Keys, count: int) -> float:
    """XADD ``count`` records in pipelined batches; returns the seconds it took."""
    rng = random.Random(1)
    started = time.perf_counter()
    for start in range(0, count, 500):
        pipe = client.pipeline(transaction=False)
        for n in range(start, min(count, start + 500)):
            record = make_record(n, rng)
            pipe.xadd(keys.articles, {"id": record["id"], "event": "new", "source": record["source"],
                                      "record": json.dumps(record, separators=(",", ":"))})
        pipe.execute()
    return time.perf_counter() - started


def cli(url: str, keys: Keys, *argv: str) -> list[str]:
    return [sys.executable, "-m", "newsmon.scheduler.cli.feed", "--redis-url", url, "--prefix", keys.prefix,
            "feed", "read", *argv]


def time_cli(url: str, keys: Keys, group: str, batch: int, *extra: str) -> float:
    started = time.perf_counter()
    subprocess.run(cli(url, keys, "--group", group, "--batch", str(batch), *extra), stdout=subprocess.DEVNULL,
                   check=True)
    return time.perf_counter() - started


def time_api(client: redis.Redis, keys: Keys, group: str, batch: int, parse: bool) -> tuple[float, int]:
    reader = FeedReader(client, keys, group, "bench")
    count = 0
    started = time.perf_counter()
    if parse:
        for item in reader.iter(batch=batch, timeout=0):
            count += len(item.record["title"]) > 0
    else:
        while items := reader.read(batch):
            reader.ack(items)
            count += len(items)
    return time.perf_counter() - started, count


def latency(client: redis.Redis, keys: Keys, command: list[str], group: str, total: int,
            rate: float) -> list[float]:
    """Publish ``total`` records at ``rate``/s while ``command`` follows; the delays in ms."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    delays: list[float] = []
    done = threading.Event()

    def collect() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("ready"):
                continue
            if line.startswith("{"):
                received, sent = time.time(), json.loads(line)["bench_sent"]
            else:
                received, sent = (float(v) for v in line.split())
            delays.append((received - sent) * 1000)
            if len(delays) == total:
                done.set()

    thread = threading.Thread(target=collect, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not any(g["name"].decode() == group and g["consumers"] for g in _groups(client, keys)):
        if time.monotonic() > deadline:
            raise RuntimeError("the follower did not start")
        time.sleep(0.01)
    rng = random.Random(2)
    interval = 1 / rate
    next_at = time.perf_counter()
    for n in range(total):
        record = make_record(n, rng)
        record["bench_sent"] = time.time()
        client.xadd(keys.articles, {"id": record["id"], "event": "new", "source": record["source"],
                                    "record": json.dumps(record, separators=(",", ":"))})
        next_at += interval
        time.sleep(max(0.0, next_at - time.perf_counter()))
    done.wait(60)
    process.terminate()
    process.wait(15)
    return delays


def _groups(client: redis.Redis, keys: Keys) -> list[dict[str, Any]]:
    try:
        return list(client.xinfo_groups(keys.articles))
    except redis.ResponseError:
        return []


def delete_prefix(client: redis.Redis, keys: Keys) -> None:
    pattern = keys.tag.replace("{", r"\{").replace("}", r"\}") + ":*"
    batch = list(client.scan_iter(match=pattern, count=1000))
    if batch:
        client.delete(*batch)


@contextmanager
def server(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="newsmon-bench-") as directory:
        embedded = EmbeddedRedis(Path(directory))
        try:
            yield embedded.acquire()
        finally:
            embedded.release()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", help="a server to use (default: a private embedded one)")
    parser.add_argument("--records", type=int, default=20_000, help="records for the throughput runs")
    parser.add_argument("--latency-records", type=int, default=2_000)
    parser.add_argument("--rate", type=float, default=200, help="records/s published in the latency runs")
    args = parser.parse_args()

    with server(args.redis_url) as url:
        client = connect(url)
        keys = Keys(f"bench-feed-{uuid.uuid4().hex[:8]}")
        version = ".".join(map(str, server_version(client)))
        print(f"# Feed benchmark: Redis {version} at {redact(url)}, Python {sys.version.split()[0]}, "
              f"{os.cpu_count()} CPUs")
        try:
            seconds = publish(client, keys, args.records)
            size = client.memory_usage(keys.articles) or 0
            print(f"published {args.records} records ({size / args.records / 1024:.1f} KiB each in Redis) "
                  f"in {seconds:.2f}s: {args.records / seconds:,.0f}/s (pipelined XADD)\n")

            startup = min(time_cli(url, keys, f"empty-{i}", 100, "--from", "$") for i in range(3))
            rows = []
            for batch in (100, 1000):
                wall = time_cli(url, keys, f"cli-{batch}", batch)
                rows.append((f"feed read --batch {batch} > /dev/null", args.records / wall,
                             args.records / max(1e-9, wall - startup), wall))
            for batch, parse in ((100, False), (1000, False), (100, True)):
                wall, count = time_api(client, keys, f"api-{batch}-{parse}", batch, parse)
                assert count == args.records, count
                label = (f"FeedReader.iter(batch={batch}), record parsed" if parse
                         else f"FeedReader.read({batch}) + ack, raw")
                rows.append((label, count / wall, count / wall, wall))
            print("| path | records/s | records/s without start-up | seconds |")
            print("|---|---:|---:|---:|")
            for label, rate, net, wall in rows:
                print(f"| {label} | {rate:,.0f} | {net:,.0f} | {wall:.2f} |")
            print(f"\n(`feed read` start-up, an empty run: {startup:.2f}s)\n")

            print(f"| publish -> follower delay, {args.latency_records} records at {args.rate:.0f}/s "
                  "| median ms | p99 ms | max ms |")
            print("|---|---:|---:|---:|")
            followers = [
                ("feed read --follow (process)", "lat-cli",
                 cli(url, keys, "--group", "lat-cli", "--from", "$", "--follow")),
                ("FeedReader.iter() (process)", "lat-api",
                 [sys.executable, "-c", API_FOLLOWER, url, keys.prefix]),
            ]
            for label, group, command in followers:
                delays = latency(client, keys, command, group, args.latency_records, args.rate)
                if len(delays) != args.latency_records:
                    print(f"| {label} | only {len(delays)} of {args.latency_records} arrived | | |")
                    continue
                print(f"| {label} | {statistics.median(delays):.2f} | {percentile(delays, 99):.2f} "
                      f"| {max(delays):.2f} |")
        finally:
            delete_prefix(client, keys)
            client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
