"""``Newsroom``: the outlets' servers, in a background thread or in the calling one."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

from aiohttp import web

from tests.newsroom.config import config_dict, config_yaml
from tests.newsroom.corpus import build_corpus
from tests.newsroom.model import Article, Outlet, Snapshot
from tests.newsroom.outlets import FIRST_HOST, build_outlets, specs_for
from tests.newsroom.server import make_app
from tests.newsroom.state import RoomState, Site

__all__ = ["Newsroom"]

PORT_ATTEMPTS = 20  # an ephemeral port free on 127.0.0.2 may be taken on another address: try again
START_TIMEOUT = 10.0  # seconds; a start or stop slower than this means something is wrong
SHUTDOWN_TIMEOUT = 1.0  # seconds the servers give in-flight requests when stopping


def _bind(hosts: Sequence[str], port: int) -> tuple[int, list[socket.socket]]:
    """Listening sockets on every host and one port; port 0 picks a port free on all of them."""
    attempts = PORT_ATTEMPTS if port == 0 else 1
    for attempt in range(1, attempts + 1):
        chosen, sockets = port, []
        try:
            for host in hosts:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((host, chosen))
                # Listening now, not when the loop starts, makes a conflict show at the next bind.
                sock.listen(128)
                sock.setblocking(False)
                chosen = sock.getsockname()[1]
        except OSError as exc:
            for sock in sockets:
                sock.close()
            if exc.errno != errno.EADDRINUSE or attempt == attempts:
                where = f"port {chosen} on {', '.join(hosts)}"
                raise OSError(exc.errno, f"newsroom: cannot listen on {where}: {exc.strerror}") from exc
            continue
        return chosen, sockets
    raise AssertionError("unreachable")  # the loop returns or raises


class Newsroom:
    """A synthetic newsroom: several outlets on 127.0.0.2, 127.0.0.3, ... and one shared port.

    Args:
        outlets: how many outlets (the four base ones, then numbered copies that start empty), or
            the names of base outlets to run.
        port: the shared port; 0 picks a free one.
        seed: decides paragraphs, authors, times and ids of the default corpus.
        now: the room's "now" (aware); None means the time ``start()`` is called. Default articles
            are published within the two days before it; the room's clock runs on from it.
    """

    def __init__(self, outlets: int | Sequence[str] = 4, port: int = 0, seed: int = 1,
                 now: datetime | None = None) -> None:
        if now is not None and now.tzinfo is None:
            raise ValueError(f"now: expected a timezone-aware datetime, got {now!r}")
        self._specs = specs_for(outlets if isinstance(outlets, int) else list(outlets))
        self._requested_port = port
        self._seed = seed
        self._now = now
        self._state: RoomState | None = None
        self._sockets: list[socket.socket] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def _prepare(self) -> None:
        if self._state is not None:
            raise RuntimeError("newsroom: a room starts once; make a new Newsroom")
        hosts = [f"127.0.0.{FIRST_HOST + index}" for index in range(len(self._specs))]
        port, self._sockets = _bind(hosts, self._requested_port)
        now = (self._now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        started = time.monotonic()
        clock: Callable[[], datetime]
        if self._now is None:
            def clock() -> datetime:
                return datetime.now(UTC)
        else:
            def clock() -> datetime:
                return now + timedelta(seconds=time.monotonic() - started)
        outlets = build_outlets(self._specs, port)
        articles = build_corpus(self._specs, outlets, self._seed, now)
        sites = [Site(spec, outlet) for spec, outlet in zip(self._specs, outlets, strict=True)]
        self._state = RoomState(sites, articles, seed=self._seed, now=now, clock=clock)

    async def _serve(self, stop: asyncio.Event, on_ready: Callable[[], None]) -> None:
        state = self.state
        runners: list[web.AppRunner] = []
        try:
            for site, sock in zip(state.sites.values(), self._sockets, strict=True):
                runner = web.AppRunner(make_app(state, site), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
                await runner.setup()
                runners.append(runner)
                await web.SockSite(runner, sock).start()
            on_ready()
            await stop.wait()
        finally:
            for runner in reversed(runners):
                await runner.cleanup()
            for sock in self._sockets:
                sock.close()

    def _thread_main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop_event = asyncio.Event()
            await self._serve(self._stop_event, self._ready.set)

        try:
            asyncio.run(main())
        except Exception as exc:  # handed to the thread that called start() or stop()
            self._failure = exc
        finally:
            self._ready.set()

    def start(self) -> Self:
        """Start serving in a background thread; returns once every outlet listens."""
        self._prepare()
        self._thread = threading.Thread(target=self._thread_main, name=f"newsroom:{self.port}", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise RuntimeError(f"newsroom: not listening after {START_TIMEOUT:.0f}s")
        self._raise_failure()
        return self

    def stop(self) -> None:
        """Stop the servers and wait for the thread; safe to call twice."""
        thread, loop, stop = self._thread, self._loop, self._stop_event
        if thread is None:
            return
        if loop is not None and stop is not None and thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop closed between the check and the call
                loop.call_soon_threadsafe(stop.set)
        thread.join(START_TIMEOUT)
        if thread.is_alive():
            raise RuntimeError(f"newsroom: server thread still running {START_TIMEOUT:.0f}s after stop")
        self._thread = None
        self._raise_failure()

    def _raise_failure(self) -> None:
        failure, self._failure = self._failure, None
        if failure is not None:
            raise RuntimeError(f"newsroom: server failed: {failure}") from failure

    def serve_forever(self, on_ready: Callable[[Newsroom], None] | None = None) -> None:
        """Serve in the calling thread until SIGTERM or SIGINT (the subprocess mode)."""
        self._prepare()

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
            await self._serve(stop, (lambda: on_ready(self)) if on_ready else (lambda: None))

        asyncio.run(main())

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    # -- reading -------------------------------------------------------------------------------

    @property
    def state(self) -> RoomState:
        if self._state is None:
            raise RuntimeError("newsroom: not started yet; call start() or use it as a context manager")
        return self._state

    @property
    def port(self) -> int:
        return self.outlets[0].port

    @property
    def now(self) -> datetime:
        """The room's "now": default articles were published in the two days before it."""
        return self.state.now

    @property
    def outlets(self) -> list[Outlet]:
        return [site.outlet for site in self.state.sites.values()]

    def outlet(self, name: str) -> Outlet:
        return self.state.site(name).outlet

    @property
    def articles(self) -> list[Article]:
        """Every article, newest first, including those published since the start."""
        return self.state.articles()

    def articles_of(self, outlet: str) -> list[Article]:
        self.state.site(outlet)  # unknown names raise
        return self.state.articles(outlet)

    def lookup(self, url: str) -> Article | None:
        """The article served at ``url`` (any listed variant or alias; query and fragment ignored)."""
        parts = urlsplit(url)
        for outlet in self.outlets:
            if parts.netloc == f"{outlet.host}:{outlet.port}":
                return self.state.article_at(outlet.name, parts.path)
        return None

    def snapshot(self) -> Snapshot:
        return self.state.snapshot()

    # -- changing ------------------------------------------------------------------------------

    def revise(self, url: str, **changes: Any) -> Article:
        """Change an article's ``title``, ``paragraphs`` or ``description`` at its URLs; thread-safe."""
        return self.state.revise(url, **changes)

    def publish(self, outlet: str, title: str | None = None, paragraphs: Sequence[str] | None = None,
                **fields: Any) -> Article:
        """Add an article; it appears at once in the outlet's feeds, sitemaps, home and section pages.

        Without ``paragraphs`` the text comes from an unused reserve story of the right language
        and ``on_topic`` (default True; two per language and side). With ``paragraphs`` and no
        ``on_topic``, the reference topic matcher decides. Other fields: ``language``,
        ``authors``, ``published`` (aware datetime or ISO string; default: the room's clock),
        ``slug``, ``section``, ``canonical_url`` (another URL, for syndicated copies),
        ``description``. Thread-safe.
        """
        if title is not None:
            fields["title"] = title
        if paragraphs is not None:
            fields["paragraphs"] = list(paragraphs)
        return self.state.publish(outlet, **fields)

    def break_feed(self, outlet: str, what: str = "feed", mode: str = "not-xml") -> str:
        """Make a document misbehave; returns its path.

        ``what`` is a document kind of the outlet (``feed`` = its first feed, ``rss``, ``atom``,
        ``rdf``, ``sitemap``, ``sitemap-news``, ``section``, ``home``, ``robots``) or any path.
        ``mode``: ``not-xml`` (an HTML page, status 200), ``500``, ``404``, ``truncated`` (the
        first half of the body), ``empty`` (status 200, no body) or ``ok`` (repaired).
        """
        return self.state.set_break(outlet, what, mode)

    def requests(self, outlet: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        """The request log, oldest first: ``time, outlet, method, host, path, query, status, headers,
        started, ended, start_event, end_event`` (see the package docstring).

        Header names are Title-Cased (``If-None-Match``, ``If-Modified-Since``, ``User-Agent``).
        """
        entries = self.state.requests()
        return [entry for entry in entries
                if (outlet is None or entry["outlet"] == outlet) and (path is None or entry["path"] == path)]

    def reset_log(self) -> int:
        """Empty the request log; returns how many entries it had."""
        return self.state.reset_log()

    # -- configuration -------------------------------------------------------------------------

    def config(self, **options: Any) -> dict[str, Any]:
        """The newsmon configuration as a mapping; options as for :meth:`config_yaml`."""
        return config_dict(self.outlets, **options)

    def config_yaml(self, interval: str = "2s", **options: Any) -> str:
        """A newsmon configuration polling every outlet (``only=[names]`` for some).

        ``topic=True`` adds the topic section; other keyword arguments are merged into the
        top level (``redis={"url": ...}``, ``fetch={"delay": "1s"}``, ``data_dir=...``).
        """
        return config_yaml(self.outlets, interval=interval, **options)
