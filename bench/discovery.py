"""Discovery side by side with feedparser, over other projects' fixtures, and the 100,000-item feed.

    .venv/bin/python bench/discovery.py --fixtures DIR      # compare on every file under DIR
    .venv/bin/python bench/discovery.py --huge              # time parse_feed on 100,000 items

The fixtures are other projects' test data and are never committed here. They are fetched when
the benchmark runs: ultimate-sitemap-parser's sdist is tried through pip (its sdists carry no
test fixtures so far, which the run reports); gofeed and feedjira are not on PyPI, and this
machine reaches no other host. So put them under ``--fixtures DIR`` yourself, e.g.::

    git clone --depth 1 https://github.com/mmcdole/gofeed DIR/gofeed            # testdata/
    git clone --depth 1 https://github.com/feedjira/feedjira DIR/feedjira      # spec/sample_feeds/
    git clone --depth 1 https://github.com/GateNLP/ultimate-sitemap-parser DIR/usp

Every ``*.xml``, ``*.rss``, ``*.atom``, ``*.rdf``, ``*.json`` and ``*.gz`` file under DIR is read
(gofeed's ``.json`` expectation files are skipped by shape). For each, it prints the entries each
parser found, and how many links, titles and dates (to the minute, UTC) agree.
"""

from __future__ import annotations

import argparse
import calendar
import io
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser

from newsmon.crawler.discovery import parse_feed, parse_sitemap
from newsmon.crawler.items import Discovery, DiscoveryError

_SUFFIXES = (".xml", ".rss", ".atom", ".rdf", ".json", ".gz")
NOW = datetime(2100, 1, 1, tzinfo=UTC)  # no fixture date is "in the future"


@dataclass
class Row:
    name: str
    ours: int = 0
    theirs: int = 0
    links: int = 0
    titles: int = 0
    dates: int = 0
    note: str = ""


def _ours(body: bytes, url: str) -> Discovery | None:
    for parse in (parse_feed, parse_sitemap):
        try:
            return parse(body, url, max_items=100_000, now=NOW)
        except DiscoveryError:
            continue
    return None


def _minute(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC).replace(second=0, microsecond=0) if value else None


def _their_date(entry: dict[str, object]) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        parsed = dict.get(entry, key)
        if parsed:
            return datetime.fromtimestamp(calendar.timegm(parsed), UTC).replace(second=0)  # type: ignore[arg-type]
    return None


def compare(path: Path, root: Path) -> Row | None:
    """One fixture through both parsers; None for a file neither reads as a feed or sitemap."""
    body = path.read_bytes()
    if path.suffix == ".json" and b"jsonfeed.org" not in body[:4096] and b'"version"' not in body[:4096]:
        return None  # gofeed's expected-output files
    url = f"https://fixture.example/{path.relative_to(root)}"
    row = Row(str(path.relative_to(root)))
    ours = _ours(body, url)
    theirs = feedparser.parse(io.BytesIO(body), response_headers={"content-location": url},
                              sanitize_html=False, resolve_relative_uris=False)
    their_entries = {str(e.get("link")): e for e in theirs.get("entries", []) if e.get("link")}
    row.theirs = len(their_entries)
    if ours is None:
        row.note = "newsmon: not a feed or sitemap"
        return row if their_entries else None
    row.ours = len(ours.entries)
    for entry in ours.entries:
        match = their_entries.get(entry.url)
        if match is None:
            continue
        row.links += 1
        title = " ".join(str(match.get("title") or "").split()) or None
        row.titles += title == entry.title
        row.dates += _minute(entry.published or entry.updated) == _their_date(match)
    if ours.degraded:
        row.note = "degraded"
    return row


def fetch_usp(directory: Path) -> Path | None:
    """ultimate-sitemap-parser's sdist, unpacked under ``directory`` (pip, no build)."""
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary",
                           "ultimate-sitemap-parser", "ultimate-sitemap-parser", "-d", str(directory)],
                          capture_output=True, text=True, check=False)
    archives = list(directory.glob("*.tar.gz"))
    if done.returncode or not archives:
        print(f"ultimate-sitemap-parser sdist not fetched: {done.stderr.strip()[-200:]}")
        return None
    subprocess.run(["tar", "xzf", str(archives[0]), "-C", str(directory)], check=True)
    return directory


def run_fixtures(roots: list[Path]) -> None:
    rows: list[Row] = []
    for root in roots:
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.name.lower().endswith(_SUFFIXES)
                       and not p.name.endswith(".tar.gz"))
        if not files:
            print(f"{root}: no fixture files")
        for path in files:
            row = compare(path, root)
            if row is not None:
                rows.append(row)
    if not rows:
        return
    print(f"{'fixture':60} {'ours':>6} {'fp':>6} {'links':>6} {'titles':>6} {'dates':>6}  note")
    for r in rows:
        print(f"{r.name[-60:]:60} {r.ours:6} {r.theirs:6} {r.links:6} {r.titles:6} {r.dates:6}  {r.note}")
    total = Row("TOTAL", *(sum(getattr(r, f) for r in rows) for f in ("ours", "theirs", "links", "titles", "dates")))
    print(f"{total.name:60} {total.ours:6} {total.theirs:6} {total.links:6} {total.titles:6} {total.dates:6}")
    print(f"files: {len(rows)}; newsmon found fewer entries than feedparser in "
          f"{sum(r.ours < r.theirs for r in rows)}, more in {sum(r.ours > r.theirs for r in rows)}")


def huge_feed(count: int = 100_000) -> bytes:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    minutes = list(range(count))
    random.Random(7).shuffle(minutes)
    parts = ['<?xml version="1.0"?><rss version="2.0"><channel><title>Huge</title>']
    for minute in minutes:
        stamp = (start + timedelta(minutes=minute)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        parts.append(f"<item><title>Story {minute} &amp; more</title><link>https://huge.example/story/{minute}</link>"
                     f"<description>&lt;p&gt;Summary {minute}&lt;/p&gt;</description><pubDate>{stamp}</pubDate>"
                     f"<guid isPermaLink='false'>{minute}</guid><category>News</category></item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def run_huge(rounds: int) -> None:
    body = huge_feed()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        found = parse_feed(body, "https://huge.example/feed", now=NOW)
        times.append(time.perf_counter() - started)
    print(f"100,000-item feed ({len(body) / 1e6:.1f} MB): {len(found.entries)} entries kept, "
          f"best {min(times):.2f}s, median {sorted(times)[len(times) // 2]:.2f}s of {rounds}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--fixtures", type=Path, action="append", default=[],
                        help="a directory of other projects' feed and sitemap fixtures (see the module docstring)")
    parser.add_argument("--huge", action="store_true", help="time the 100,000-item feed")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-fetch", action="store_true", help="do not try pip for ultimate-sitemap-parser")
    args = parser.parse_args()
    if args.huge:
        run_huge(args.rounds)
    roots = list(args.fixtures)
    with tempfile.TemporaryDirectory() as scratch:
        if not args.no_fetch and not args.huge:
            usp = fetch_usp(Path(scratch))
            if usp is not None:
                roots.append(usp)
        if roots:
            run_fixtures(roots)
        elif not args.huge:
            print("no fixtures: pass --fixtures DIR (see the module docstring for what to put there)")


if __name__ == "__main__":
    main()
