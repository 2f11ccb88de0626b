"""Helpers for tests that run newsmon as real processes against the fixture newsroom."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import redis

from newsmon.scheduler.keys import Keys

#: Generous upper bounds for a subprocess; a test that hits one has found a hang.
COMMAND_TIMEOUT = 120

T = TypeVar("T")


def newsmon_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "newsmon.scheduler.cli", *args]


def child_env(**overrides: str | None) -> dict[str, str]:
    """The test process's environment, minus what would override the test's config."""
    env = {k: v for k, v in os.environ.items() if k not in {"NEWSMON_CONFIG", "NEWSMON_DATA_DIR"}}
    env.pop("REDIS_URL", None)  # the config names the server; REDIS_URL would win over it
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_newsmon(*args: str, env: dict[str, str] | None = None, timeout: float = COMMAND_TIMEOUT
                ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(newsmon_cmd(*args), capture_output=True, text=True, timeout=timeout,
                          env=env or child_env(), check=False)


def start_newsmon(*args: str, env: dict[str, str] | None = None, log: Path | None = None) -> subprocess.Popen[str]:
    """Start newsmon in the background, its output going to ``log``."""
    if log is None:
        return subprocess.Popen(newsmon_cmd(*args), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                text=True, env=env or child_env())
    with open(log, "w") as out:  # the child keeps its own descriptor
        return subprocess.Popen(newsmon_cmd(*args), stdout=out, stderr=subprocess.STDOUT, text=True,
                                env=env or child_env())


def stop(process: subprocess.Popen[str], sig: int = signal.SIGTERM, timeout: float = 60) -> int:
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


def write_config(path: Path, room: Any, redis_url: str, prefix: str, *, interval: str = "2s",
                 topic: bool = False, only: Sequence[str] | None = None, **extra: Any) -> Path:
    """A config for ``room`` whose Redis keys live under the test's own prefix."""
    fetch = {"delay": "0s", "timeout": "20s", **extra.pop("fetch", {})}
    scheduler = {"jitter": "0s", **extra.pop("scheduler", {})}
    text = room.config_yaml(
        interval=interval,
        topic=topic,
        only=list(only) if only else None,
        redis={"url": redis_url, "prefix": prefix},
        data_dir=str(path.parent / "var"),
        fetch=fetch,
        scheduler=scheduler,
        **extra,
    )
    path.write_text(text)
    return path


def records(client: redis.Redis, keys: Keys) -> list[dict[str, Any]]:
    """Every record in the article stream, oldest first."""
    out = []
    for _id, fields in client.xrange(keys.articles):
        out.append(json.loads(fields[b"record"]))
    return out


def wait_for(condition: Callable[[], T], *, timeout: float = 15.0, what: str = "the condition",
             every: float = 0.1) -> T:
    """Poll ``condition`` every ``every`` seconds until it returns something truthy, and return
    that; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(every)  # polling a condition with a deadline, not waiting for timing


def delete_keys(client: redis.Redis, keys: Keys) -> None:
    """Delete every key under ``keys``' prefix, and only those: the server may be shared."""
    pattern = keys.tag.replace("{", r"\{").replace("}", r"\}") + ":*"
    batch = list(client.scan_iter(match=pattern, count=1000))
    while batch:
        client.delete(*batch[:1000])
        batch = batch[1000:]


def normalize_space(text: str) -> str:
    return " ".join(text.split())


def children(pid: int) -> list[int]:
    """The direct child processes of ``pid`` (Linux /proc); a thread that ends while it is read
    is skipped."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False
