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
import time
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
    from newsmon.crawler.runner import Crawl, make_context, run_with_reactor
    from newsmon.scheduler.status import record_poll

    config = _load(args)
    names = _select_sources(config, args.source)
    with _redis(config) as (client, keys, _url):
        ctx = make_context(config, client, keys, names)
        started = time.monotonic()

        async def main() -> int:
            crawl = Crawl(ctx)
            progress = asyncio.ensure_future(_progress(ctx)) if sys.stderr.isatty() else None
            try:
                await crawl.run()
            finally:
                if progress is not None:
                    progress.cancel()
                    sys.stderr.write("\r\x1b[K")
            return 0

        run_with_reactor(main)
        reports = [ctx.report(n) for n in names]
        record_poll(client, keys, reports)
        delivered = _drain_sinks(config, client, keys)
        elapsed = time.monotonic() - started
    if args.json:
        print(json.dumps({"sources": [r.as_dict() for r in reports], "seconds": round(elapsed, 3),
                          "sink_records": delivered}))
    else:
        _print_summary(reports, elapsed)
    return 1 if reports and all(r.failed for r in reports) else 0


async def _progress(ctx: Any) -> None:
    while True:
        fetched = sum(r.counts["fetched"] for r in ctx.reports.values())
        published = sum(r.counts["published"] for r in ctx.reports.values())
        docs = sum(r.counts["documents_read"] + r.counts["documents_unchanged"] for r in ctx.reports.values())
        sys.stderr.write(f"\rcrawling {len(ctx.sources)} sources: {docs} feeds read, "
                         f"{fetched} articles fetched, {published} published\x1b[K")
        sys.stderr.flush()
        await asyncio.sleep(0.25)


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


def _drain_sinks(config: Config, client: Any, keys: Keys) -> int:
    """Deliver what the crawl published to the configured sinks (files, webhooks)."""
    from newsmon.scheduler.sinks import SinkRunner, build_sinks

    sinks = build_sinks(config)
    if not sinks:
        return 0
    return int(SinkRunner(client, keys, sinks, config.feed).drain_once())


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
    config = _load(args)
    with _redis(config) as (client, keys, url):
        return asyncio.run(_daemon(config, client, keys, url, workers=0, config_path=args.config))


def cmd_run(args: argparse.Namespace) -> int:
    config = _load(args)
    workers = args.workers or config.scheduler.workers or os.cpu_count() or 1
    if workers < 1:
        raise UsageError(f"--workers: expected 1 or more, got {workers}")
    with _redis(config) as (client, keys, url):
        return asyncio.run(_daemon(config, client, keys, url, workers=workers, config_path=args.config))


async def _daemon(config: Config, client: Any, keys: Keys, url: str, *, workers: int,
                  config_path: str | None) -> int:
    """The scheduler, the sinks and (for ``run``) the supervised workers, until a signal."""
    import signal

    from newsmon.scheduler.daemon import Scheduler, Supervisor

    stop = asyncio.Event()
    signals = {"count": 0}
    supervisor: Supervisor | None = None

    def on_signal(signum: int) -> None:
        signals["count"] += 1
        if signals["count"] == 1:
            logger.info("Warm stop (%s): finishing in-flight work", signal.Signals(signum).name)
            stop.set()
        else:
            logger.warning("Cold stop")
            if supervisor is not None:
                supervisor.kill()
            logging.shutdown()
            os._exit(1)

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)

    scheduler = Scheduler(config, client, keys)
    sink_task = _start_sinks(config, client, keys, stop)
    scheduler.start()
    try:
        if workers:
            supervisor = Supervisor(config, client, keys, workers=workers, redis_url=url,
                                    config_path=Path(config_path) if config_path else config.path)
            await supervisor.run(stop)
        else:
            await stop.wait()
    finally:
        scheduler.shutdown()
        if supervisor is not None:
            await supervisor.stop(config.scheduler.stop_timeout.total_seconds())
        if sink_task is not None:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(sink_task, timeout=5)
    logger.info("Stopped")
    return 0


def _start_sinks(config: Config, client: Any, keys: Keys, stop: asyncio.Event) -> asyncio.Task[Any] | None:
    from newsmon.scheduler.sinks import SinkRunner, build_sinks

    sinks = build_sinks(config)
    if not sinks:
        return None
    return asyncio.ensure_future(SinkRunner(client, keys, sinks, config.feed).run(stop))


