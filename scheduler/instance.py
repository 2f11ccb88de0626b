"""One scheduler daemon per data directory and Redis prefix: the daemon lock.

Two ``newsmon run`` (or ``scheduler``) on one installation would both queue every poll; so a
daemon holds a lock for as long as it runs, and a second one exits at once naming the first.

- In Redis, under the prefix (:attr:`Keys.daemon_lock`): ``SET NX`` with a TTL the daemon
  refreshes every :data:`REFRESH_EVERY` seconds; its value is ``host:pid:instance``. A daemon
  that died stops refreshing, so its lock expires after :data:`LOCK_TTL`; sooner still when it
  ran on this host and its PID is gone (a restart after a crash is not held up).
- With the embedded Redis, also a file lock (``flock``) in the data directory, which the kernel
  drops when its process dies, however it dies.

The instance id (a few random hex digits) tells daemons apart beyond host and PID: worker names
carry it, so that two daemons sharing one Redis never use the same consumer or health key.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, NoReturn, TypedDict

import redis

from newsmon.scheduler.keys import Keys

logger = logging.getLogger(__name__)

#: The lock's TTL: how long the lock of a daemon that died elsewhere blocks a new one.
LOCK_TTL = 30.0
#: How often a running daemon refreshes its lock.
REFRESH_EVERY = 5.0


class AlreadyRunning(RuntimeError):
    """Another daemon holds the lock; the message (one line) names it."""


class LockArgs(TypedDict):
    """The argument of ``lua/daemon_lock.lua``; its header says what each field means."""

    op: str
    owner: str
    expected: str
    ttl_ms: int


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) a lock, as written in it: ``host:pid:instance``."""

    host: str
    pid: int
    instance: str

    @classmethod
    def parse(cls, value: str) -> Holder | None:
        host, _, rest = value.strip().partition(":")
        pid, _, instance = rest.partition(":")
        return cls(host, int(pid), instance) if host and pid.isdigit() and instance else None

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.instance}"

    def describe(self) -> str:
        return f"pid {self.pid} on host {self.host} (instance {self.instance})"

    def is_dead(self) -> bool:
        """True when this holder ran on this host and its process is gone.

        Processes that share a host name are assumed to share PID numbers (one machine, or one
        container). The lock's own PID number in a new process (a container restarted: PID 1
        again) is a previous life's.
        """
        if self.host != socket.gethostname():
            return False
        if self.pid == os.getpid():
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, another user's
            return False
        return False


def new_holder() -> Holder:
    """This process, with a fresh instance id."""
    return Holder(socket.gethostname(), os.getpid(), secrets.token_hex(3))


class DaemonLock:
    """The Redis lock of one daemon (see the module's docstring).

    ``acquire`` at start, ``refresh`` every :data:`REFRESH_EVERY` seconds, ``release`` at stop.
    """

    def __init__(self, client: redis.Redis, keys: Keys, holder: Holder, *, ttl: float = LOCK_TTL) -> None:
        self.client = client
        self.key = keys.daemon_lock
        self.prefix = keys.prefix
        self.holder = holder
        self.ttl_ms = int(ttl * 1000)
        script = resources.files("newsmon.scheduler").joinpath("lua/daemon_lock.lua").read_text(encoding="utf-8")
        self._script = client.register_script(script)

    def _run(self, op: str, expected: str = "") -> str:
        args = LockArgs(op=op, owner=str(self.holder), expected=expected, ttl_ms=self.ttl_ms)
        answer = self._script(keys=[self.key], args=[json.dumps(args)])
        return answer.decode() if isinstance(answer, bytes) else str(answer)

    def acquire(self) -> None:
        """Take the lock, or raise :class:`AlreadyRunning` naming its live holder.

        Raises:
            AlreadyRunning: another daemon holds it and is not known to be dead.
        """
        for _ in range(3):  # the holder may change under us (expired, released) between calls
            if self.client.set(self.key, str(self.holder), nx=True, px=self.ttl_ms):
                return
            value = self.client.get(self.key)
            if value is None:
                continue
            current = value.decode(errors="replace")
            holder = Holder.parse(current)
            if holder is not None and holder.is_dead():
                if self._run("replace", expected=current) == "":
                    logger.info("Took over the daemon lock of %s, which is gone", holder.describe())
                    return
                continue
            ttl = self.client.pttl(self.key)
            who = holder.describe() if holder is not None else repr(current)
            expiry = f"; if it is gone, its lock expires within {max(ttl, 0) / 1000:.0f}s" if ttl > 0 else ""
            raise AlreadyRunning(f"a daemon already runs for Redis prefix {self.prefix!r}: {who}{expiry}")
        raise AlreadyRunning(f"could not take the daemon lock of Redis prefix {self.prefix!r}: it keeps changing hands")

    def refresh(self) -> Holder | None:
        """Extend the lock (or take it back if it vanished); return its other holder if it was taken."""
        current = self._run("refresh")
        if not current:
            return None
        return Holder.parse(current) or Holder(current, 0, "?")

    @staticmethod
    def current(client: redis.Redis, keys: Keys) -> Holder | None:
        """The daemon holding the lock of ``keys``' prefix now, or None."""
        value = client.get(keys.daemon_lock)
        return Holder.parse(value.decode(errors="replace")) if value is not None else None

    def release(self) -> None:
        """Give the lock up, if it is still ours."""
        with contextlib.suppress(redis.RedisError):
            self._run("release")


class DirectoryLock:
    """The file lock of a daemon on the embedded Redis: ``<data_dir>/daemon-<prefix>.lock``."""

    def __init__(self, data_dir: Path, prefix: str) -> None:
        self.path = data_dir / f"daemon-{prefix}.lock"
        self.prefix = prefix
        self._handle: IO[str] | None = None

    def acquire(self, holder: Holder) -> None:
        """Take the lock and write ``holder`` in it.

        Raises:
            AlreadyRunning: another process holds it.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Opened without truncating: the holder's line stays readable for the one refused.
        # Not inherited by child processes (Python's default), so only this process holds it.
        handle = open(self.path, "a+")  # noqa: SIM115 - held open for the daemon's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            current = handle.read().strip()
            handle.close()
            parsed = Holder.parse(current)
            who = parsed.describe() if parsed is not None else "another process"
            raise AlreadyRunning(f"a daemon already runs on data directory {self.path.parent} "
                                 f"with Redis prefix {self.prefix!r}: {who}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{holder}\n")
        handle.flush()
        self._handle = handle

    def current(self) -> Holder | None:
        """The daemon holding this lock now (read without taking it), or None."""
        try:
            handle = open(self.path)  # noqa: SIM115 - closed below, after the probe
        except FileNotFoundError:
            return None
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return Holder.parse(handle.read())
            fcntl.flock(handle, fcntl.LOCK_UN)
            return None

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing drops the flock
            self._handle = None


def exit_now(teardown: Callable[[], None] | None, status: int) -> NoReturn:
    """The end of a cold stop: run ``teardown`` (close Redis; stop an embedded server nobody
    else uses), flush the logs and exit at once, whatever threads are still running."""
    if teardown is not None:
        try:
            teardown()
        except (redis.RedisError, OSError) as exc:
            logger.warning("Could not stop the embedded Redis: %s", exc)
    logging.shutdown()
    os._exit(status)
