"""The ``newsmon`` command line: parses, builds the settings once, calls library code, and maps
errors to one-line messages and exit codes.

Exit codes: 0 success; 1 the work failed (every source failed, a crash); 2 a usage or
configuration error, or Redis unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from newsmon import __version__
from newsmon.scheduler.keys import Keys
from newsmon.settings.model import Config

logger = logging.getLogger("newsmon")


class UsageError(Exception):
    """A mistake of the user's; the message is printed as one line."""


# -- set-up ------------------------------------------------------------------------------------
def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if level.upper() != "DEBUG":
        # Scrapy and Twisted narrate every crawl at INFO; newsmon's own lines say what matters.
        for name in ("scrapy", "twisted", "apscheduler", "trafilatura", "htmldate", "courlan", "asyncio"):
            logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)


def _load(args: argparse.Namespace) -> Config:
    from newsmon.settings.loader import load_config

    path = Path(args.config) if args.config else None
    config = load_config(path, os.environ)
    if getattr(args, "log_level", None):
        config = dataclasses.replace(config, log_level=args.log_level.upper())
    return config


@contextlib.contextmanager
def _redis(config: Config) -> Iterator[tuple[Any, Keys, str]]:
    from newsmon.scheduler.redis_conn import open_redis

    client, embedded = open_redis(config.redis.url, config.data_dir)
    url = config.redis.url or (embedded.url if embedded else "")
    try:
        yield client, Keys(config.redis.prefix), url
    finally:
        if embedded is not None:
            embedded.release(client)
        else:
            client.close()


def _select_sources(config: Config, names: Sequence[str] | None) -> list[str]:
    known = [s.name for s in config.sources]
    if not names:
        return [s.name for s in config.sources if s.enabled]
    unknown = [n for n in names if n not in known]
    if unknown:
        import difflib

        hints = [h for n in unknown for h in difflib.get_close_matches(n, known, n=1)]
        hint = f" (did you mean {hints[0]!r}?)" if hints else ""
        raise UsageError(f"unknown source {unknown[0]!r}{hint}; see 'newsmon sources list'")
    return list(dict.fromkeys(names))


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


# -- verbs -------------------------------------------------------------------------------------
def cmd_config_check(args: argparse.Namespace) -> int:
    from newsmon.settings.loader import load_config

    path = Path(args.file) if args.file else (Path(args.config) if args.config else None)
    config = load_config(path, os.environ)
    where = config.path or "the packaged example"
    print(f"{where}: OK ({len(config.sources)} sources, topic: {config.topic.name if config.topic else 'none'})")
    return 0


def cmd_sources_list(args: argparse.Namespace) -> int:
    from newsmon.settings.durations import format_duration

    config = _load(args)
    for s in config.sources:
        urls = [*s.feeds, *s.sitemaps, *s.pages] or ([s.home] if s.home else [])
        state = "" if s.enabled else " (disabled)"
        print(f"{s.name}\t{s.language or '-'}\tevery {format_duration(s.interval)}\t{' '.join(urls)}{state}")
    return 0


def cmd_crawl(args: argparse.Namespace) -> int:
    from newsmon.scheduler.crawl_once import crawl_once

    config = _load(args)
    names = _select_sources(config, args.source)
    with _redis(config) as (client, keys, _url):
        result = crawl_once(config, client, keys, names, watch=_progress if sys.stderr.isatty() else None)
    if args.json:
        print(json.dumps({"sources": [r.as_dict() for r in result.reports], "seconds": round(result.seconds, 3),
                          "sink_records": result.sink_records}))
    else:
        _print_summary(result.reports, result.seconds)
    return 1 if result.reports and all(r.failed for r in result.reports) else 0


async def _progress(ctx: Any) -> None:
    """One self-rewriting line on the terminal, wiped when the crawl is over."""
    try:
        while True:
            fetched = sum(r.counts["fetched"] for r in ctx.reports.values())
            published = sum(r.counts["published"] for r in ctx.reports.values())
            docs = sum(r.counts["documents_read"] + r.counts["documents_unchanged"] for r in ctx.reports.values())
            sys.stderr.write(f"\rcrawling {len(ctx.sources)} sources: {docs} feeds read, "
                             f"{fetched} articles fetched, {published} published\x1b[K")
            sys.stderr.flush()
            await asyncio.sleep(0.25)
    finally:
        sys.stderr.write("\r\x1b[K")


