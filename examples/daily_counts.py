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

It reads newsmon's own Redis, found as newsmon finds it: the configuration's ``redis.url`` (or
``REDIS_URL``), else the embedded server under ``data_dir``, which it starts itself if need be.
The daemon need not be running to count what the feed holds; only ``--follow`` needs
``newsmon run`` running, for new records to arrive (the job says so when it is not).

Usage::

    python examples/daily_counts.py --config my.yaml                 # once, then exit
    python examples/daily_counts.py --config my.yaml --follow        # keep counting
    python examples/daily_counts.py --config my.yaml --days 30       # plot the last 30 days
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import sys
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import redis

from newsmon.scheduler.cli.common import redis_for
from newsmon.scheduler.feed import FeedItem, FeedReader, parse_stream_id
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.redis_conn import RedisUnavailable
from newsmon.scheduler.status import alive
from newsmon.settings.loader import ConfigError, load_config
from newsmon.settings.model import Config

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

    def window(self, days: int) -> list[date]:
        """The ``days`` days the plot shows: those up to the day of the last entry counted.

        The window ends at stream time (when newsmon published), not at the newest
        ``published`` date: an old article (``published`` years ago) or a wrong date in the
        future must not stretch the axis and squash the days that matter.
        """
        last_ms = parse_stream_id(self.last_id)[0]
        end = (datetime.fromtimestamp(last_ms / 1000, UTC) if last_ms else datetime.now(UTC)).date()
        return [end - timedelta(days=n) for n in range(days - 1, -1, -1)]

    def plot(self, days: int = 14) -> Path | None:
        """Save :meth:`figure` as ``stories_per_outlet.png``; None without matplotlib."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            return None
        figure = self.figure(days)
        path = self.directory / "stories_per_outlet.png"
        figure.savefig(path.with_suffix(".tmp.png"), dpi=100)
        plt.close(figure)
        os.replace(path.with_suffix(".tmp.png"), path)
        return path

    def figure(self, days: int = 14) -> Any:
        """Stories per day per outlet over :meth:`window`, on a date axis (a matplotlib Figure)."""
        import matplotlib.dates as mdates
        import matplotlib.pyplot as plt

        window = self.window(days)
        shown = {day.isoformat() for day in window}
        sources = sorted({source for day, counts in self.outlets.items() if day in shown
                          for source in counts})
        older = sum(1 for day in self.outlets if day < window[0].isoformat())
        figure, axes = plt.subplots(figsize=(10, 5), layout="constrained")
        for source in sources:
            axes.plot(window, [self.outlets.get(day.isoformat(), {}).get(source, 0) for day in window],
                      marker="o", markersize=3, label=source)
        axes.set_title(f"Stories per day per outlet, {window[0]:%d %b} to {window[-1]:%d %b %Y} (UTC)"
                       + (f"; {older} older days in outlets.csv" if older else ""))
        axes.set_xlabel("day published (UTC)")
        axes.set_ylabel("stories")
        first, last = (datetime(day.year, day.month, day.day) for day in (window[0], window[-1]))
        axes.set_xlim(first - timedelta(hours=12), last + timedelta(hours=12))
        axes.set_ylim(bottom=0)
        locator = mdates.AutoDateLocator(minticks=3, maxticks=10)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        axes.grid(alpha=0.3)
        if sources:
            axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
        else:
            axes.text(0.5, 0.5, "no stories in these days", transform=axes.transAxes, ha="center")
        return figure


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


def _settings(args: argparse.Namespace) -> Config:
    """newsmon's configuration (``--config``, else ``NEWSMON_CONFIG``, else the packaged
    example), with ``--redis-url`` and ``--prefix`` applied."""
    config = load_config(args.config, os.environ)
    overrides = {key: value for key, value in (("url", args.redis_url), ("prefix", args.prefix))
                 if value}
    if overrides:
        config = dataclasses.replace(config, redis=dataclasses.replace(config.redis, **overrides))
    return config


def _say(message: str) -> None:
    print(f"daily_counts: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, help="newsmon's configuration file "
                        "(default: $NEWSMON_CONFIG, else the packaged example)")
    parser.add_argument("--redis-url", help="instead of the configuration's Redis")
    parser.add_argument("--prefix", help="instead of the configuration's redis.prefix")
    parser.add_argument("--group", default="daily-counts", help="this job's consumer group")
    parser.add_argument("--out", type=Path, default=Path("daily-counts"))
    parser.add_argument("--follow", action="store_true", help="keep counting new records")
    parser.add_argument("--days", type=int, default=14, help="days the plot shows (default 14)")
    parser.add_argument("--plot-every", type=float, default=300, metavar="SECONDS",
                        help="with --follow, redraw the plot at most this often")
    args = parser.parse_args(argv)

    try:
        config = _settings(args)
    except ConfigError as exc:
        for line in str(exc).splitlines():
            _say(line)
        return 2
    counts = DailyCounts(args.out)
    try:
        with redis_for(config) as (client, keys, _url):
            counted = _count(client, keys, counts, args)
    except RedisUnavailable as exc:
        _say(f"{exc}; the feed is in newsmon's Redis: start that server, or run this job with "
             "the configuration newsmon uses (--config)")
        return 2
    except redis.RedisError as exc:
        _say(f"lost Redis ({exc}); the counts are saved up to entry {counts.last_id}: "
             "run again to continue")
        return 1
    plot = counts.plot(args.days)
    print(f"{counted} stories counted; {len(counts.outlets)} days in {args.out}/outlets.csv and "
          f"{args.out}/clusters.csv", file=sys.stderr)
    if plot is None:
        print("matplotlib is not installed: no plot (pip install 'newsmon[examples]')", file=sys.stderr)
    return 0


def _count(client: redis.Redis, keys: Keys, counts: DailyCounts, args: argparse.Namespace) -> int:
    """Count what the feed holds (and, with --follow, what arrives); return how many stories."""
    if not client.exists(keys.articles):
        _say(f"the feed {keys.articles} is empty: has newsmon crawled with this configuration?")
    if args.follow and not (alive(client, keys, "scheduler") or alive(client, keys, "worker")):
        _say("no newsmon daemon is running on this Redis: new records arrive only while "
             "`newsmon run` runs; following anyway")
    # One consumer with a fixed name: after a crash, its unacknowledged entries come back to
    # it first, in order, and the last_id check in add() skips those already counted.
    reader = FeedReader(client, keys, args.group, consumer="counter", events=STORY_EVENTS)
    counted, last_plot = 0, time.monotonic()
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
                counts.plot(args.days)
                last_plot = time.monotonic()
    except KeyboardInterrupt:
        pass
    counts.save()
    return counted


if __name__ == "__main__":
    sys.exit(main())
