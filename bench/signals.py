#!/usr/bin/env python3
"""How long newsmon takes to stop on a signal, and to refuse a second daemon.

    python bench/signals.py [--repeat 3] [--delay 0.5s] [--after 3]

Against the fixture newsroom (four outlets, 24 articles, ``fetch.delay`` = ``--delay``), each
process on an embedded Redis under a fresh data directory of its own:

1. ``newsmon crawl``, SIGINT ``--after`` seconds in: seconds from the signal to the exit (the
   pages in flight finish, the summary is printed, the embedded Redis stopped), the exit
   status, and how many articles the first crawl published.
2. The same with SIGTERM.
3. The same with a second SIGINT half a second after the first: seconds from the second
   signal to the exit.
4. ``newsmon run --workers 2``, SIGHUP after its first poll: seconds to the exit.
5. A second ``newsmon run`` while the first runs: seconds until it exits, on the same data
   directory (the file lock) and on the same Redis and prefix from another data directory (the
   Redis lock).

Prints min / median / max over ``--repeat`` runs; asserts nothing.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsmon.scheduler.redis_conn import EmbeddedRedis  # noqa: E402
from tests.helpers import child_env, newsmon_cmd  # noqa: E402
from tests.newsroom import Newsroom  # noqa: E402


def write_config(work: Path, room: Newsroom, delay: str, **extra: Any) -> Path:
    path = work / "newsmon.yaml"
    extra.setdefault("redis", {"prefix": "bench"})
    path.write_text(room.config_yaml(data_dir=str(work / "var"), fetch={"delay": delay},
                                     scheduler={"jitter": "0s"}, **extra))
    return path


def start(config: Path, *args: str, log: Path) -> subprocess.Popen[str]:
    with open(log, "w") as out:
        return subprocess.Popen(newsmon_cmd("--config", str(config), *args), stdout=out,
                                stderr=subprocess.STDOUT, text=True, env=child_env())


def wait_text(log: Path, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: no {text!r} in {log} after {timeout:g}s")
        time.sleep(0.05)


def crawl_stop(room: Newsroom, delay: str, after: float, signals: list[signal.Signals]) -> tuple[float, int, int]:
    """Seconds from the last signal to the exit, exit status, articles published."""
    with tempfile.TemporaryDirectory(prefix="bench-signals-") as tmp:
        work = Path(tmp)
        log = work / "crawl.log"
        crawl = start(write_config(work, room, delay), "crawl", log=log)
        time.sleep(after)  # "a few seconds into the crawl", as a user would press Ctrl-C
        for index, sig in enumerate(signals):
            if index:
                time.sleep(0.5)
            crawl.send_signal(sig)
            sent = time.monotonic()
        code = crawl.wait(timeout=120)
        elapsed = time.monotonic() - sent
        published = log.read_text().count("published new")
        return elapsed, code, published


def run_sighup(room: Newsroom, delay: str) -> tuple[float, int, int]:
    with tempfile.TemporaryDirectory(prefix="bench-signals-") as tmp:
        work = Path(tmp)
        log = work / "daemon.log"
        daemon = start(write_config(work, room, delay, interval="1h"), "run", "--workers", "2", log=log)
        wait_text(log, "Polled")
        daemon.send_signal(signal.SIGHUP)
        sent = time.monotonic()
        code = daemon.wait(timeout=120)
        return time.monotonic() - sent, code, 0


def second_run(room: Newsroom, delay: str, *, shared_redis: bool) -> tuple[float, int, int]:
    with tempfile.TemporaryDirectory(prefix="bench-signals-") as tmp:
        work = Path(tmp)
        embedded = None
        extra: dict[str, Any] = {}
        if shared_redis:
            embedded = EmbeddedRedis(work / "redis")
            extra["redis"] = {"url": embedded.acquire(), "prefix": "bench"}
        (work / "a").mkdir()
        (work / "b").mkdir()
        first_config = write_config(work / "a", room, delay, interval="1h", **extra)
        second_config = first_config if not shared_redis else write_config(work / "b", room, delay, interval="1h",
                                                                           **extra)
        log = work / "daemon.log"
        daemon = start(first_config, "run", "--workers", "1", log=log)
        try:
            wait_text(log, "Polled")
            started = time.monotonic()
            second = subprocess.run(newsmon_cmd("--config", str(second_config), "run", "--workers", "1"),
                                    capture_output=True, text=True, env=child_env(), timeout=120, check=False)
            elapsed = time.monotonic() - started
            if daemon.poll() is not None:
                print("bench: the first daemon stopped", file=sys.stderr)
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=120)
            if embedded is not None:
                embedded.stop()
        return elapsed, second.returncode, 0


def row(name: str, measure: Callable[[], tuple[float, int, int]], repeat: int, total: int) -> None:
    results = [measure() for _ in range(repeat)]
    seconds = [r[0] for r in results]
    codes = sorted({r[1] for r in results})
    published = [r[2] for r in results if r[2]]
    extra = f"  published {min(published)}-{max(published)}/{total}" if published else ""
    print(f"{name:<52} {min(seconds):6.2f} {statistics.median(seconds):6.2f} {max(seconds):6.2f}"
          f"  exit {','.join(map(str, codes))}{extra}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--delay", default="0.5s", help="fetch.delay of the crawls (default 0.5s)")
    parser.add_argument("--after", type=float, default=3.0, help="seconds into the crawl of the first signal")
    args = parser.parse_args()
    with Newsroom() as room:
        total = len(room.articles)
        print(f"fetch.delay {args.delay}, signal {args.after:g}s into the crawl, {args.repeat} runs; seconds:")
        print(f"{'':<52} {'min':>6} {'median':>6} {'max':>6}")
        row("crawl: SIGINT -> exit (warm)", lambda: crawl_stop(room, args.delay, args.after, [signal.SIGINT]),
            args.repeat, total)
        row("crawl: SIGTERM -> exit (warm)", lambda: crawl_stop(room, args.delay, args.after, [signal.SIGTERM]),
            args.repeat, total)
        row("crawl: second SIGINT -> exit (cold)",
            lambda: crawl_stop(room, args.delay, args.after, [signal.SIGINT, signal.SIGINT]), args.repeat, total)
        row("run --workers 2: SIGHUP -> exit (warm)", lambda: run_sighup(room, args.delay), args.repeat, total)
        row("second run, same data dir (file lock) -> exit",
            lambda: second_run(room, args.delay, shared_redis=False), args.repeat, total)
        row("second run, same Redis+prefix (Redis lock) -> exit",
            lambda: second_run(room, args.delay, shared_redis=True), args.repeat, total)


if __name__ == "__main__":
    main()
