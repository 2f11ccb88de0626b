"""Run ``newsmon`` against the hostile web as a user would: a config file and a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

#: No crawl of the suite may take longer; a hang fails the test instead of the CI job.
CRAWL_DEADLINE = 120.0

#: Fetch settings of the hostile crawls: short deadlines, loopback allowed but nothing else
#: private, small caps so that every limit is reached quickly.
FETCH: dict[str, Any] = {
    "allow_private_addresses": False,
    "allowed_networks": ["127.0.0.0/8"],
    "timeout": "3s",
    "connect_timeout": "2s",
    "max_size": "16MiB",  # the 100,000-item feed is 10 MB; the bombs are far above
    "retries": 1,
    "delay": 0,
    "concurrency": 64,
    "max_items_per_feed": 20,
}


def write_config(directory: Path, sources: Sequence[dict[str, Any]], redis_url: str, prefix: str,
                 *, interval: str = "1m", scheduler: dict[str, Any] | None = None, **fetch: Any) -> Path:
    """A newsmon config for ``sources`` on the test's Redis and key prefix."""
    config = {
        "data_dir": str(directory / "data"),
        "log_level": "INFO",
        "redis": {"url": redis_url, "prefix": prefix},
        "fetch": {**FETCH, **fetch},
        "sinks": {"jsonl": {"enabled": False}},
        "sources": [{"interval": interval, **source} for source in sources],
    }
    if scheduler:
        config["scheduler"] = scheduler
    path = directory / "newsmon.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def newsmon(config: Path, *args: str, timeout: float = CRAWL_DEADLINE) -> subprocess.CompletedProcess[str]:
    """``newsmon --config CONFIG ARGS...``, with the test's environment minus REDIS_URL."""
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "NEWSMON_CONFIG"}}
    return subprocess.run([sys.executable, "-m", "newsmon.scheduler.cli", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=timeout, env=env, check=False)


@dataclass
class CrawlResult:
    """One ``newsmon crawl --json``: per-source summaries, exit code, log, wall time."""

    sources: dict[str, dict[str, Any]]
    code: int
    log: str
    seconds: float

    def __getitem__(self, source: str) -> dict[str, Any]:
        return self.sources[source]


def crawl(config: Path, *sources: str) -> CrawlResult:
    """Poll once (``newsmon crawl --json``), optionally only ``sources``."""
    args = ["crawl", "--json"] + [a for s in sources for a in ("--source", s)]
    started = time.monotonic()
    done = newsmon(config, *args)
    seconds = time.monotonic() - started
    try:
        summary = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise AssertionError(f"newsmon crawl printed no summary (exit {done.returncode}):\n{done.stderr}") from None
    return CrawlResult({s["source"]: s for s in summary["sources"]}, done.returncode, done.stderr, seconds)
