"""``newsmon crawl``: poll the sources once, publish what is new, and print a summary.

The crawl is :func:`newsmon.scheduler.crawl_once.crawl_once`; this verb picks the sources,
shows progress on a terminal and prints the outcome (exit 1 when every source failed; when a
signal stopped it, 128 + the signal's number: 130 for SIGINT, 143 for SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from newsmon.scheduler.cli.common import FAILED, OK, UsageError, Verbs, add_verb, load_settings, redis_session
from newsmon.settings.model import Config

if TYPE_CHECKING:
    from newsmon.crawler.context import CrawlContext, SourceReport


def register(verbs: Verbs, common: argparse.ArgumentParser) -> None:
    p = add_verb(verbs, common, "crawl", cmd_crawl, "poll the sources once, publish what is new, and print a summary")
    p.add_argument("--source", action="append", metavar="NAME", help="only this source (repeatable)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--workers", type=_workers, default=None, metavar="N",
                   help="processes that extract the pages (default: one per CPU; 1: in this process)")


def cmd_crawl(args: argparse.Namespace) -> int:
    from newsmon.scheduler.crawl_once import crawl_once

    config = load_settings(args)
    names = _select_sources(config, args.source)
    with redis_session(config) as session:
        result = crawl_once(config, session.client, session.keys, names,
                            watch=_progress if sys.stderr.isatty() else None, cold_stop=session.close,
                            workers=args.workers or _cpus())
    if args.json:
        print(json.dumps({"sources": [r.as_dict() for r in result.reports], "seconds": round(result.seconds, 3),
                          "sink_records": result.sink_records, "stopped_by": result.stopped_by}))
    else:
        _print_summary(result.reports, result.seconds, result.stopped_by)
    if result.exit_status is not None:
        return result.exit_status
    return FAILED if result.reports and all(r.failed for r in result.reports) else OK


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of processes, 1 or more, got {text!r}")
    return value


def _cpus() -> int:
    """The CPUs this process may run on (a container's limit, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _select_sources(config: Config, names: Sequence[str] | None) -> list[str]:
    """The sources named by ``--source`` (each once), else every enabled one."""
    known = [s.name for s in config.sources]
    if not names:
        return [s.name for s in config.sources if s.enabled]
    unknown = [n for n in names if n not in known]
    if unknown:
        hints = [h for n in unknown for h in difflib.get_close_matches(n, known, n=1)]
        hint = f" (did you mean {hints[0]!r}?)" if hints else ""
        raise UsageError(f"unknown source {unknown[0]!r}{hint}; see 'newsmon sources list'")
    return list(dict.fromkeys(names))


async def _progress(ctx: CrawlContext) -> None:
    """One self-rewriting line on the terminal, wiped when the crawl is over."""
    try:
        while True:
            fetched = sum(r.counts["fetched"] for r in ctx.reports.values())
            published = sum(r.counts["published"] for r in ctx.reports.values())
            docs = sum(r.counts["documents_read"] + r.counts["documents_unchanged"] for r in ctx.reports.values())
            sys.stderr.write(f"\rcrawling {len(ctx.sources)} sources: {docs} documents read, "
                             f"{fetched} articles fetched, {published} published\x1b[K")
            sys.stderr.flush()
            await asyncio.sleep(0.25)
    finally:
        sys.stderr.write("\r\x1b[K")


#: The summary's columns: heading, counter(s) summed, width.
_COLUMNS = (
    ("documents", ("documents_read", "documents_unchanged", "documents_failed"), 9),
    ("fetched", ("fetched",), 7),
    ("published", ("published",), 9),
    ("duplicates", ("duplicates",), 10),
    ("off-topic", ("off_topic",), 9),
    ("rejected", ("rejected",), 8),
    ("errors", ("errors",), 6),
)


def _print_summary(reports: Sequence[SourceReport], elapsed: float, stopped_by: str | None) -> None:
    from newsmon.scheduler.status import failure_cause

    print(f"{'source':<24} " + " ".join(f"{title:>{width}}" for title, _, width in _COLUMNS) + "  state")
    for r in reports:
        state = "FAILED" if r.failed else ("degraded" if r.degraded else "ok")
        cells = " ".join(f"{sum(r.counts[c] for c in counters):>{width}}" for _, counters, width in _COLUMNS)
        print(f"{r.name:<24} {cells}  {state}")
        for message in r.errors[:3]:
            print(f"    {message}")
    total = sum(r.counts["published"] for r in reports)
    print(f"{len(reports)} sources, {total} published in {elapsed:.1f}s")
    if reports and all(r.failed for r in reports):
        print(f"every source failed: {failure_cause(m for r in reports for m in r.errors)}")
    if stopped_by:
        print(f"stopped early by {stopped_by}: the next crawl fetches what this one did not")
