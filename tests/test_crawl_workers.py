"""`newsmon crawl --workers N`: the pages are extracted in a pool of processes, with the same
records as in-process; a pool process that dies is an error on its page's source (fetched again
next poll); a stopped crawl leaves no child process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis

from newsmon.scheduler.keys import Keys
from tests.helpers import alive, child_env, newsmon_cmd, records, run_newsmon, wait_for, write_config
from tests.newsroom import Newsroom

pytestmark = pytest.mark.slow

#: Catches a hang; how long a stop takes is measured by bench/signals.py, not asserted.
EXIT_TIMEOUT = 60

#: Imported by every Python process started with it on PYTHONPATH, the pool's included: the
#: extraction of one URL (NEWSMON_TEST_CRASH_URL) kills its process, as a crash in C would.
_CRASHING_EXTRACTION = """
import os
crash = os.environ.get("NEWSMON_TEST_CRASH_URL")
if crash:
    import newsmon.crawler.analysis as analysis
    real = analysis.extract
    def extract(body, url, *args, **kwargs):
        if url == crash:
            os._exit(70)
        return real(body, url, *args, **kwargs)
    analysis.extract = extract
"""


def _comparable(record: dict[str, Any]) -> dict[str, Any]:
    """A record without what differs between two crawls of the same pages (when it was fetched)."""
    return {k: v for k, v in record.items() if k not in {"fetched_at", "dropped_at"}}


def _descendants(pid: int) -> set[int]:
    """Every live process under ``pid``."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = list(Path(f"/proc/{parent}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                children = [int(p) for p in (task / "children").read_text().split()]
            except OSError:
                continue
            found.update(children)
            todo += children
    return found



def test_records_are_the_same_in_process_and_in_a_pool(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    """The fixture newsroom crawled with --workers 1 and with --workers 2: the same records
    (but for fetched_at), the same dropped stories and the same counters per source."""
    outcomes = []
    with Newsroom(outlets=3) as room:
        for workers in ("1", "2"):
            prefix = f"newsmon-test-workers-{workers}-{os.getpid()}"
            keys = Keys(prefix)
            (tmp_path / workers).mkdir()
            # One request at a time: which feed lists a story first (its discovered_via) is then
            # the same in both crawls; the pool may only change when each page is extracted.
            config = write_config(tmp_path / workers / "newsmon.yaml", room, redis_url, prefix, topic=True,
                                  fetch={"concurrency": 1, "concurrency_per_host": 1})
            done = run_newsmon("--config", str(config), "crawl", "--workers", workers, "--json")
            assert done.returncode == 0, done.stderr[-3000:]
            counts = {s["source"]: {k: v for k, v in s.items() if k != "last_errors"}
                      for s in json.loads(done.stdout)["sources"]}
            found = sorted((_comparable(r) for r in records(redis_client, keys)), key=lambda r: r["id"])
            stubs = (json.loads(fields[b"stub"]) for _id, fields in redis_client.xrange(keys.dropped))
            dropped = sorted((_comparable(stub) for stub in stubs), key=lambda s: s["id"])
            outcomes.append((found, counts, dropped))
            for key in redis_client.scan_iter(f"{prefix}*"):
                redis_client.delete(key)
    (one, one_counts, one_dropped), (two, two_counts, two_dropped) = outcomes
    assert one, "nothing was published"
    assert sum(c["off_topic"] for c in one_counts.values()) > 0
    assert two == one
    assert two_counts == one_counts
    assert two_dropped == one_dropped


def test_a_pool_process_that_dies_is_an_error_on_its_source_and_the_page_is_fetched_again(
    redis_url: str, redis_prefix: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """An extraction that kills its pool process: that page alone is an error on its source, the
    other pages are published, and the next crawl publishes it (the feed is read again in full)."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(_CRASHING_EXTRACTION)
    with Newsroom(outlets=["wire-en"]) as room:
        config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix)
        broken = room.articles[0]
        env = child_env(PYTHONPATH=os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")]),
                        NEWSMON_TEST_CRASH_URL=broken.url)
        done = run_newsmon("--config", str(config), "crawl", "--workers", "2", "--json", env=env)
        [report] = json.loads(done.stdout)["sources"]
        assert report["errors"] == 1, done.stderr[-3000:]
        assert f"{broken.url}: could not extract: RuntimeError: the extraction process died on this page" \
            in report["last_errors"]
        assert "Traceback" not in done.stderr
        published = {r["canonical_url"] for r in records(redis_client, keys)}
        assert published == {a.canonical_url for a in room.articles} - {broken.canonical_url}

        again = run_newsmon("--config", str(config), "crawl", "--workers", "2", "--json")
        assert again.returncode == 0, again.stderr[-3000:]
        counts = Counter(r["canonical_url"] for r in records(redis_client, keys))
        assert set(counts) == {a.canonical_url for a in room.articles}
        assert max(counts.values()) == 1


@pytest.mark.parametrize("presses", [1, 2], ids=["warm", "cold"])
def test_ctrl_c_during_a_pooled_crawl_leaves_no_child_process(
    redis_url: str, redis_prefix: str, tmp_path: Path, presses: int
) -> None:
    """Ctrl-C (SIGINT to the whole process group) during `crawl --workers 2`, once (warm stop) or
    twice (cold stop): exit 130, and no process the crawl started is left."""
    with Newsroom() as room:
        # One request at a time per host, a second apart: the crawl lasts long enough to be interrupted.
        config = write_config(tmp_path / "newsmon.yaml", room, redis_url, redis_prefix,
                              fetch={"delay": "1s", "concurrency": 4, "concurrency_per_host": 1})
        log = tmp_path / "crawl.log"
        with open(log, "w") as out:
            crawl = subprocess.Popen(newsmon_cmd("--config", str(config), "crawl", "--workers", "2", "--json"),
                                     stdout=out, stderr=subprocess.STDOUT, text=True, env=child_env(),
                                     start_new_session=True)
        try:
            wait_for(lambda: "published new" in log.read_text() or crawl.poll() is not None,
                     timeout=EXIT_TIMEOUT, what="the crawl to publish")
            assert crawl.poll() is None, log.read_text()[-3000:]
            children = _descendants(crawl.pid)
            assert len(children) >= 2, "no pool processes"
            os.killpg(crawl.pid, signal.SIGINT)
            if presses == 2:
                wait_for(lambda: "SIGINT: stopping the crawl" in log.read_text(), timeout=EXIT_TIMEOUT,
                         what="the warm stop to begin")
                os.killpg(crawl.pid, signal.SIGINT)
            code = crawl.wait(timeout=EXIT_TIMEOUT)
        finally:
            if crawl.poll() is None:
                crawl.kill()
                crawl.wait()
        output = log.read_text()
        assert code == 130, output[-3000:]
        assert "Traceback" not in output
        wait_for(lambda: not any(alive(pid) for pid in children), timeout=EXIT_TIMEOUT,
                 what=f"the crawl's children {sorted(children)} to exit")
