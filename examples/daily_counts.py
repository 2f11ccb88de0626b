"""Daily counts of stories per outlet and per story cluster, from the newsmon feed.

A downstream analysis job in a few dozen lines of logic: it reads the article feed through a
consumer group of its own (``daily-counts``), counts, and acknowledges a batch only once the
counts that include it are safely on disk. Run it again later and it carries on where it left
off; kill it at any point and nothing is lost or counted twice.

Outputs, in ``--out`` (default ``./daily-counts``):

- ``state.json``: the counts and the last stream entry counted (the durable state);
- ``outlets.csv``: ``day,source,stories``;
- ``clusters.csv``: ``day,cluster_id,records,outlets`` (how many records of one story, and
  from how many outlets, that day);
- ``stories_per_outlet.png``: stories per day per outlet (needs matplotlib).

A "story" is a record of event ``new`` or ``duplicate`` (an outlet running a story, its own or
a copy); ``updated`` records are revisions and are skipped. A record's day is the UTC date of
``published``, or of ``fetched_at`` when the page gave no date.

Usage::

    python examples/daily_counts.py --redis-url redis://localhost:6379/0            # once
    python examples/daily_counts.py --redis-url unix:///path/var/redis/redis.sock --follow
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from newsmon.scheduler.feed import FeedItem, FeedReader, parse_stream_id
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.redis_conn import connect

STORY_EVENTS = ("new", "duplicate")


class DailyCounts:
    """The counts, with the stream ID of the last entry they include."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.last_id = "0-0"
        # day -> source -> stories
        self.outlets: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        # day -> cluster -> {"records": n, "outlets": [sources]}
        self.clusters: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        path = directory / "state.json"
        if path.exists():
            state = json.loads(path.read_text("utf-8"))
            self.last_id = state["last_id"]
            for day, counts in state["outlets"].items():
                self.outlets[day].update(counts)
            for day, clusters in state["clusters"].items():
                self.clusters[day].update(clusters)

    def add(self, item: FeedItem) -> bool:
        """Count one item; False if the counts already include it (a redelivery)."""
        if parse_stream_id(item.id) <= parse_stream_id(self.last_id):
            return False
        record = item.record
        day = (record["published"] or record["fetched_at"])[:10]
        self.outlets[day][record["source"]] += 1
        cluster = self.clusters[day].setdefault(record["cluster_id"], {"records": 0, "outlets": []})
        cluster["records"] += 1
        if record["source"] not in cluster["outlets"]:
            cluster["outlets"].append(record["source"])
        self.last_id = item.id
        return True

    def save(self) -> None:
        """Write the state, then the CSV files; each file is replaced atomically."""
        self.directory.mkdir(parents=True, exist_ok=True)
        state = {"last_id": self.last_id, "outlets": self.outlets, "clusters": self.clusters}
        _replace(self.directory / "state.json", json.dumps(state, indent=1, sort_keys=True))
        outlets = [(day, source, n) for day, counts in sorted(self.outlets.items())
                   for source, n in sorted(counts.items())]
        _replace_csv(self.directory / "outlets.csv", ("day", "source", "stories"), outlets)
        clusters = [(day, cluster, c["records"], len(c["outlets"]))
                    for day, by_cluster in sorted(self.clusters.items())
                    for cluster, c in sorted(by_cluster.items(), key=lambda kv: (-kv[1]["records"], kv[0]))]
        _replace_csv(self.directory / "clusters.csv", ("day", "cluster_id", "records", "outlets"), clusters)

    def plot(self) -> Path | None:
        """Draw stories per day per outlet; None when matplotlib is not installed."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            return None
        days = sorted(self.outlets)
        sources = sorted({source for counts in self.outlets.values() for source in counts})
        figure, axes = plt.subplots(figsize=(10, 5), layout="constrained")
        for source in sources:
            axes.plot(days, [self.outlets[day].get(source, 0) for day in days], marker="o",
                      label=source)
        axes.set_title("Stories per day per outlet")
        axes.set_xlabel("day (UTC)")
        axes.set_ylabel("stories")
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
        axes.tick_params(axis="x", labelrotation=45)
        path = self.directory / "stories_per_outlet.png"
        figure.savefig(path.with_suffix(".tmp.png"), dpi=100)
        plt.close(figure)
        os.replace(path.with_suffix(".tmp.png"), path)
        return path


def _replace(path: Path, text: str) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _replace_csv(path: Path, header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    temporary = path.with_suffix(".csv.tmp")
    with temporary.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://localhost:6379/0"))
    parser.add_argument("--prefix", default="newsmon", help="newsmon's key prefix (redis.prefix)")
    parser.add_argument("--group", default="daily-counts", help="this job's consumer group")
    parser.add_argument("--out", type=Path, default=Path("daily-counts"))
    parser.add_argument("--follow", action="store_true", help="keep counting new records")
    parser.add_argument("--plot-every", type=float, default=300, metavar="SECONDS",
                        help="with --follow, redraw the plot at most this often")
    args = parser.parse_args(argv)

    client = connect(args.redis_url)
    counts = DailyCounts(args.out)
    # One consumer with a fixed name: after a crash, its unacknowledged entries come back to
    # it first, in order, and the last_id check above skips those already counted.
    reader = FeedReader(client, Keys(args.prefix), args.group, consumer="counter",
                        events=STORY_EVENTS)
    counted, last_plot = 0, 0.0
    try:
        while True:
            items = reader.read(500, block_ms=5000 if args.follow else None)
            if items:
                counted += sum(counts.add(item) for item in items)
                counts.save()
                reader.ack(items)  # only now: the counts that include them are on disk
            elif reader.last_read_count == 0 and not args.follow:
                break
            if args.follow and time.monotonic() - last_plot > args.plot_every:
                counts.plot()
                last_plot = time.monotonic()
    except KeyboardInterrupt:
        pass
    counts.save()
    plot = counts.plot()
    print(f"{counted} stories counted; {len(counts.outlets)} days in {args.out}/outlets.csv and "
          f"{args.out}/clusters.csv", file=sys.stderr)
    if plot is None:
        print("matplotlib is not installed: no plot (pip install 'newsmon[examples]')", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