def cmd_status(args: argparse.Namespace) -> int:
    from newsmon.scheduler.jobs import JobQueue
    from newsmon.scheduler.status import alive, read_status

    config = _load(args)
    with _redis(config) as (client, keys, _url):
        rows = read_status(client, keys, [s.name for s in config.sources])
        queue = JobQueue(client, keys, config.scheduler.job_lease)
        workers = alive(client, keys, "worker")
        queued, pending = queue.queued(), queue.pending()
        warnings = _retention_warnings(client, keys, config)
    if args.json:
        print(json.dumps({"sources": [{**dataclasses.asdict(r), "shown_state": r.shown_state()} for r in rows],
                          "workers": workers,
                          "jobs_queued": queued, "jobs_pending": pending, "warnings": warnings}))
        return 0
    print(f"{'source':<24} {'state':<12} {'last poll':<21} {'new':>4} {'published':>9} {'errors':>6}  next poll")
    for r in rows:
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
    print(f"workers alive: {len(workers)}; poll jobs queued: {queued}, in progress: {pending}")
    for warning in warnings:
        print(f"warning: {warning}")
    return 0


def _retention_warnings(client: Any, keys: Keys, config: Config) -> list[str]:
    from newsmon.scheduler.feed import retention_warnings

    return list(retention_warnings(client, keys, config.feed))


def cmd_feed(args: argparse.Namespace) -> int:
    """``feed read`` and ``feed groups``: the handlers live in ``cli_feed``."""
    from newsmon.scheduler.cli_feed import UsageError as FeedUsageError

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
    from newsmon.crawler.extraction import NotAnArticle, extract

    config = _load(args)
    target = args.target
    if target.startswith(("http://", "https://")):
        body, url = _fetch_one(target, config)
    else:
        path = Path(target)
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {target}: {exc.strerror or exc}") from None
        url = args.url or path.resolve().as_uri()
    source = config.source(args.source) if args.source else None
    try:
        article = extract(body, url, None, language_hint=source.language if source else None,
                          selectors=source.selectors if source else None, settings=config.extraction)
    except NotAnArticle as exc:
        print(f"newsmon: {target}: not an article ({exc.reason}: {exc.detail})", file=sys.stderr)
        return 1
    record = _article_record(article, url, config, args.source)
    print(json.dumps(record, ensure_ascii=False, indent=None if args.compact else 2))
    return 0


def _article_record(article: Any, url: str, config: Config, source: str | None) -> dict[str, Any]:
    """The record the pipeline would build, with the topic match (or its absence) shown."""
    from newsmon.crawler.record import article_record, story_key
    from newsmon.crawler.topic import TopicMatcher

    key, shown = story_key(url, article.canonical_url, config.dedup.tracking_params)
    topic = None
    if config.topic is not None:
        match = TopicMatcher(config.topic).match(
            {"title": article.title, "description": article.description, "text": article.text})
        topic = match.to_record() if match else {"name": config.topic.name, "matched": [], "groups": {}}
    return article_record(article, url=url, key=key, canonical_url=shown, source=source,
                          fetched_at=datetime.now(UTC), via=None, topic=topic)


def _fetch_one(url: str, config: Config) -> tuple[bytes, str]:
    import urllib.error
    import urllib.request

    from newsmon.crawler.middlewares.guard import AddressRefused, check_url
    from newsmon.crawler.scrapy_settings import user_agent

    try:
        check_url(url, allow_private=config.fetch.allow_private_addresses)
    except AddressRefused as exc:
        raise UsageError(str(exc)) from None
    request = urllib.request.Request(url, headers={"User-Agent": user_agent(config)})  # noqa: S310 - scheme checked
    try:
        with urllib.request.urlopen(request, timeout=config.fetch.timeout) as response:  # noqa: S310
            body = response.read(config.fetch.max_size + 1)
            final = response.geturl()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UsageError(f"cannot fetch {url}: {reason}") from None
    if len(body) > config.fetch.max_size:
        raise UsageError(f"cannot fetch {url}: larger than fetch.max_size ({config.fetch.max_size} bytes)")
    return body, final


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

    from newsmon.scheduler.cli_feed import add_feed_parser

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


if __name__ == "__main__":
    main()
