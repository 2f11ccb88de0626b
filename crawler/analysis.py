"""The CPU side of a fetched page: extraction, topic matching and fingerprints.

:func:`analyze` is one pure function of a :class:`Page` and the configuration, with no I/O, so
that :class:`PagePool` can run it in a pool of processes and the reactor thread only does I/O
(Redis, HTTP). The pipelines apply its :class:`Analysis` (mark seen, keep the dropped stub,
publish). With no pool, the same function runs in-process: the records are the same.

A failure of ours (an exception) is returned, not raised, with the step it happened in, so that
the pipeline reports it the same way whichever process ran it; a pool process that dies (a
crash in a C extension, the kernel's OOM killer) is a failure of the pages it was running.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from newsmon.crawler.fingerprint import Fingerprints
from newsmon.crawler.record import article_record, dropped_stub, story_key
from newsmon.crawler.urls import canonicalize

if TYPE_CHECKING:
    from newsmon.crawler.items import Page
    from newsmon.crawler.topic import TopicMatcher
    from newsmon.settings.model import Config

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Analysis:
    """What :func:`analyze` made of one page."""

    outcome: str  # "story", "rejected" (not an article), "off_topic" or "failed"
    urls: list[str]  # canonical URLs the page is known by (the story's key first once extracted)
    record: dict[str, Any] | None = None  # "story" and "off_topic"
    fingerprints: Fingerprints | None = None  # "story"
    why: str = ""  # "rejected": the reason; "off_topic": the verdict's reason
    stub: dict[str, Any] | None = None  # "off_topic": the dropped story's stub
    step: str = ""  # "failed": the step ("extract", "match the topic", "fingerprint")
    error: str = ""  # "failed": "TypeName: first line of the message"
    detail: str = ""  # "failed": the traceback, for DEBUG only


def extract(*args: Any, **kwargs: Any) -> Any:
    """:func:`newsmon.crawler.extraction.extract`, imported on first use (trafilatura is slow
    to import: a process that never extracts never pays for it)."""
    real = _extraction.get("extract")
    if real is None:
        from newsmon.crawler.extraction import extract as imported

        real = _extraction["extract"] = imported
    return real(*args, **kwargs)


_extraction: dict[str, Callable[..., Any]] = {}


class Analyzer:
    """Runs :func:`analyze` for one configuration (the topic matcher is compiled once)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._matcher: TopicMatcher | None = None

    @property
    def matcher(self) -> TopicMatcher | None:
        if self._matcher is None and self.config.topic is not None:
            from newsmon.crawler.topic import TopicMatcher

            self._matcher = TopicMatcher(self.config.topic)
        return self._matcher

    def analyze(self, page: Page) -> Analysis:
        """Extract ``page``, match the topic and fingerprint the text; never raises."""
        from newsmon.crawler.extraction import NotAnArticle

        config = self.config
        source = config.source(page.source)
        tracking = config.dedup.tracking_params
        urls = [page.listed_url]
        step = "extract"
        try:
            fetched = canonicalize(page.url, tracking)
            if fetched not in urls:
                urls.append(fetched)
            try:
                article = extract(page.body, page.url, page.entry, language_hint=source.language,
                                  selectors=source.selectors, settings=config.extraction,
                                  timezone=source.timezone)
            except NotAnArticle as exc:
                return Analysis("rejected", urls, why=f"not an article ({exc.reason})")
            key, shown = story_key(page.url, article.canonical_url, tracking)
            if key in urls:
                urls.remove(key)
            urls.insert(0, key)
            record = article_record(
                article, url=page.url, key=key, canonical_url=shown, source=page.source,
                fetched_at=page.fetched_at, via={"kind": page.via_kind, "url": page.via_url},
                record_id=page.story_id,
            )
            step = "match the topic"
            matcher = self.matcher
            if matcher is not None:
                verdict = matcher.evaluate(
                    {"title": record["title"], "description": record["description"], "text": record["text"]},
                    record["language"],
                )
                if not verdict.kept:
                    explained = {**verdict.to_record(), "missed": verdict.missed, "excluded": verdict.excluded}
                    stub = dropped_stub(record, explained, urls, verdict.reason, datetime.now(UTC))
                    return Analysis("off_topic", urls, record=record, why=verdict.reason, stub=stub)
                record["topic"] = verdict.to_record()
            step = "publish"  # the fingerprints are the publish step's input
            return Analysis("story", urls, record=record, fingerprints=Fingerprints.of(record, urls))
        except Exception as exc:
            return failure(urls, step, exc)


