"""A raw asyncio HTTP/1.1 server for misbehaving on purpose, one listening address per outlet.

Raw sockets rather than a web framework, because the point is to break the protocol: answer
one byte a second, never answer, stop after the headers, reset mid-body, send less than the
Content-Length, garble the chunked encoding. Every exchange is logged (:class:`Hit`) with when
it started, when it ended, how many bytes were sent and whether the client hung up first,
which is how tests see that newsmon cut a case off.

It runs on an event loop in a thread of its own, so tests (and the crawls they start as
subprocesses) talk to it over loopback like to any web server.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import struct
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

#: A handler never keeps a connection longer than this (newsmon must hang up long before).
PATIENCE = 60.0
_MAX_HEAD = 64 * 1024
_REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 304: "Not Modified", 404: "Not Found",
            429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable"}


@dataclass
class Hit:
    """One request as the server saw it."""

    outlet: str
    method: str
    path: str  # with the query string
    headers: dict[str, str]  # names lower-cased
    started: float  # time.monotonic()
    ended: float | None = None
    status: int | None = None
    sent: int = 0  # bytes written, headers included
    client_hung_up: bool = False  # the client closed before the handler was done

    @property
    def seconds(self) -> float | None:
        return None if self.ended is None else self.ended - self.started


class Exchange:
    """One request being answered; what a handler writes with."""

    def __init__(self, hit: Hit, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, outlet: Outlet) -> None:
        self.hit = hit
        self.reader = reader
        self.writer = writer
        self.outlet = outlet
        self.base_url = outlet.base_url

    @property
    def state(self) -> dict[str, Any]:
        """The outlet's mutable state (tests change it between polls)."""
        return self.outlet.state

    @property
    def path(self) -> str:
        return self.hit.path

    def header(self, name: str) -> str | None:
        return self.hit.headers.get(name.lower())

    async def write(self, data: bytes) -> bool:
        """Write and drain; False once the client is gone."""
        if self.writer.is_closing():
            self.hit.client_hung_up = True
            return False
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, OSError):
            self.hit.client_hung_up = True
            return False
        self.hit.sent += len(data)
        return True

    def head(self, status: int, headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
             *, length: int | None = None) -> bytes:
        self.hit.status = status
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Whatever')}"]
        items = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
        names = {k.lower() for k, _ in items}
        if length is not None and "content-length" not in names:
            items.append(("Content-Length", str(length)))
        if "connection" not in names:
            items.append(("Connection", "close"))
        lines += [f"{k}: {v}" for k, v in items]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def respond(self, status: int, body: bytes = b"", content_type: str | None = "text/html; charset=utf-8",
                      headers: Mapping[str, str] | None = None) -> None:
        all_headers = dict(headers or {})
        if content_type:
            all_headers.setdefault("Content-Type", content_type)
        await self.write(self.head(status, all_headers, length=len(body)) + body)

    async def wait_for_hang_up(self, limit: float = PATIENCE) -> bool:
        """Wait until the client closes the connection (True) or ``limit`` passes (False)."""
        try:
            data = await asyncio.wait_for(self.reader.read(1), limit)
        except TimeoutError:
            return False
        except (ConnectionError, OSError):
            data = b""
        if not data:
            self.hit.client_hung_up = True
            return True
        return await self.wait_for_hang_up(limit)

    def reset(self) -> None:
        """Close with a TCP RST instead of a FIN."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()


Handler = Callable[[Exchange], Awaitable[None]]


@dataclass
class Outlet:
    """A named site on an address of its own, and what it answers."""

    name: str
    host: str
    routes: list[tuple[str, Handler]] = field(default_factory=list)  # (path or "prefix*", handler)
    port: int = 0
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def handler_for(self, path: str) -> Handler | None:
        bare = path.split("?", 1)[0]
        for pattern, handler in self.routes:
            if pattern.endswith("*") and path.startswith(pattern[:-1]):
                return handler
            if pattern in (bare, path):
                return handler
        return None


async def not_found(ex: Exchange) -> None:
    await ex.respond(404, b"<html><body>not here</body></html>")


class HostileWeb:
    """The outlets, served from a thread: ``with HostileWeb(outlets) as web: ...``."""

    def __init__(self, outlets: Iterable[Outlet]) -> None:
        self.outlets = {o.name: o for o in outlets}
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> HostileWeb:
        self._thread = threading.Thread(target=self._main, name="hostile-web", daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the hostile web did not start in 30s")
        if self._error is not None:
            raise RuntimeError("the hostile web did not start") from self._error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(30)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to the thread that waits for readiness
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        servers = []
        for outlet in self.outlets.values():
            server = await asyncio.start_server(functools.partial(self._connection, outlet), outlet.host,
                                                outlet.port or 0)
            outlet.port = server.sockets[0].getsockname()[1]
            servers.append(server)
        self._ready.set()
        await self._stop.wait()
        for server in servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _connection(self, outlet: Outlet, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), PATIENCE)
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
                    return
                if len(head) > _MAX_HEAD:
                    return
                hit = self._parse(outlet.name, head)
                if hit is None:
                    return
                with self._lock:
                    self.hits.append(hit)
                exchange = Exchange(hit, reader, writer, outlet)
                try:
                    await (outlet.handler_for(hit.path) or not_found)(exchange)
                except (ConnectionError, OSError):
                    hit.client_hung_up = True
                finally:
                    hit.ended = time.monotonic()
                # Every answer says Connection: close.
                return
        except asyncio.CancelledError:
            pass
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    @staticmethod
    def _parse(outlet: str, head: bytes) -> Hit | None:
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, path, _version = lines[0].split(" ", 2)
        except ValueError:
            return None
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        return Hit(outlet=outlet, method=method, path=path, headers=headers, started=time.monotonic())

    # -- what tests read -------------------------------------------------------------------
    def outlet(self, name: str) -> Outlet:
        return self.outlets[name]

    def requests(self, outlet: str | None = None, path: str | None = None) -> list[Hit]:
        """Hits, oldest first; ``path`` ending in ``*`` is a prefix."""
        with self._lock:
            hits = list(self.hits)
        if outlet is not None:
            hits = [h for h in hits if h.outlet == outlet]
        if path is not None:
            hits = [h for h in hits if (h.path.startswith(path[:-1]) if path.endswith("*") else h.path == path)]
        return hits

    def clear(self) -> None:
        with self._lock:
            self.hits.clear()
