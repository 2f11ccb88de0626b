"""Body F1 of newsmon and trafilatura on several corpora, split by language.

    .venv/bin/python bench/extraction2.py \\
        --readability /work/.mirror/mozilla+readability/repo \\
        --newspaper /work/.mirror/AndyTheFactory+newspaper4k/repo [--corpus ../shared/corpora/scrapinghub-aeb]

A second development corpus next to the ScrapingHub set, so that a cleanup rule is kept only when
it helps on pages of other publishers and languages too. The test suites of two public extraction
projects are read where they are, never copied into this repository; they are fetched when the
benchmark runs::

    git clone https://github.com/mozilla/readability            # test/test-pages/<name>/
    git clone https://github.com/AndyTheFactory/newspaper4k     # tests/data/{html,txt,metadata}/

``--readability`` and ``--newspaper`` take a checkout or a bare repository (read with
``git show``). Expected texts: Readability's ``expected.html`` as text, newspaper4k's ``txt/``
files. The Readability and newspaper4k fixtures without an address get Readability's test-runner
URL (an empty one reads as a home page). ``second>=250ch`` leaves out the pages whose expected text
is shorter than newsmon's minimum article length. Languages: the expected metadata's
``lang``/``language``, else the page's ``<html lang>``, else newsmon's detector on the expected text
(``?`` when it cannot tell: the Readability fixtures in Lorem ipsum).

Extractors: newsmon (:func:`~newsmon.crawler.extraction.extract`), trafilatura with library
defaults, and trafilatura in the mode newsmon starts with (``fast`` + ``favor_recall``, tables).
trafilatura's predictions are cached in ``--out`` by trafilatura version. ``--without RULE``
removes one body cleanup rule from newsmon's run (see ``RULES`` in
:mod:`newsmon.crawler.extraction.body`), to measure what it adds on each corpus and language.
Scores use the shared scorer ``../shared/bench/score_extraction.py`` (4-token shingles, macro F1).
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import load_module  # noqa: E402

DEFAULT_AEB = REPO.parent / "shared" / "corpora" / "scrapinghub-aeb"
DEFAULT_SHARED_BENCH = REPO.parent / "shared" / "bench"
# newsmon rejects pages with less text (ExtractionSettings.min_text_length); several Readability
# fixtures are shorter (a 4-character page), so the second corpus is also scored without them
ARTICLE_MIN_CHARS = 250
EXTRACTORS = ("newsmon", "trafilatura_default", "trafilatura_fast_recall")
READABILITY_URL = "http://fakehost/test/page.html"  # the address Readability's test runner uses
_BLOCK_TAGS = frozenset(
    (
        *("p", "div", "li", "ul", "ol", "dd", "dt", "blockquote", "pre", "br"),
        *("h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "td", "th"),
        *("figcaption", "figure", "section", "article"),
    )
)


@dataclass(frozen=True, slots=True)
class Page:
    corpus: str
    page_id: str
    url: str
    html: str
    expected: str
    language: str
    authors: tuple[str, ...] | None = None  # the annotation's author names, when it has any


class Source:
    """Files of a checkout or of a bare git repository, by path inside the repository."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bare = (root / "HEAD").is_file() and (root / "objects").is_dir()

    def names(self, folder: str) -> list[str]:
        if self.bare:
            listing = subprocess.run(
                ["git", f"--git-dir={self.root}", "ls-tree", "--name-only", "HEAD", f"{folder}/"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            return sorted(line.rsplit("/", 1)[-1] for line in listing.splitlines())
        directory = self.root / folder
        return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []

    def read(self, path: str) -> str | None:
        if self.bare:
            shown = subprocess.run(
                ["git", f"--git-dir={self.root}", "show", f"HEAD:{path}"], check=False, capture_output=True
            )
            return shown.stdout.decode("utf-8", errors="replace") if shown.returncode == 0 else None
        file = self.root / path
        return file.read_text(encoding="utf-8", errors="replace") if file.is_file() else None


def html_text(html: str) -> str:
    """The text of an HTML fragment, blocks separated by newlines."""
    from lxml import html as lxml_html

    root = lxml_html.fromstring(html)
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag in _BLOCK_TAGS:
            element.tail = "\n" + (element.tail or "")
            element.text = "\n" + (element.text or "")
    return "\n".join(" ".join(line.split()) for line in root.text_content().splitlines() if line.strip())


def page_language(declared: str | None, html: str, expected: str) -> str:
    from lxml import html as lxml_html

    from newsmon.crawler.extraction.language import detect_language

    if declared:
        return declared.lower().replace("_", "-").split("-", 1)[0]
    try:
        lang = lxml_html.fromstring(html.encode("utf-8")).get("lang")
    except (ValueError, TypeError):
        lang = None
    if lang:
        return lang.lower().replace("_", "-").split("-", 1)[0]
    return detect_language(expected) or "?"


def readability_pages(root: Path) -> list[Page]:
    source = Source(root)
    pages = []
    for name in source.names("test/test-pages"):
        base = f"test/test-pages/{name}"
        html, expected = source.read(f"{base}/source.html"), source.read(f"{base}/expected.html")
        if html is None or expected is None:
            continue
        metadata = json.loads(source.read(f"{base}/expected-metadata.json") or "{}")
        text = html_text(expected)
        byline = metadata.get("byline")
        # the address Readability's own test runner gives every page (an empty one reads as a home page)
        language = page_language(metadata.get("lang"), html, text)
        authors = tuple(split_names(byline)) if byline else None
        pages.append(Page("readability", name, READABILITY_URL, html, text, language, authors))
    return pages


def newspaper_pages(root: Path) -> list[Page]:
    source = Source(root)
    pages = []
    for name in source.names("tests/data/txt"):
        stem = name.removesuffix(".txt")
        html, expected = source.read(f"tests/data/html/{stem}.html"), source.read(f"tests/data/txt/{name}")
        if html is None or expected is None:
            continue
        metadata = json.loads(source.read(f"tests/data/metadata/{stem}.json") or "{}")
        url = metadata.get("url") or READABILITY_URL  # an empty address would read as a home page
        declared = metadata.get("language") or metadata.get("meta_lang")
        names = metadata.get("authors")
        authors = tuple(names) if isinstance(names, list) and names else None
        pages.append(Page("newspaper", stem, url, html, expected, page_language(declared, html, expected), authors))
    return pages


def aeb_pages(corpus: Path) -> list[Page]:
    truth = json.loads((corpus / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id in sorted(truth):
        with gzip.open(corpus / "html" / f"{page_id}.html.gz", "rb") as handle:
            html = handle.read().decode("utf-8", errors="replace")
        expected = truth[page_id].get("articleBody") or ""
        pages.append(Page("aeb", page_id, truth[page_id].get("url") or "", html, expected, "en"))
    return pages


def split_names(byline: str) -> list[str]:
    from newsmon.crawler.extraction.jsonld import split_authors

    return split_authors(byline)


def newsmon_texts(pages: list[Page], without: list[str], authors: dict[str, tuple[str, ...]]) -> dict[str, str]:
    from newsmon.crawler.extraction import NotAnArticle, article, body, extract

    if without:
        unknown = set(without) - {name for name, _ in body.RULES}
        if unknown:
            raise SystemExit(f"error: unknown rule(s) {sorted(unknown)}; known: {[n for n, _ in body.RULES]}")
        rules = tuple(r for r in body.RULES if r[0] not in without)
        article.clean_body = functools.partial(body.clean_body, rules=rules)  # type: ignore[assignment]
    now = datetime.now(UTC)
    texts = {}
    for page in pages:
        try:
            found = extract(page.html, page.url, now=now)
            texts[f"{page.corpus}/{page.page_id}"] = found.text
            authors[f"{page.corpus}/{page.page_id}"] = found.authors
        except NotAnArticle:
            texts[f"{page.corpus}/{page.page_id}"] = ""
    return texts


def trafilatura_texts(pages: list[Page], mode: str, cache_dir: Path) -> dict[str, str]:
    import trafilatura

    cache_file = cache_dir / f"{mode}-{trafilatura.__version__}.json"
    cache: dict[str, str] = json.loads(cache_file.read_text(encoding="utf-8")) if cache_file.is_file() else {}
    options: dict[str, Any] = {"fast": True, "favor_recall": True, "include_tables": True} if mode != "default" else {}
    changed = False
    for page in pages:
        page_key = f"{page.corpus}/{page.page_id}"
        if page_key not in cache:
            cache[page_key] = trafilatura.extract(page.html, url=page.url or None, **options) or ""
            changed = True
    if changed:
        cache_dir.mkdir(parents=True, exist_ok=True)
        cache_file.write_text(json.dumps(cache, ensure_ascii=False), encoding="utf-8")
    return {f"{p.corpus}/{p.page_id}": cache[f"{p.corpus}/{p.page_id}"] for p in pages}



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_AEB, help="the ScrapingHub corpus ('' to skip)")
    parser.add_argument("--readability", type=Path, help="a checkout or bare clone of mozilla/readability")
    parser.add_argument("--newspaper", type=Path, help="a checkout or bare clone of AndyTheFactory/newspaper4k")
    parser.add_argument("--shared-bench", type=Path, default=DEFAULT_SHARED_BENCH)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "extraction2")
    parser.add_argument("--without", action="append", default=[], help="drop this body rule (repeatable)")
    parser.add_argument("--worst", type=int, default=0, help="list the N pages where newsmon trails most")
    args = parser.parse_args(argv)
    if args.readability is None and args.newspaper is None:
        print(
            "error: no second corpus given. Fetch them, then pass --readability DIR --newspaper DIR:\n"
            "  git clone https://github.com/mozilla/readability\n"
            "  git clone https://github.com/AndyTheFactory/newspaper4k",
            file=sys.stderr,
        )
        return 2
    scorer = load_module(args.shared_bench / "score_extraction.py", "score_extraction")
    pages: list[Page] = []
    if str(args.corpus) and (args.corpus / "ground-truth.json").is_file():
        pages += aeb_pages(args.corpus)
    if args.readability:
        pages += readability_pages(args.readability)
    if args.newspaper:
        pages += newspaper_pages(args.newspaper)

    found_authors: dict[str, tuple[str, ...]] = {}
    predictions = {
        "newsmon": newsmon_texts(pages, args.without, found_authors),
        "trafilatura_default": trafilatura_texts(pages, "default", args.out),
        "trafilatura_fast_recall": trafilatura_texts(pages, "fast_recall", args.out),
    }
    groups: dict[str, list[Page]] = defaultdict(list)
    for page in pages:
        groups[page.corpus].append(page)
        if page.corpus != "aeb":
            groups["second"].append(page)
            groups[f"second:{page.language}"].append(page)
            if len(page.expected) >= ARTICLE_MIN_CHARS:
                groups["second>=250ch"].append(page)
    print(f"body F1 (4-token shingles, macro); newsmon without {args.without or 'nothing'}")
    print(f"| {'corpus[:language]':20s} | pages | newsmon | traf. default | traf. fast+recall | newsmon - best traf. |")
    print(f"|{'-' * 22}|-------|---------|---------------|-------------------|----------------------|")
    per_page: dict[str, dict[str, float]] = {}
    for group in sorted(groups, key=lambda g: (g.count(":"), -len(groups[g]), g)):
        members = groups[group]
        truth = {f"{p.corpus}/{p.page_id}": {"articleBody": p.expected, "url": p.url} for p in members}
        f1 = {}
        for name in EXTRACTORS:
            summary, rows = scorer.score(truth, predictions[name], bootstrap=0)
            f1[name] = summary["f1"]
            if ":" not in group:
                per_page.setdefault(name, {}).update({row["id"]: row["f1"] for row in rows})
        best = max(f1["trafilatura_default"], f1["trafilatura_fast_recall"])
        print(
            f"| {group:20s} | {len(members):5d} | {f1['newsmon']:.4f}  | {f1['trafilatura_default']:.4f}        "
            f"| {f1['trafilatura_fast_recall']:.4f}            | {f1['newsmon'] - best:+.4f}              |"
        )
    for corpus in ("readability", "newspaper"):
        annotated = [p for p in pages if p.corpus == corpus and p.authors]
        same = sum(
            {n.casefold() for n in found_authors.get(f"{p.corpus}/{p.page_id}", ())}
            == {n.casefold() for n in p.authors or ()}
            for p in annotated
        )
        print(f"authors {corpus}: {same}/{len(annotated)} annotated pages give exactly the annotated names")
    if args.worst:
        gaps = sorted(
            (max(per_page[n][k] for n in EXTRACTORS[1:]) - per_page["newsmon"][k], k) for k in per_page["newsmon"]
        )
        print(f"pages where newsmon trails the better trafilatura most (top {args.worst}):")
        for gap, page_key in reversed(gaps[-args.worst :]):
            print(f"  {gap:+.3f}  {page_key}  newsmon {per_page['newsmon'][page_key]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
