"""Benchmark newsmon's article extraction against trafilatura on a corpus of real pages.

    .venv/bin/python bench/extraction.py [--corpus ../shared/corpora/scrapinghub-aeb] [--out bench/out/extraction]

The corpus has the layout of the ScrapingHub article-extraction benchmark: ``html/<id>.html.gz``
(UTF-8) and ``ground-truth.json`` (``{id: {"articleBody": ..., "url": ...}}``). Pinned to one CPU,
this script

1. times trafilatura's own extraction (library defaults, and comments off) through the shared
   runner ``../shared/bench/run_extractors.py``, in a subprocess pinned to the same CPU, and
   newsmon's :func:`~newsmon.crawler.extraction.extract` with the same protocol (pages decoded to
   ``str`` before timing, untimed warm-up pages, a timed pass is the sum of per-page wall time,
   network blocked), in ``--rounds`` interleaved rounds of one pass each, so that load from other
   work on the machine hits every extractor alike; speeds are the best pass, the ratio the median
   of the per-round ratios, and pages per CPU second (process time, less sensitive to other load
   on a shared machine) are printed next to them;
2. writes one ``{"text": ...}`` prediction per page (a rejected page predicts ``""``) and scores
   the three with the shared scorer ``../shared/bench/score_extraction.py``, imported by path;
3. prints F1 / precision / recall / pages per second, the speed ratios, the pages where newsmon
   trails trafilatura's better setting by more than 0.05 F1, the rejections, and the date
   coverage: among pages whose HTML holds a date anywhere (an ISO or written date), the share
   that got ``published``, the number of ``published`` dates in the future, and the agreement
   with URL dates.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import load_module  # noqa: E402

DEFAULT_CORPUS = REPO.parent / "shared" / "corpora" / "scrapinghub-aeb"
DEFAULT_SHARED_BENCH = REPO.parent / "shared" / "bench"
TRAFILATURA_RUNS = ("trafilatura_default", "trafilatura_nocomments")
WORSE_BY = 0.05
# "a date anywhere in the markup": an ISO date, or a written English/French date, in the raw HTML
_ISO_DATE = re.compile(r"(?<!\d)(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?!\d)")
_WRITTEN_DATE = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|janv|févr|avr|juil|déc)[a-zéû]*\.?\s+\d{1,2},?\s+"
    r"(?:19|20)\d\d\b|\b\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|janv|févr|avr|juil|déc)"
    r"[a-zéû]*\.?\s+(?:19|20)\d\d\b",
    re.IGNORECASE,
)



def load_pages(corpus: Path, limit: int | None) -> list[tuple[str, str, str]]:
    """``(page id, url, html)`` for every page, decoded as the shared runner does."""
    truth = json.loads((corpus / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id in sorted(truth):
        with gzip.open(corpus / "html" / f"{page_id}.html.gz", "rb") as handle:
            html = handle.read().decode("utf-8", errors="replace")
        pages.append((page_id, truth[page_id].get("url") or "", html))
        if limit and len(pages) >= limit:
            break
    return pages


def pin_cpu(cpu: int | None) -> int | None:
    if not hasattr(os, "sched_setaffinity"):
        return None
    target = min(os.sched_getaffinity(0)) if cpu is None else cpu
    os.sched_setaffinity(0, {target})
    return target


def block_network() -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise OSError("network disabled by bench/extraction.py")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse  # type: ignore[assignment]
    socket.getaddrinfo = refuse  # type: ignore[assignment]


def run_trafilatura(
    shared: Path, corpus: Path, out: Path, cpu: int | None, runs: int, warmup: int, limit: int | None
) -> dict[str, dict[str, Any]]:
    """Run trafilatura's own extraction through the shared runner, pinned to the same CPU."""
    command = [
        sys.executable,
        str(shared / "run_extractors.py"),
        "--corpus",
        str(corpus),
        "--out",
        str(out),
        "--extractor",
        *TRAFILATURA_RUNS,
        "--runs",
        str(runs),
        "--warmup",
        str(warmup),
    ]
    if cpu is not None:
        command += ["--cpu", str(cpu)]
    if limit:
        command += ["--limit", str(limit)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return {name: json.loads((out / name / "_run.json").read_text(encoding="utf-8")) for name in TRAFILATURA_RUNS}


class NewsmonRunner:
    """Times newsmon's extraction with the shared runner's protocol, one pass per call."""

    def __init__(self, pages: list[tuple[str, str, str]], warmup: int, now: datetime) -> None:
        from newsmon.crawler.extraction import NotAnArticle, extract

        self.pages = pages
        self.now = now
        self._extract = extract
        self._rejection = NotAnArticle
        self.results: dict[str, Any] = {}
        self.passes: list[dict[str, Any]] = []
        for _page_id, url, html in pages[:warmup]:
            self._one(html, url)

    def _one(self, html: str, url: str) -> Any:
        try:
            return self._extract(html, url, now=self.now)
        except self._rejection as rejection:
            return rejection

    def timed_pass(self) -> float:
        """One pass over every page; returns pages per second. The first pass's results are kept."""
        gc.collect()
        total = cpu = 0.0
        first = not self.results
        for page_id, url, html in self.pages:
            cpu_start, start = time.process_time(), time.perf_counter()
            result = self._one(html, url)
            total += time.perf_counter() - start
            cpu += time.process_time() - cpu_start
            if first:
                self.results[page_id] = result
        speed = len(self.pages) / total if total else 0.0
        self.passes.append({"run": len(self.passes) + 1, "total_s": total, "cpu_s": cpu, "pages_per_s": speed})
        return speed

    def write(self, out: Path) -> None:
        target = out / "newsmon"
        target.mkdir(parents=True, exist_ok=True)
        for stale in target.glob("*.json"):
            stale.unlink()
        for page_id, result in self.results.items():
            text = getattr(result, "text", "")  # a rejection (NotAnArticle) predicts ""
            (target / f"{page_id}.json").write_text(json.dumps({"text": text}, ensure_ascii=False), encoding="utf-8")


def best_speed(passes: list[dict[str, Any]]) -> float:
    """The fastest pass: the one least disturbed by other work on a shared machine."""
    return max((p["pages_per_s"] for p in passes if p.get("pages_per_s")), default=0.0)


def best_cpu_speed(passes: list[dict[str, Any]], pages: int) -> float:
    """Pages per CPU second of the pass that used the least CPU (less sensitive to other load)."""
    return max((pages / p["cpu_s"] for p in passes if p.get("cpu_s")), default=0.0)


def date_report(pages: list[tuple[str, str, str]], results: dict[str, Any], now: datetime) -> list[str]:
    from newsmon.crawler.extraction import Article
    from newsmon.crawler.extraction.dates import CLOCK_SKEW, DateCandidate, agrees_with_url, date_from_url

    with_date = [p for p in pages if _ISO_DATE.search(p[2]) or _WRITTEN_DATE.search(p[2])]
    articles = {k: v for k, v in results.items() if isinstance(v, Article)}
    covered = [p for p in with_date if p[0] in articles and articles[p[0]].published is not None]
    future = [a for a in articles.values() if a.published is not None and a.published > now + CLOCK_SKEW]
    sources = Counter(a.published_from for a in articles.values())
    url_checked = url_agree = 0
    for page_id, url, _html in pages:
        url_date = date_from_url(url)
        article = articles.get(page_id)
        if url_date is None or article is None or article.published is None:
            continue
        url_checked += 1
        url_agree += agrees_with_url(DateCandidate(article.published, "check"), url_date)
    share = len(covered) / len(with_date) if with_date else 0.0
    lines = [
        f"dates: {len(covered)}/{len(with_date)} pages with a date in their HTML got `published` ({share:.1%}); "
        f"{len(future)} in the future; sources {dict(sources.most_common())}",
        f"dates: {url_agree}/{url_checked} published dates agree with the URL date (±1 day)",
    ]
    missing = [p[1] for p in with_date if p not in covered]
    lines.extend(f"  no date: {url}" for url in missing[:10])
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument(
        "--shared-bench",
        type=Path,
        default=DEFAULT_SHARED_BENCH,
        help="folder holding score_extraction.py and run_extractors.py",
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "extraction")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of one timed pass per extractor, interleaved (default 3)"
    )
    parser.add_argument("--warmup", type=int, default=3, help="untimed warm-up pages (default 3)")
    parser.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: the lowest allowed)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages")
    args = parser.parse_args(argv)
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")  # before newsmon (and its libraries) are imported

    corpus = args.corpus.resolve()
    if not (corpus / "ground-truth.json").is_file() or not (corpus / "html").is_dir():
        print(f"error: no corpus at {corpus} (expected ground-truth.json and html/)", file=sys.stderr)
        return 2
    for script in ("score_extraction.py", "run_extractors.py"):
        if not (args.shared_bench / script).is_file():
            print(f"error: {args.shared_bench / script} not found (see --shared-bench)", file=sys.stderr)
            return 2
    scorer = load_module(args.shared_bench / "score_extraction.py", "score_extraction")
    cpu = pin_cpu(args.cpu)
    now = datetime.now(UTC)
    pages = load_pages(corpus, args.limit)

    block_network()  # in this process; the shared runner blocks its own
    newsmon = NewsmonRunner(pages, args.warmup, now)
    peer_passes: dict[str, list[dict[str, Any]]] = {name: [] for name in TRAFILATURA_RUNS}
    ratios: dict[str, list[float]] = {name: [] for name in TRAFILATURA_RUNS}
    for _round in range(args.rounds):  # interleaved, so that load from other work hits all alike
        peers = run_trafilatura(args.shared_bench, corpus, args.out, cpu, 1, args.warmup, args.limit)
        speed = newsmon.timed_pass()
        for name in TRAFILATURA_RUNS:
            peer_passes[name].extend(peers[name]["passes"])
            ratios[name].append(speed / peers[name]["passes"][0]["pages_per_s"])
    newsmon.write(args.out)

    truth = scorer.load_ground_truth(corpus)
    truth = {page_id: truth[page_id] for page_id, _, _ in pages}
    speeds = {"newsmon": best_speed(newsmon.passes)}
    speeds.update({name: best_speed(peer_passes[name]) for name in TRAFILATURA_RUNS})
    scores: dict[str, dict[str, float]] = {}
    per_page: dict[str, dict[str, float]] = {}
    for name in ("newsmon", *TRAFILATURA_RUNS):
        predictions, _missing = scorer.load_predictions(args.out / name, truth)
        summary, rows = scorer.score(truth, predictions, bootstrap=200)
        scores[name] = summary
        per_page[name] = {row["id"]: row["f1"] for row in rows}

    print(
        f"corpus {corpus} ({len(pages)} pages), CPU {cpu}, {args.rounds} interleaved rounds, "
        f"{args.warmup} warm-up pages; pages/s: best pass"
    )
    cpu_speeds = {"newsmon": best_cpu_speed(newsmon.passes, len(pages))}
    cpu_speeds.update({name: best_cpu_speed(peer_passes[name], len(pages)) for name in TRAFILATURA_RUNS})
    print(f"| {'extractor':24s} | F1             | precision | recall | pages/s | pages/CPU-s |")
    print(f"|{'-' * 26}|----------------|-----------|--------|---------|-------------|")
    for name in ("newsmon", *TRAFILATURA_RUNS):
        s = scores[name]
        print(
            f"| {name:24s} | {s['f1']:.4f} ± {s['f1_std']:.3f} | {s['precision']:9.4f} | {s['recall']:6.4f} "
            f"| {speeds[name]:7.1f} | {cpu_speeds[name]:11.1f} |"
        )
    for name in TRAFILATURA_RUNS:
        per_round = sorted(ratios[name])
        print(
            f"speed ratio newsmon / {name}: {per_round[len(per_round) // 2]:.2f} (median of rounds; "
            f"{', '.join(f'{r:.2f}' for r in ratios[name])}); by CPU time "
            f"{cpu_speeds['newsmon'] / cpu_speeds[name]:.2f}"
        )
    best = max(TRAFILATURA_RUNS, key=lambda n: scores[n]["f1"])
    worse = sorted(
        (per_page[best][p] - per_page["newsmon"][p], p)
        for p in per_page["newsmon"]
        if per_page[best][p] - per_page["newsmon"][p] > WORSE_BY
    )
    print(f"pages where newsmon trails {best} by more than {WORSE_BY} F1: {len(worse)}")
    for _gap, page_id in reversed(worse):
        print(
            f"  {page_id[:12]}  newsmon {per_page['newsmon'][page_id]:.3f}  {best} {per_page[best][page_id]:.3f}"
            f"  {truth[page_id].get('url', '')[:90]}"
        )
    rejected = Counter(r.reason for r in newsmon.results.values() if not hasattr(r, "text"))
    print(f"rejected as not an article: {sum(rejected.values())} {dict(rejected)}")
    for line in date_report(pages, newsmon.results, now):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
