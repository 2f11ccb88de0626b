#!/usr/bin/env python3
"""How long the read-only commands take to answer while a daemon runs.

    python bench/readonly.py [--repeat 10] [--workers 2]

Starts ``newsmon run --workers N`` over the fixture newsroom (four outlets, polled every 5s) on
an embedded Redis under a fresh data directory, waits for its first poll, then runs each of
``newsmon status``, ``status --json``, ``feed groups``, ``sources list`` and ``--help``
``--repeat`` times as a fresh process (what a person or a script pays: interpreter start,
imports, the settings, the Redis round trips). Prints min / median / max wall seconds per
command, and the slowest imports of ``status`` (``python -X importtime``); asserts nothing.
"""

from __future__ import annotations

import argparse
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers import child_env, newsmon_cmd  # noqa: E402
from tests.newsroom import Newsroom  # noqa: E402

COMMANDS = (("status",), ("status", "--json"), ("feed", "groups"), ("sources", "list"), ("--help",))


def timed(config: Path, args: tuple[str, ...]) -> float:
    start = time.perf_counter()
    result = subprocess.run(newsmon_cmd("--config", str(config), *args), capture_output=True, text=True,
                            env=child_env(), check=False, timeout=120)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"newsmon {' '.join(args)} exited {result.returncode}: {result.stderr.strip()}")
    return elapsed


def slowest_imports(config: Path, count: int = 8) -> list[tuple[int, str]]:
    result = subprocess.run([*newsmon_cmd("--config", str(config), "status")[:1], "-X", "importtime",
                             *newsmon_cmd("--config", str(config), "status")[1:]],
                            capture_output=True, text=True, env=child_env(), check=False, timeout=120)
    rows = []
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|(\s*)(\S+)", line)
        if match and len(match.group(2)) <= 3:  # top-level imports only (one level of indentation)
            rows.append((int(match.group(1)), match.group(3)))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="runs of each command (default 10)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the daemon (default 2)")
    args = parser.parse_args()
    with Newsroom() as room, tempfile.TemporaryDirectory(prefix="bench-readonly-") as tmp:
        work = Path(tmp)
        config = work / "newsmon.yaml"
        config.write_text(room.config_yaml(interval="5s", data_dir=str(work / "var"), redis={"prefix": "bench"},
                                           fetch={"delay": "0s"}, scheduler={"jitter": "0s"}))
        log = work / "daemon.log"
        with open(log, "w") as out:
            daemon = subprocess.Popen(newsmon_cmd("--config", str(config), "run", "--workers", str(args.workers)),
                                      stdout=out, stderr=subprocess.STDOUT, text=True, env=child_env())
        try:
            deadline = time.monotonic() + 120
            while "Polled" not in log.read_text():
                if time.monotonic() > deadline or daemon.poll() is not None:
                    raise SystemExit(f"the daemon did not poll:\n{log.read_text()[-2000:]}")
                time.sleep(0.2)  # waiting for the daemon's first poll, with a deadline
            print(f"newsmon run --workers {args.workers} polling 4 outlets every 5s; "
                  f"each command run {args.repeat} times as a fresh process (wall seconds)")
            print(f"{'command':<24} {'min':>6} {'median':>6} {'max':>6}")
            for command in COMMANDS:
                times = [timed(config, command) for _ in range(args.repeat)]
                print(f"{' '.join(command):<24} {min(times):>6.3f} {statistics.median(times):>6.3f} "
                      f"{max(times):>6.3f}")
            print("slowest top-level imports of `newsmon status` (cumulative ms):")
            for micros, name in slowest_imports(config):
                print(f"  {micros / 1000:>7.1f}  {name}")
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=60)


if __name__ == "__main__":
    main()
