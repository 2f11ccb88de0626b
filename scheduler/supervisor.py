"""The supervisor of ``newsmon run``: N ``newsmon worker`` processes beside the scheduler.

It restarts a worker that dies (with back-off), replaces one that stops sending heartbeats
(hung), and on a warm stop asks them to finish their crawl and waits for them. When every
worker dies at start a few times in a row (a broken install or environment), it gives up with
the workers' last error instead of restarting them forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from newsmon.scheduler.keys import Keys
from newsmon.scheduler.outage import Outage, is_outage
from newsmon.settings.model import Config

logger = logging.getLogger(__name__)


#: A worker that exits with an error sooner than this after it started "died at start".
EARLY_EXIT = 15.0
#: When every worker died at start this many times in a row, the supervisor gives up.
CRASH_LOOP = 3


@dataclass
class _Slot:
    index: int
    instance: str = ""  # the daemon's instance id: names stay unique across daemons sharing a Redis
    process: asyncio.subprocess.Process | None = None
    started: float = 0.0
    restarts: int = 0
    backoff: float = 1.0
    next_start: float = 0.0
    early_exits: int = 0  # deaths at start in a row
    last_line: str = ""  # the last line the worker wrote to stderr: its error, when it died
    relay: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        if self.instance:
            return f"{socket.gethostname()}:{self.instance}:w{self.index}"
        return f"{socket.gethostname()}:w{self.index}"


class Supervisor:
    """Keeps N worker processes running."""

    def __init__(self, config: Config, client: redis.Redis, keys: Keys, *, workers: int,
                 redis_url: str, config_path: Path | None, instance: str = "") -> None:
        self.config = config
        self.client = client
        self.keys = keys
        self.redis_url = redis_url
        self.config_path = config_path
        self.slots = [_Slot(i, instance) for i in range(workers)]
        self.instance = instance
        #: The copy of the configuration file the workers load (see :meth:`snapshot`).
        self.snapshot_path: Path | None = None
        self.hung_after = config.scheduler.hung_after.total_seconds()
        self.outage = Outage("the supervisor")

    def snapshot(self, text: bytes | None) -> None:
        """Keep ``text``, the configuration file as the daemon validated it, for the workers.

        Workers load the copy, never the file itself: one started after the file was edited
        but before a reload (a replacement after a crash, or after its crawl budget) gets the
        configuration the daemon runs, valid, rather than a file that may be invalid (it would
        die at start, again and again). The copy lives under ``data_dir/run``; the workers take
        their data directory and Redis from the environment, so where the copy lives changes
        none of their settings.
        """
        if text is None:
            return
        directory = self.config.data_dir / "run"
        path = directory / f"config-{self.instance or os.getpid()}.yaml"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            temporary.write_bytes(text)
            temporary.replace(path)
        except OSError as exc:
            logger.warning("Could not keep a copy of the configuration for the workers (%s); they read %s",
                           exc, self.config_path or "the packaged example")
            return
        self.snapshot_path = path

    def _command(self, slot: _Slot) -> list[str]:
        # -P: the current directory is not put on sys.path, so a folder there (a source
        # checkout, a "newsmon/" of the user's) can never shadow the installed package.
        cmd = [sys.executable, "-P", "-m", "newsmon.scheduler.cli"]
        config_path = self.snapshot_path or self.config_path
        if config_path is not None:
            cmd += ["--config", str(config_path)]
        # The workers log at the daemon's level and format, whichever of flag, environment or file set it.
        return [*cmd, "--log-level", self.config.log_level, "--log-format", self.config.log_format,
                "worker", "--name", slot.name, "--supervised"]

    async def _spawn(self, slot: _Slot) -> None:
        env = dict(os.environ, REDIS_URL=self.redis_url, NEWSMON_DATA_DIR=str(self.config.data_dir))
        # A session of its own: a Ctrl-C in the terminal reaches the supervisor only, which
        # then stops the workers in order (a second signal to a worker is a cold stop).
        # Born with SIGHUP blocked (the mask is inherited through exec): a reload forwarded while
        # the worker is still starting waits until its handler is in place, rather than killing
        # it (SIGHUP's default action) or being lost. The worker unblocks it.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
        try:
            slot.process = await asyncio.create_subprocess_exec(
                *self._command(slot), env=env, stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        slot.started = time.monotonic()
        slot.last_line = ""
        slot.relay = asyncio.ensure_future(self._relay(slot, slot.process))
        logger.info("Worker %s started (pid %d)", slot.name, slot.process.pid)

    @staticmethod
    async def _relay(slot: _Slot, process: asyncio.subprocess.Process) -> None:
        """Copy the worker's stderr (its log) to ours, keeping its last line for a crash report."""
        assert process.stderr is not None
        out = sys.stderr.buffer
        while line := await process.stderr.readline():
            # Our stderr may be gone (a closed terminal): keep reading, or the worker would
            # block on a full pipe in the middle of its warm stop.
            with contextlib.suppress(OSError, ValueError):
                out.write(line)
                out.flush()
            text = line.decode("utf-8", "replace").strip()
            if text:
                slot.last_line = text[:500]

    async def run(self, stop: asyncio.Event) -> str | None:
        """Supervise until ``stop`` is set, then return None; the workers are stopped by :meth:`stop`.

        Returns:
            Why the workers cannot be kept running, when every one of them died at start
            :data:`CRASH_LOOP` times in a row (a broken install or environment: restarting
            them again would only loop).
        """
        for slot in self.slots:
            await self._spawn(slot)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)
            if stop.is_set():
                break
            await self._check(slot_list=self.slots)
            if all(slot.early_exits >= CRASH_LOOP for slot in self.slots):
                last = self.slots[-1]
                return (f"every worker exited within {EARLY_EXIT:.0f}s of starting, {CRASH_LOOP} times in a row; "
                        f"giving up. Last error from worker {last.name}: {last.last_line or '(nothing on stderr)'}")
        return None

    async def _check(self, slot_list: list[_Slot]) -> None:
        now = time.monotonic()
        beats = await self._heartbeats(slot_list)
        for slot in slot_list:
            proc = slot.process
            if proc is not None and proc.returncode is None:
                if beats is not None and now - slot.started > self.hung_after and self._hung(beats[slot.name]):
                    logger.error("Worker %s sent no heartbeat for %.0fs: killing it", slot.name, self.hung_after)
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    await proc.wait()
                else:
                    continue
            if proc is not None and proc.returncode is not None:
                code = proc.returncode
                lived = now - slot.started
                if slot.relay is not None:
                    # The pipe closes with the process; wait for its last lines.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(slot.relay, timeout=2.0)
                slot.process = None
                slot.restarts += 1
                slot.early_exits = slot.early_exits + 1 if code != 0 and lived < EARLY_EXIT else 0
                if code == 0:
                    logger.info("Worker %s exited (recycled after its crawl budget); replacing it", slot.name)
                    slot.backoff = 1.0
                    slot.next_start = now
                else:
                    slot.backoff = 1.0 if lived > 60 else min(slot.backoff * 2, 30.0)
                    slot.next_start = now + slot.backoff
                    logger.warning("Worker %s died (exit %s); restarting in %.0fs (restart %d)",
                                   slot.name, code, slot.backoff, slot.restarts)
            if slot.process is None and now >= slot.next_start:
                await self._spawn(slot)

    async def _heartbeats(self, slot_list: list[_Slot]) -> dict[str, bytes | None] | None:
        """The workers' heartbeats by name; None when they cannot be judged now: Redis is away,
        or came back less than ``hung_after`` ago (a worker could not beat while it was away)."""
        names = [slot.name for slot in slot_list]
        try:
            values = await asyncio.to_thread(self.client.mget, [self.keys.health("worker", n) for n in names])
        except redis.RedisError as exc:
            if not is_outage(exc):
                raise
            self.outage.failed(exc)
            return None
        self.outage.ok()
        if self.outage.back_at and time.monotonic() - self.outage.back_at < self.hung_after:
            return None
        return dict(zip(names, values, strict=True))

    def _hung(self, beat: bytes | None) -> bool:
        if beat is None:
            return True
        return time.time() - float(beat.split()[0]) > self.hung_after

    def reload(self, config: Config, text: bytes | None = None) -> None:
        """Take ``config`` (read from ``text``, when known) and pass the reload on: SIGHUP to
        every running worker.

        The workers stay: each reads the file again between two crawls (its crawl in flight
        finishes with the settings it began with). A worker started later reads the new file
        anyway. Restarting them instead would throw away their warm state (the Scrapy
        process, the robots and DNS caches) and their crawls in flight for nothing.
        """
        self.config = config
        self.hung_after = config.scheduler.hung_after.total_seconds()
        self.snapshot(text)
        for slot in self.slots:
            proc = slot.process
            if proc is not None and proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGHUP)

    async def stop(self, timeout: float) -> None:
        """Warm stop: SIGTERM every worker, wait, then SIGKILL the ones still running."""
        running = [s.process for s in self.slots if s.process is not None and s.process.returncode is None]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        if self.snapshot_path is not None:
            # The workers read it at start only; those stopping are past that.
            self.snapshot_path.unlink(missing_ok=True)
        if not running:
            return
        await asyncio.wait([asyncio.ensure_future(p.wait()) for p in running], timeout=timeout)
        for proc in running:
            if proc.returncode is None:
                logger.warning("Worker pid %d did not stop in %.0fs: killing it", proc.pid, timeout)
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()

    def kill(self, grace: float = 2.0) -> None:
        """Cold stop: SIGKILL every worker this supervisor started, and wait (at most ``grace``
        seconds) until they are gone, so that they no longer hold Redis connections.

        Synchronous, for a signal handler that exits right after. Only the processes of
        :attr:`slots` are signalled, and only while they have not been reaped (their PID is
        still theirs).
        """
        running = [s.process for s in self.slots if s.process is not None and s.process.returncode is None]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        if not hasattr(os, "waitid"):  # macOS before Python 3.13: no way to look without reaping
            return
        deadline = time.monotonic() + grace
        for proc in running:
            while time.monotonic() < deadline:
                try:
                    # WNOWAIT: only look; asyncio's child watcher reaps it.
                    if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                        break
                except ChildProcessError:
                    break
                time.sleep(0.01)  # a killed process is gone within milliseconds; bounded above