def _print_summary(reports: Sequence[Any], elapsed: float) -> None:
    header = f"{'source':<24} {'feeds':>5} {'new':>5} {'published':>9} {'errors':>6}  state"
    print(header)
    for r in reports:
        c = r.counts
        state = "FAILED" if r.failed else ("degraded" if r.degraded else "ok")
        print(f"{r.name:<24} {c['documents_read'] + c['documents_unchanged']:>5} {c['fetched']:>5} "
              f"{c['published']:>9} {c['errors']:>6}  {state}")
        for message in r.errors[:3]:
            print(f"    {message}")
    total = sum(r.counts["published"] for r in reports)
    print(f"{len(reports)} sources, {total} published in {elapsed:.1f}s")


def cmd_worker(args: argparse.Namespace) -> int:
    from newsmon.crawler.runner import run_with_reactor
    from newsmon.scheduler.worker import Worker

    config = _load(args)
    with _redis(config) as (client, keys, _url):
        worker = Worker(config, client, keys, name=args.name, burst=args.burst, supervised=args.supervised)

        async def main() -> int:
            worker.install_signal_handlers()
            return await worker.run()

        return run_with_reactor(main)


def cmd_scheduler(args: argparse.Namespace) -> int:
    return _serve(args, _load(args), workers=0)


def cmd_run(args: argparse.Namespace) -> int:
    config = _load(args)
    workers = args.workers or config.scheduler.workers or os.cpu_count() or 1
    if workers < 1:
        raise UsageError(f"--workers: expected 1 or more, got {workers}")
    return _serve(args, config, workers=workers)


def _serve(args: argparse.Namespace, config: Config, *, workers: int) -> int:
    from newsmon.scheduler.service import serve

    config_path = Path(args.config) if args.config else config.path
    with _redis(config) as (client, keys, url):
        return asyncio.run(serve(config, client, keys, redis_url=url, workers=workers, config_path=config_path))


def cmd_status(args: argparse.Namespace) -> int:
    from newsmon.scheduler.status import overview

    config = _load(args)
    with _redis(config) as (client, keys, _url):
        seen = overview(client, keys, config)
    if args.json:
        print(json.dumps({"sources": [{**dataclasses.asdict(r), "shown_state": r.shown_state()} for r in seen.sources],
                          "workers": seen.workers,
                          "jobs_queued": seen.jobs_queued, "jobs_pending": seen.jobs_pending,
                          "warnings": seen.warnings}))
        return 0
    print(f"{'source':<24} {'state':<12} {'last poll':<21} {'new':>4} {'published':>9} {'errors':>6}  next poll")
    for r in seen.sources:
        shown = r.shown_state()
        print(f"{r.name:<24} {shown:<12} {_when(r.last_poll):<21} {r.last_published:>4} "
              f"{r.published_total:>9} {r.errors_total:>6}  {_when(r.next_poll)}")
        if shown == "backoff":
            print(f"    backoff until {_when(r.backoff_until)} after {r.consecutive_failures} failed polls in a row")
        elif r.state == "degraded":
            print("    degraded: a feed or sitemap was malformed; what could be read was read")
        elif r.state == "deferred":
            print("    deferred: the outlet asked to be left alone for a while (Retry-After)")
        if r.last_error and r.state != "ok":
            print(f"    last error: {r.last_error}")
    print(f"workers alive: {len(seen.workers)}; poll jobs queued: {seen.jobs_queued}, in progress: {seen.jobs_pending}")
    for warning in seen.warnings:
        print(f"warning: {warning}")
    return 0


def cmd_feed(args: argparse.Namespace) -> int:
    """``feed read`` and ``feed groups``: the handlers live in ``cli.feed``."""
    from newsmon.scheduler.cli.feed import UsageError as FeedUsageError

    config = _load(args)
    with _redis(config) as (client, keys, _url):
        try:
            return int(args.feed_handler(args, client, keys, config))
        except FeedUsageError as exc:
            raise UsageError(str(exc)) from None


def cmd_check(args: argparse.Namespace) -> int:
    """Exit 0 when a scheduler or worker heartbeat is fresh (for container health checks)."""
    from newsmon.scheduler.status import alive

    config = _load(args)
    with _redis(config) as (client, keys, _url):
        names = alive(client, keys, args.role)
    print(f"{args.role}: {len(names)} alive")
    return 0 if names else 1


