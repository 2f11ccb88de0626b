#!/usr/bin/env python3
"""Side by side on real pages: ``newsmon crawl``, the trafilatura CLI and a naive Scrapy +
trafilatura crawler (bench/naive_crawler.py), over the aeb corpus served by the shared mirror.

    python bench/speed.py [--shared ../shared] [--runs 3] [--outlets 4] [--workers N] [--polls 0]

The mirror (``shared/bench/newsroom_mirror.py --names``) serves the 181 pages of
``shared/corpora/scrapinghub-aeb`` as ``--outlets`` outlets on loopback, under host names (the
trafilatura CLI refuses IP hosts): every measured process gets a ``sitecustomize`` that
resolves ``outlet<i>.newsroom.test`` to the outlet's loopback address. The trafilatura CLI
runs with ``--feed --parallel 2`` and a settings file of its own: ``SLEEP_TIME = 0``,
``SSRF_PROTECTION = off``. newsmon runs cold each time (a Redis key prefix of its own, no
validators, no robots cache) with ``fetch.delay: 0``.

The three run in turn, ``--runs`` times, the order rotating; the table gives medians of wall
time, CPU time (user + system of the whole process tree: this process is a child subreaper,
so the pool's processes are reaped here and counted), peak RSS (sum over the tree, sampled
every 20 ms) and the largest single process's RSS, pages done, and the ratios. newsmon's text
is scored against the ground truth (shared scorer, F1). ``--polls N`` then runs bench/crawl.py
(``newsmon run`` over N polls: RSS per worker). Asserts nothing.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import free_port, load_scorer  # noqa: E402
from bench.redis_server import bench_redis  # noqa: E402
from newsmon.crawler.urls import canonicalize  # noqa: E402
from newsmon.scheduler.keys import Keys  # noqa: E402
from newsmon.scheduler.redis_conn import connect  # noqa: E402

NAMES = "outlet{i}.newsroom.test"
PR_SET_CHILD_SUBREAPER = 36
_CLK = os.sysconf("SC_CLK_TCK")

#: Put on PYTHONPATH of every measured process: the mirror's host names resolve to loopback.
SITECUSTOMIZE = '''
import re, socket
_real = socket.getaddrinfo
_NAME = re.compile(r"outlet(\\d+)\\.newsroom\\.test$")
def getaddrinfo(host, *args, **kwargs):
    found = _NAME.match(host) if isinstance(host, str) else None
    if found:
        host = f"127.0.0.{int(found.group(1)) + 2}"
    return _real(host, *args, **kwargs)
def gethostbyname(host):
    found = _NAME.match(host)
    return f"127.0.0.{int(found.group(1)) + 2}" if found else _real_byname(host)
_real_byname = socket.gethostbyname
socket.getaddrinfo = getaddrinfo
socket.gethostbyname = gethostbyname
'''


@dataclass
class Run:
    tool: str
    wall: float
    cpu: float
    peak_rss_mb: float  # the tree's sum, sampled
    max_proc_mb: float  # the largest single process
    pages: int
    f1: float | None = None


def _tree(root: int) -> list[int]:
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        try:
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(tool: str, cmd: list[str], env: dict[str, str], count: Callable[[str, str], int],
            keep: set[int]) -> tuple[Run, str]:
    """Run ``cmd`` to its end, its whole process tree measured; ``count(stdout, stderr)``: pages done."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak = {"sum": 0, "one": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            sizes = [_rss_kib(pid) for pid in _tree(proc.pid)]
            peak["sum"] = max(peak["sum"], sum(sizes))
            peak["one"] = max(peak["one"], max(sizes, default=0))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.monotonic() - started
    done.set()
    sampler.join()
    # Orphans (a forkserver, its workers) were reparented to us, the subreaper: reap them.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        mine = [p for p in _tree(os.getpid())[1:] if p not in keep]
        if not mine:
            break
        try:
            os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        time.sleep(0.01)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        print(f"{tool}: exit {proc.returncode}\n{err[-2000:]}", file=sys.stderr)
    return Run(tool, wall, cpu, peak["sum"] / 1024, peak["one"] / 1024, count(out, err)), out




