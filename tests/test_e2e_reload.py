"""Reloading the configuration of a running daemon over real processes: SIGHUP and `newsmon reload`."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import redis

from newsmon.scheduler.keys import Keys
from tests.helpers import children, records, run_newsmon, start_newsmon, stop, wait_for, write_config
from tests.newsroom import Newsroom

pytestmark = pytest.mark.slow


@pytest.fixture
def room() -> Newsroom:
    with Newsroom() as newsroom:
        yield newsroom



def _sources(client: redis.Redis, keys: Keys) -> set[str]:
    return {r["source"] for r in records(client, keys)}


def test_sighup_adds_a_source_without_restarting_and_keeps_running_on_an_invalid_file(
    room: Newsroom, redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """`newsmon run --workers 2` on two outlets: a third added to the file is published after
    SIGHUP by the same supervisor and workers (same PIDs); an invalid file on SIGHUP is refused with
    its problem logged, `newsmon reload` signals the daemon, and SIGTERM still exits 0."""
    path = tmp_path / "newsmon.yaml"
    write_config(path, room, redis_url, redis_prefix, interval="2s", only=["wire-en", "journal-fr"])
    log = tmp_path / "daemon.log"
    daemon = start_newsmon("--config", str(path), "run", "--workers", "2", log=log)
    try:
        wait_for(lambda: _sources(redis_client, keys) == {"wire-en", "journal-fr"}, timeout=90,
                 what="the two outlets' articles")
        workers = sorted(wait_for(lambda: len(children(daemon.pid)) == 2 and children(daemon.pid),
                                  timeout=30, what="two workers"))

        write_config(path, room, redis_url, redis_prefix, interval="2s",
                     only=["wire-en", "journal-fr", "gazette-en"])
        daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: "gazette-en" in _sources(redis_client, keys), timeout=90,
                 what="the added outlet's articles")
        assert daemon.poll() is None
        assert sorted(children(daemon.pid)) == workers, "the workers were restarted"
        assert "Configuration reloaded: sources added: gazette-en" in log.read_text()

        good = path.read_text()
        path.write_text(good.replace("interval: 2s", "interval: often", 1))
        daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: "Configuration not reloaded" in log.read_text(), timeout=30, what="the refusal")
        text = log.read_text()
        assert f"{path}:" in text, text[-3000:]
        assert "interval: expected a duration" in text
        assert daemon.poll() is None

        # `newsmon reload` checks the file first: still invalid, the daemon is not signalled.
        refused = run_newsmon("--config", str(path), "reload")
        assert refused.returncode == 2
        assert "interval" in refused.stderr
        path.write_text(good.replace("- name: gazette-en", "- name: gazette-en\n  enabled: false", 1))
        sent = run_newsmon("--config", str(path), "reload")
        assert sent.returncode == 0, sent.stderr
        assert f"pid {daemon.pid}" in sent.stdout
        wait_for(lambda: "sources removed: gazette-en" in log.read_text(), timeout=30, what="the second reload")
        assert sorted(children(daemon.pid)) == workers
    finally:
        code = stop(daemon)
    output = log.read_text()
    assert code == 0, output[-3000:]
    assert "Traceback" not in output


def test_reload_without_a_running_daemon_exits_2_naming_the_prefix(
    room: Newsroom, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    """`newsmon reload` with no daemon: exit 2 and one line, on a Redis server (its lock key) and
    on the embedded Redis (the data directory's lock file, read without starting Redis)."""
    served = write_config(tmp_path / "served.yaml", room, redis_url, redis_prefix)
    result = run_newsmon("--config", str(served), "reload")
    assert result.returncode == 2
    assert f"no daemon is running for Redis prefix {redis_prefix!r}" in result.stderr
    embedded = tmp_path / "embedded.yaml"
    embedded.write_text(room.config_yaml(redis={"prefix": redis_prefix}, data_dir=str(tmp_path / "var")))
    result = run_newsmon("--config", str(embedded), "reload")
    assert result.returncode == 2
    assert "no daemon is running" in result.stderr
    assert not (tmp_path / "var" / "redis").exists()


def test_workers_replaced_after_an_invalid_edit_start_with_the_running_config(
    room: Newsroom, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    """With the file left invalid (SIGHUP refused it), workers recycled after each crawl start
    from the copy of the configuration the daemon validated: none dies, the daemon runs on."""
    path = tmp_path / "newsmon.yaml"
    write_config(path, room, redis_url, redis_prefix, interval="1s", only=["wire-en"],
                 scheduler={"worker_max_polls": 1})
    log = tmp_path / "daemon.log"
    daemon = start_newsmon("--config", str(path), "run", "--workers", "2", log=log)
    try:
        wait_for(lambda: "recycled" in log.read_text(), timeout=90, what="a first recycled worker")
        path.write_text(path.read_text().replace("interval: 1s", "interval: often", 1))
        daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: "Configuration not reloaded" in log.read_text(), timeout=30, what="the refusal")
        mark = log.read_text().count("recycled")
        wait_for(lambda: log.read_text().count("recycled") >= mark + 3, timeout=90,
                 what="three more recycled workers")
        assert daemon.poll() is None
    finally:
        code = stop(daemon)
    output = log.read_text()
    assert code == 0, output[-3000:]
    assert " died " not in output, output[-3000:]
    assert not list((tmp_path / "var" / "run").glob("config-*.yaml"))