def cmd_extract(args: argparse.Namespace) -> int:
    from newsmon.crawler.extract import NotAnArticle
    from newsmon.crawler.standalone import FetchError, fetch_page, page_record

    config = _load(args)
    target = args.target
    if target.startswith(("http://", "https://")):
        try:
            body, url = fetch_page(target, config)
        except FetchError as exc:
            raise UsageError(str(exc)) from None
    else:
        path = Path(target)
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {target}: {exc.strerror or exc}") from None
        url = args.url or path.resolve().as_uri()
    try:
        record = page_record(body, url, config, args.source)
    except NotAnArticle as exc:
        print(f"newsmon: {target}: not an article ({exc.reason}: {exc.detail})", file=sys.stderr)
        return 1
    print(json.dumps(record, ensure_ascii=False, indent=None if args.compact else 2))
    return 0


# -- parser ------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                        help="configuration file (env NEWSMON_CONFIG; default: the packaged example)")
    common.add_argument("--log-level", default=argparse.SUPPRESS, choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        type=str.upper)

    parser = argparse.ArgumentParser(prog="newsmon", parents=[common],
                                     description="Monitor news outlets for a topic and publish a deduplicated feed.")
    parser.add_argument("--version", action="version", version=f"newsmon {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    def verb(name: str, func: Callable[[argparse.Namespace], int], help: str, **kw: Any) -> argparse.ArgumentParser:
        sub = verbs.add_parser(name, parents=[common], help=help, description=help, **kw)
        sub.set_defaults(func=func)
        return sub

    p = verb("run", cmd_run, "run the daemon: the scheduler plus supervised worker processes")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: the CPU count)")
    verb("scheduler", cmd_scheduler, "run the scheduler role alone (queues poll jobs)")
    p = verb("worker", cmd_worker, "run one worker (serves poll jobs)")
    p.add_argument("--name", help="consumer name in the job stream (default: host:pid)")
    p.add_argument("--burst", action="store_true", help="exit when no poll job is waiting")
    p.add_argument("--supervised", action="store_true", help=argparse.SUPPRESS)
    p = verb("crawl", cmd_crawl, "poll the sources once, publish what is new, and print a summary")
    p.add_argument("--source", action="append", metavar="NAME", help="only this source (repeatable)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p = verb("extract", cmd_extract, "extract one page (a file or a URL) to its JSON record; no Redis needed")
    p.add_argument("target", metavar="FILE|URL")
    p.add_argument("--url", help="the page's URL, when extracting a file")
    p.add_argument("--source", help="apply this source's language hint and selectors")
    p.add_argument("--compact", action="store_true", help="one line of JSON")
    p = verb("status", cmd_status, "per source: last poll, new articles, errors, next poll")
    p.add_argument("--json", action="store_true")
    p = verb("check", cmd_check, "exit 0 when a process of ROLE is alive (for health checks)")
    p.add_argument("role", nargs="?", default="worker", choices=["worker", "scheduler"])

    sources = verbs.add_parser("sources", help="the configured sources").add_subparsers(dest="sub", required=True)
    p = sources.add_parser("list", parents=[common], help="list the configured sources")
    p.set_defaults(func=cmd_sources_list)

    config = verbs.add_parser("config", help="configuration tools").add_subparsers(dest="sub", required=True)
    p = config.add_parser("check", parents=[common], help="validate a configuration file")
    p.add_argument("file", nargs="?", help="the file (default: --config)")
    p.set_defaults(func=cmd_config_check)

    from newsmon.scheduler.cli.feed import add_feed_parser

    add_feed_parser(verbs, [common]).set_defaults(func=cmd_feed)
    return parser


def _fail(message: str, code: int = 2) -> NoReturn:
    print(f"newsmon: {message}", file=sys.stderr)
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("config", "log_level"):
        if not hasattr(args, name):
            setattr(args, name, None)
    _setup_logging(args.log_level or os.environ.get("NEWSMON_LOG_LEVEL", "INFO"))
    from newsmon.scheduler.redis_conn import RedisUnavailable
    from newsmon.settings.loader import ConfigError

    try:
        code = args.func(args)
    except ConfigError as exc:
        for line in str(exc).splitlines():
            print(f"newsmon: {line}", file=sys.stderr)
        sys.exit(2)
    except RedisUnavailable as exc:
        _fail(str(exc))
    except UsageError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    sys.exit(code)
