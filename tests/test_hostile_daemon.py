"""The daemon against the hostile web: it keeps publishing the healthy outlet and keeps running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from newsmon.scheduler.keys import Keys
from tests.hostile import HostileWeb, build_outlets, source_of, write_config

DEADLINE = 60.0


def _wait_for(what: str, check: Callable[[], bool], process: subprocess.Popen[str], deadline: float = DEADLINE) -> None:
    """Poll ``check`` until it holds; fail if the deadline passes or the daemon exits first."""
    end = time.monotonic() + deadline
    while not check():
        if process.poll() is not None:
            raise AssertionError(f"the daemon exited ({process.returncode}) before {what}")
        if time.monotonic() > end:
            raise AssertionError(f"no {what} within {deadline:.0f}s")
        time.sleep(0.2)


@pytest.mark.slow
def test_the_daemon_survives_the_hostile_web(tmp_path: Path, redis_url: str, keys: Keys,
                                             redis_client: redis.Redis) -> None:
    """newsmon run: the healthy outlet is published, hostile ones do not stop it; SIGTERM exits 0."""
    names = ["healthy", "drip", "silent", "storm", "ratelimited", "gzip-bomb", "redirect-loop", "laughs"]
    outlets = [o for o in build_outlets() if o.name in names]
    with HostileWeb(outlets) as web:
        config = write_config(tmp_path, [source_of(o) for o in web.outlets.values()], redis_url, keys.prefix,
                              interval="2s", scheduler={"jitter": "0s", "stop_timeout": "10s"},
                              timeout="2s", retries=0)
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "NEWSMON_CONFIG"}}
        log_path = tmp_path / "daemon.log"
        with log_path.open("w") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "newsmon.scheduler.cli", "--config", str(config), "run", "--workers", "1"],
                env=env, stdout=subprocess.DEVNULL, stderr=log_file, text=True, start_new_session=True)
        try:
            _wait_for("healthy article published",
                      lambda: int(redis_client.xlen(keys.articles)) >= 3, process)
            # The drip outlet costs every crawl fetch.timeout; a second poll of it means the
            # worker came through a whole hostile crawl and went on.
            _wait_for("second poll of the drip outlet",
                      lambda: int(redis_client.hget(keys.source_state("drip"), "polls") or 0) >= 2, process)
            assert process.poll() is None
            assert int(redis_client.hget(keys.source_state("storm"), "consecutive_failures") or 0) >= 1
            assert len(web.requests("healthy", "/feed.xml")) >= 2
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=DEADLINE)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log = log_path.read_text()
        assert code == 0, log
        assert "Traceback" not in log
