#!/usr/bin/env python3
"""Soak: ``newsmon run`` for a long while, with Redis taken away every few minutes.

    python bench/soak.py [--minutes 30] [--restart-every 180] [--redis embedded|external] [--down 10]
                         [--workers 2] [--source auto|mirror|room] [--shared ../shared]

Articles are released over time by ``shared/bench/newsroom_mirror.py`` serving the real-page
corpus (when ``--shared`` holds it; ``--source room`` forces the fixture newsroom of the tests,
which then gets a new article every ``--every`` seconds). Every ``--restart-every`` seconds Redis
goes away: the embedded server is killed with SIGKILL (the daemon restarts it), or the external
one (a ``redis-server`` of this script's own, AOF everysec) is stopped, kept down ``--down``
seconds and started again. At the end the releases stop counting, the daemon gets a minute to
catch up, and the script reports:

* per outage: seconds from Redis being back (embedded: from the kill) to the first record
  published after it ("resume");
* articles released but never published, and articles published more than once;
* RSS of the daemon, each worker and redis-server, sampled over time;
* the daemon log's tracebacks, "Redis unreachable" WARNINGs and "sent no heartbeat" kills.

It asserts nothing; Redis and the data directory are its own (a temp directory).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsmon.crawler.urls import canonicalize  # noqa: E402
from newsmon.scheduler.keys import Keys  # noqa: E402
from newsmon.scheduler.redis_conn import EmbeddedRedis  # noqa: E402
from tests.redis_process import RedisProcess, embedded_pid, free_port, rss_kb  # noqa: E402

PREFIX = "soak"
WORDS = ("harbour council budget river storm rail strike vote court minister energy grain price port "  # noqa: SIM905 - a phrase is easier to read
         "bridge school hospital museum festival drought flood wind solar market bank").split()


def children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(p) for p in (task / "children").read_text().split()]
    except OSError:
        pass
    return found


def stream(url: str) -> list[tuple[str, dict[str, Any]]] | None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=10)
    try:
        return [(i.decode(), json.loads(f[b"record"])) for i, f in client.xrange(Keys(PREFIX).articles)]
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return None
    finally:
        client.close()


def last_id_ms(url: str) -> int | None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5)
    try:
        last = client.xrevrange(Keys(PREFIX).articles, count=1)
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return None
    finally:
        client.close()
    return int(last[0][0].decode().split("-")[0]) if last else 0


class Mirror:
    """The real-page mirror, releasing one article every ``every`` seconds."""

    def __init__(self, shared: Path, work: Path, every: float, initial: int) -> None:
        port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, str(shared / "bench" / "newsroom_mirror.py"), "--corpus",
             str(shared / "corpora" / "scrapinghub-aeb"), "--outlets", "4", "--port", str(port),
             "--initial", str(initial), "--every", str(every), "--syndicate", "0", "--variants", "0",
             "--config-out", str(work / "mirror.yaml"), "--truth-out", str(work / "truth.json")],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("newsroom:"):
            raise SystemExit(f"bench/soak.py: the mirror did not start: {line.strip()}")
        self.state_url = f"http://127.0.0.2:{port}/_control/state"
        self.config = yaml.safe_load((work / "mirror.yaml").read_text())

    def released(self) -> set[str]:
        with urllib.request.urlopen(self.state_url, timeout=10) as answer:
            return {canonicalize(u) for u, _at in json.load(answer)["urls"]}

    def tick(self) -> None:
        pass

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


class Room:
    """The fixture newsroom of the tests, given a new article every ``every`` seconds."""

    def __init__(self, every: float) -> None:
        from tests.newsroom import Newsroom

        self.room = Newsroom()
        self.room.__enter__()
        self.every, self.next = every, time.monotonic() + every
        self.rng = random.Random(7)
        self.config = yaml.safe_load(self.room.config_yaml(interval="5s"))

    def released(self) -> set[str]:
        return {canonicalize(a.canonical_url) for a in self.room.articles}

    def tick(self) -> None:
        if time.monotonic() < self.next:
            return
        self.next += self.every
        outlet = self.rng.choice([o.name for o in self.room.outlets if o.feeds])
        paragraphs = [" ".join(self.rng.choice(WORDS) for _ in range(60)) + "." for _ in range(4)]
        self.room.publish(outlet, title=" ".join(self.rng.choice(WORDS) for _ in range(7)).title(),
                          paragraphs=paragraphs, on_topic=True)

    def close(self) -> None:
        self.room.__exit__(None, None, None)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--restart-every", type=float, default=180.0, help="seconds between Redis outages")
    ap.add_argument("--down", type=float, default=10.0, help="seconds an external Redis stays down")
    ap.add_argument("--redis", choices=["embedded", "external"], default="embedded")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--source", choices=["auto", "mirror", "room"], default="auto")
    shared = next((p for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared") if p.is_dir()),
                  ROOT.parent / "shared")
    ap.add_argument("--shared", type=Path, default=shared)
    ap.add_argument("--every", type=float, default=3.0, help="seconds between released articles")
    ap.add_argument("--initial", type=int, default=20, help="articles the mirror shows at start")
    ap.add_argument("--sample", type=float, default=15.0, help="seconds between RSS samples")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="newsmon-soak-"))
    have_mirror = (args.shared / "corpora" / "scrapinghub-aeb").is_dir() and \
        (args.shared / "bench" / "newsroom_mirror.py").is_file()
    use_mirror = args.source == "mirror" or (args.source == "auto" and have_mirror)
    news: Mirror | Room = Mirror(args.shared, work, args.every, args.initial) if use_mirror else Room(args.every)
    server = RedisProcess(work / "redis") if args.redis == "external" else None
    data = dict(news.config)
    data["fetch"] = {**data.get("fetch", {}), "delay": "0s", "max_age": "36500d", "max_items_per_feed": 1000,
                     "allow_private_addresses": True}
    for source in data["sources"]:
        source["interval"] = "5s"
    data["scheduler"] = {**data.get("scheduler", {}), "jitter": "0s"}
    data["data_dir"] = str(work / "var")
    data["redis"] = {"prefix": PREFIX}
    if server is not None:
        server.start()
        data["redis"]["url"] = server.url
    config = work / "newsmon.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    url = server.url if server is not None else EmbeddedRedis(work / "var" / "redis").url
    log = work / "daemon.log"
    print(f"soak: {args.minutes:g} min, {args.redis} Redis away every {args.restart_every:g}s, "
          f"{'mirror' if use_mirror else 'fixture newsroom'}, {args.workers} workers; work dir {work}", flush=True)

    with open(log, "w") as out:
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "NEWSMON_CONFIG", "NEWSMON_DATA_DIR"}}
        daemon = subprocess.Popen([sys.executable, "-m", "newsmon.scheduler.cli", "--config", str(config), "run",
                                   "--workers", str(args.workers)], stdout=out, stderr=subprocess.STDOUT, env=env)
    started = time.monotonic()
    end = started + args.minutes * 60
    next_outage = started + args.restart_every
    next_sample = started
    samples: list[tuple[float, dict[str, int | None]]] = []
    resumes: list[dict[str, float]] = []
    try:
        while time.monotonic() < end and daemon.poll() is None:
            news.tick()
            now = time.monotonic()
            if now >= next_sample:
                next_sample += args.sample
                pids = {"daemon": daemon.pid, **{f"worker{i}": p for i, p in enumerate(sorted(children(daemon.pid)))}}
                redis_pid = server.process.pid if server is not None and server.process else embedded_pid(work / "var")
                if redis_pid:
                    pids["redis"] = redis_pid
                samples.append((now - started, {name: rss_kb(pid) for name, pid in pids.items()}))
            if now >= next_outage:
                next_outage += args.restart_every
                resumes.append(outage(server, work, url, args.down, news))
                print(f"  outage {len(resumes)}: {resumes[-1]}", flush=True)
            time.sleep(0.2)  # the soak's own pace, not a measurement
        # Catch-up: what was released by now must be published within a minute.
        released = news.released()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            entries = stream(url) or []
            if released <= {canonicalize(r["url"]) for _i, r in entries} | {canonicalize(r.get("canonical_url") or "")
                                                                           for _i, r in entries}:
                break
            time.sleep(1)  # polling for the catch-up, bounded by the deadline
        entries = stream(url) or []
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=120)
        if server is not None:
            server.stop()
        news.close()

    by_url = Counter(canonicalize(r["url"]) for _i, r in entries)
    by_canonical = Counter(canonicalize(r.get("canonical_url") or r["url"]) for _i, r in entries)
    missing = [u for u in released if by_url[u] == 0 and by_canonical[u] == 0]
    twice = [u for u, n in by_canonical.items() if n > 1]
    text = log.read_text()
    print(f"== soak over {(time.monotonic() - started) / 60:.1f} min; daemon exit {code}")
    print(f"articles released {len(released)}; records {len(entries)}; missing {len(missing)}; "
          f"published twice {len(twice)}")
    for u in missing[:5]:
        print(f"    missing: {u}")
    for r in resumes:
        print(f"outage: {json.dumps(r)}")
    if resumes:
        values = sorted(r["resume_s"] for r in resumes if r.get("resume_s") is not None)
        if values:
            print(f"resume after Redis back: min {values[0]:.1f}s, median {values[len(values) // 2]:.1f}s, "
                  f"max {values[-1]:.1f}s over {len(values)} outages")
    print(f"log: {text.count('Traceback')} tracebacks, {text.count('Redis unreachable')} 'Redis unreachable' "
          f"WARNINGs, {text.count('Redis is back after')} 'Redis is back' INFOs, "
          f"{text.count('sent no heartbeat')} hung-worker kills, {text.count('died (exit')} worker deaths")
    print("RSS (kB) over time:")
    names = sorted({n for _t, s in samples for n in s})
    print("    t(s) " + " ".join(f"{n:>9}" for n in names))
    for t, s in samples[:: max(1, len(samples) // 20)] + samples[-1:]:
        print(f"  {t:6.0f} " + " ".join(f"{s.get(n) or '-':>9}" for n in names))
    print(f"log and data: {work}")
    return 0


def outage(server: RedisProcess | None, work: Path, url: str, down: float, news: Mirror | Room) -> dict[str, float]:
    """Take Redis away once; return when publishing resumed, measured from Redis being back."""
    if server is None:
        pid = embedded_pid(work / "var")
        killed = time.time()
        if pid:
            os.kill(pid, signal.SIGKILL)
        while embedded_pid(work / "var") in {None, pid}:
            news.tick()
            time.sleep(0.05)  # polling for the daemon's restart
            if time.time() - killed > 120:
                return {"restart_s": -1.0}
        back = time.time()
    else:
        server.stop()
        until = time.monotonic() + down
        while time.monotonic() < until:
            news.tick()
            time.sleep(0.2)  # the outage's length is the scenario
        server.start()
        back = killed = time.time()
    # Resumed: the first record appended after Redis came back (stream ids are server ms).
    while True:
        news.tick()
        last = last_id_ms(url)
        if last is not None and last > back * 1000:
            return {"restart_s": round(back - killed, 2), "resume_s": round(last / 1000 - back, 2)}
        if time.time() - back > 120:
            return {"restart_s": round(back - killed, 2), "resume_s": -1.0}
        time.sleep(0.1)  # polling for the first record, bounded above


if __name__ == "__main__":
    raise SystemExit(main())