def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=Path("/work/shared") if Path("/work/shared").is_dir()
                    else ROOT.parent / "shared")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--outlets", type=int, default=4)
    ap.add_argument("--workers", type=int, default=0, help="newsmon crawl --workers (default: its own)")
    ap.add_argument("--tools", default="newsmon,trafilatura,naive", help="which to run (comma-separated)")
    ap.add_argument("--polls", type=int, default=0, help="then bench/crawl.py --polls N (newsmon run)")
    args = ap.parse_args()
    corpus = args.shared / "corpora" / "scrapinghub-aeb"
    mirror = args.shared / "bench" / "newsroom_mirror.py"
    scorer = load_scorer(args.shared)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

    work = Path(tempfile.mkdtemp(prefix="newsmon-speed-"))
    hook = work / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")]))}
    env.pop("REDIS_URL", None)
    env.pop("NEWSMON_CONFIG", None)
    port = free_port()
    server = subprocess.Popen([sys.executable, str(mirror), "--corpus", str(corpus), "--outlets", str(args.outlets),
                               "--port", str(port), "--names", NAMES, "--config-out", str(work / "mirror.yaml"),
                               "--truth-out", str(work / "truth.json")],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    prefixes = [f"speed{r}" for r in range(args.runs)]
    runs: list[Run] = []
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        if not line.startswith("newsroom:"):
            raise SystemExit(f"bench/speed.py: the mirror did not start: {line.strip()}")
        truth = json.loads((work / "truth.json").read_text())["articles"]
        mirror_config = yaml.safe_load((work / "mirror.yaml").read_text())
        feeds = [url for s in mirror_config["sources"] for url in s["feeds"]]
        (work / "feeds.txt").write_text("\n".join(feeds) + "\n")
        settings = (Path(sys.executable).parent.parent / "lib").glob("python3*/site-packages/trafilatura/settings.cfg")
        cfg = next(iter(settings)).read_text()
        cfg = cfg.replace("SLEEP_TIME = 5.0", "SLEEP_TIME = 0").replace("SSRF_PROTECTION = on", "SSRF_PROTECTION = off")
        (work / "trafilatura.cfg").write_text(cfg)
        trafilatura_bin = shutil.which("trafilatura", path=str(Path(sys.executable).parent)) or "trafilatura"

        with bench_redis(None, work, prefixes) as url:
            keep = set(_tree(os.getpid())[1:])  # the mirror and the embedded Redis
            for r in range(args.runs):
                order = [t for t in ("newsmon", "trafilatura", "naive") if t in args.tools.split(",")]
                order = order[r % len(order):] + order[:r % len(order)]
                for tool in order:
                    if tool == "newsmon":
                        data = dict(mirror_config)
                        data["fetch"] = {**data["fetch"], "delay": "0s", "concurrency_per_host": 8,
                                         "max_items_per_feed": 1000, "max_age": "36500d"}
                        data.update({"redis": {"url": url, "prefix": prefixes[r]}, "data_dir": str(work / f"var{r}")})
                        config = work / f"newsmon{r}.yaml"
                        config.write_text(yaml.safe_dump(data, sort_keys=False))
                        cmd = [sys.executable, "-m", "newsmon.scheduler.cli", "--config", str(config),
                               "crawl", "--json"]
                        if args.workers:
                            cmd += ["--workers", str(args.workers)]

                        def published(out: str, _err: str) -> int:
                            return sum(s["published"] for s in json.loads(out)["sources"]) if out else 0

                        run, _ = measure("newsmon crawl", cmd, env, published, keep)
                        client = connect(url)
                        found = {canonicalize(json.loads(f[b"record"])["url"]): json.loads(f[b"record"])["text"]
                                 for _id, f in client.xrange(Keys(prefixes[r]).articles)}
                        client.close()
                        rows = [scorer.match_counts(a["text"], found.get(canonicalize(u))) for u, a in truth.items()]
                        run.f1 = scorer.macro_scores(rows)["f1"]
                    elif tool == "trafilatura":
                        out_dir = work / f"trafilatura{r}"
                        cmd = [trafilatura_bin, "-i", str(work / "feeds.txt"), "--feed", "--parallel", "2",
                               "--config-file", str(work / "trafilatura.cfg"), "-o", str(out_dir)]
                        run, _ = measure("trafilatura CLI", cmd, env,
                                         lambda _o, _e, d=out_dir: len(list(d.glob("*"))) if d.exists() else 0, keep)
                    else:
                        cmd = [sys.executable, str(ROOT / "bench" / "naive_crawler.py"), *feeds]
                        run, _ = measure("naive scrapy", cmd, env,
                                         lambda o, _e: sum(1 for ln in o.splitlines() if json.loads(ln)["text"]),
                                         keep)
                    runs.append(run)
                    print(f"  run {r + 1} {run.tool:<16} {run.wall:6.2f} s wall {run.cpu:6.2f} s CPU "
                          f"{run.peak_rss_mb:6.0f} MB {run.pages} pages", file=sys.stderr)
    finally:
        server.terminate()
        server.wait(timeout=10)

    def med(tool: str, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in runs if r.tool == tool)

    print(f"== {args.runs} runs each, medians; {len(truth)} aeb pages as {args.outlets} outlets on loopback; "
          f"load average at the end {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{'':<16} {'wall s':>7} {'CPU s':>7} {'CPU ms/page':>11} {'peak RSS MB':>11} {'max proc MB':>11} "
          f"{'pages':>6} {'F1':>6}")
    tools = ["newsmon crawl", "trafilatura CLI", "naive scrapy"]
    for tool in [t for t in tools if any(r.tool == t for r in runs)]:
        pages = [r.pages for r in runs if r.tool == tool]
        f1s = [r.f1 for r in runs if r.tool == tool and r.f1 is not None]
        cpu_page = 1000 * med(tool, "cpu") / max(1, min(pages))
        print(f"{tool:<16} {med(tool, 'wall'):7.2f} {med(tool, 'cpu'):7.2f} {cpu_page:11.1f} "
              f"{med(tool, 'peak_rss_mb'):11.0f} {med(tool, 'max_proc_mb'):11.0f} "
              f"{min(pages):>3}-{max(pages):<3} {(min(f1s) if f1s else float('nan')):6.4f}")
    if len({r.tool for r in runs}) < len(tools):
        return 0
    print(f"newsmon wall / trafilatura CLI wall  {med(tools[0], 'wall') / med(tools[1], 'wall'):.2f}  (target <= 0.6)")
    per_page = [med(t, "cpu") / max(1, min(r.pages for r in runs if r.tool == t)) for t in tools]
    print(f"newsmon CPU per page / naive         {per_page[0] / per_page[2]:.2f}  (target <= 1.0)")
    print(f"newsmon wall / naive wall            {med(tools[0], 'wall') / med(tools[2], 'wall'):.2f}")
    if args.polls:
        print(f"== newsmon run over {args.polls} polls (bench/crawl.py)", flush=True)
        subprocess.run([sys.executable, str(ROOT / "bench" / "crawl.py"), "--polls", str(args.polls)], check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