def failure(urls: list[str], step: str, exc: BaseException) -> Analysis:
    """The :class:`Analysis` of a page whose ``step`` raised ``exc``."""
    lines = str(exc).strip().splitlines()
    first = lines[0][:200] if lines else ""
    detail = "".join(traceback.format_exception(exc))
    return Analysis("failed", urls, step=step, error=f"{type(exc).__name__}: {first}", detail=detail)


# -- the pool --------------------------------------------------------------------------------
_worker: Analyzer | None = None


def _init_worker(config: Config) -> None:
    """Pool process start: signals are the parent's business (a Ctrl-C reaches the whole process
    group; the parent's warm stop lets the pages in flight finish, so the pool must too)."""
    global _worker  # noqa: PLW0603 - one analyzer per pool process, built once
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    _worker = Analyzer(config)


def _warm() -> None:
    """Import the extraction (trafilatura, lxml) before the first page arrives."""
    import newsmon.crawler.extraction
    import newsmon.crawler.topic  # noqa: F401


def _analyze_in_worker(page: Page) -> Analysis:
    if _worker is None:  # pragma: no cover - the initializer always ran
        raise RuntimeError("pool process without an analyzer")
    return _worker.analyze(page)


#: What a pool process runs for a page (a module-level function: it is pickled by name).
Task = Callable[["Page"], Analysis]


class PagePool:
    """A pool of ``workers`` processes running :func:`analyze`, awaited from the event loop.

    Processes are started by ``forkserver`` (never ``fork``: the parent runs threads and an
    event loop), which imports the extraction once, as soon as the pool starts. A process that
    dies breaks the pool, and every page in it: the pool is replaced, and those pages are tried
    again one at a time in a quarantine process of their own, so that a page that kills its
    process fails alone. It is then a failure on its source (fetched again next poll), never a
    silent loss.
    """

    def __init__(self, config: Config, workers: int, *, task: Task = _analyze_in_worker) -> None:
        self.config = config
        self.workers = workers
        self.task = task
        self._context = multiprocessing.get_context("forkserver")
        # The fork server imports the extraction once and every pool process is forked from it:
        # no process pays for the import again, and its pages are shared until written to.
        # (This process, which only does I/O, never imports it.)
        self._context.set_forkserver_preload(["newsmon.crawler.analysis", "newsmon.crawler.extraction",
                                              "newsmon.crawler.topic"])
        self._executor = self._start(workers)
        self._quarantine: ProcessPoolExecutor | None = None
        self._quarantine_lock = asyncio.Lock()

    def _start(self, workers: int) -> ProcessPoolExecutor:
        executor = ProcessPoolExecutor(workers, mp_context=self._context,
                                       initializer=_init_worker, initargs=(self.config,))
        for _ in range(workers):
            executor.submit(_warm)  # start every process now, while the feeds download
        return executor

    async def analyze(self, page: Page) -> Analysis:
        """The :class:`Analysis` of ``page``, computed in a pool process."""
        executor = self._executor
        try:
            return await asyncio.wrap_future(executor.submit(self.task, page))
        except BrokenProcessPool:
            if executor is self._executor:
                logger.warning("An extraction process died; starting new ones, and trying its pages "
                               "again one at a time")
                executor.shutdown(wait=False, cancel_futures=True)
                self._executor = self._start(self.workers)
        async with self._quarantine_lock:
            if self._quarantine is None:
                self._quarantine = self._start(1)
            try:
                return await asyncio.wrap_future(self._quarantine.submit(self.task, page))
            except BrokenProcessPool:
                self._quarantine.shutdown(wait=False, cancel_futures=True)
                self._quarantine = None
                return failure([page.listed_url], "extract",
                               RuntimeError("the extraction process died on this page"))

    def _executors(self) -> list[ProcessPoolExecutor]:
        return [e for e in (self._executor, self._quarantine) if e is not None]

    def processes(self) -> list[multiprocessing.process.BaseProcess]:
        """The pool's live processes."""
        # ProcessPoolExecutor keeps them in a private dict; a cold stop has no other way.
        return [p for e in self._executors() for p in (getattr(e, "_processes", None) or {}).values()]

    def kill(self) -> None:
        """Cold stop: kill the processes at once (no page is waited for)."""
        for process in self.processes():
            process.kill()

    def close(self) -> None:
        """Warm stop: wait for the pages in flight, drop the queued ones, end the processes."""
        for executor in self._executors():
            executor.shutdown(wait=True, cancel_futures=True)
