"""Turn the invented stories into articles, deterministically from a seed and a "now".

The seed decides how sentences group into paragraphs (4 to 8 of 60 to 120 words), who signs each
article, when it was published (within the last two days) and updated, and the numeric ids some
URL schemes carry. The same seed, now and port always give the same corpus.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta

from tests.newsroom.model import Article, Outlet
from tests.newsroom.outlets import OutletSpec
from tests.newsroom.stories import STORIES, Story

__all__ = ["MAX_WORDS", "MIN_WORDS", "UTM_SUFFIX", "build_corpus", "make_article", "paragraphs_of", "slugify"]

MIN_WORDS, MAX_WORDS = 60, 120  # per paragraph
MIN_PARAGRAPHS, MAX_PARAGRAPHS = 4, 8
UTM_SUFFIX = "?utm_source=rss&utm_medium=feed#comments"
_MAX_AGE_MINUTES = 47 * 60  # every default article is younger than two days
_SENTENCE_END = re.compile(r"(?<=[.!?»\"])\s")


def slugify(title: str, limit: int = 80) -> str:
    """``"Mer Rouge : les Houthis"`` becomes ``"mer-rouge-les-houthis"``."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    if len(slug) > limit:
        slug = slug[:limit].rsplit("-", 1)[0]
    return slug or "article"


def paragraphs_of(sentences: Sequence[str], rng: random.Random) -> tuple[str, ...]:
    """Group consecutive sentences into 4 to 8 paragraphs of 60 to 120 words; ``rng`` picks how."""
    words = [len(sentence.split()) for sentence in sentences]
    options: list[list[tuple[int, int]]] = []

    def split(start: int, groups: list[tuple[int, int]]) -> None:
        if start == len(words):
            if len(groups) >= MIN_PARAGRAPHS:
                options.append(groups)
            return
        if len(groups) == MAX_PARAGRAPHS:
            return
        total = 0
        for end in range(start, len(words)):
            total += words[end]
            if total > MAX_WORDS:
                return
            if total >= MIN_WORDS:
                split(end + 1, [*groups, (start, end + 1)])

    split(0, [])
    if not options:
        raise ValueError(f"cannot make {MIN_PARAGRAPHS}+ paragraphs of {MIN_WORDS}-{MAX_WORDS} words "
                         f"from {sum(words)} words starting {sentences[0][:40]!r}")
    by_count: dict[int, list[list[tuple[int, int]]]] = {}
    for option in options:
        by_count.setdefault(len(option), []).append(option)
    # Choose the paragraph count first: most partitions have four paragraphs, some articles need five.
    chosen = rng.choice(by_count[rng.choice(sorted(by_count))])
    return tuple(" ".join(sentences[start:end]) for start, end in chosen)


def _description(paragraphs: Sequence[str]) -> str:
    first = _SENTENCE_END.split(paragraphs[0], maxsplit=1)[0] if paragraphs else ""
    return first if len(first) <= 300 else first[:297].rsplit(" ", 1)[0] + "..."


def make_article(
    spec: OutletSpec,
    outlet: Outlet,
    *,
    title: str,
    paragraphs: Sequence[str],
    on_topic: bool,
    published: datetime,
    modified: datetime,
    authors: Sequence[str],
    number: int,
    language: str | None = None,
    section: str | None = None,
    slug: str | None = None,
    canonical_url: str | None = None,
    description: str | None = None,
    utm: bool = False,
    alias: bool = False,
) -> Article:
    """Build one article of ``outlet``; the URL follows the outlet's scheme."""
    slug = slug or slugify(title)
    section = section or spec.default_section
    path = spec.article_path(section, slug, published, number)
    url = outlet.url(path)
    return Article(
        key=f"{outlet.name}/{slug}",
        outlet=outlet.name,
        url=url,
        canonical_url=canonical_url or url,
        feed_url=url + UTM_SUFFIX if utm else url,
        aliases=(outlet.url("/amp" + path),) if alias else (),
        title=title,
        description=description or _description(paragraphs),
        published=published,
        modified=max(modified, published),
        language=language or spec.language,
        section=section,
        authors=tuple(authors),
        paragraphs=tuple(paragraphs),
        on_topic=on_topic,
        image_url=outlet.url(f"/img/{slug}.png"),
    )


def pick_authors(spec: OutletSpec, rng: random.Random) -> tuple[str, ...]:
    """One author, or two for about a third of the articles."""
    return tuple(rng.sample(spec.authors, 2 if rng.random() < 0.3 else 1))


def article_from_story(
    story: Story, spec: OutletSpec, outlet: Outlet, seed: int, published: datetime, latest: datetime,
) -> Article:
    """An article of ``outlet`` telling ``story``, published at ``published``."""
    rng = random.Random(f"{seed}:{outlet.name}:{story.title}")
    paragraphs = paragraphs_of(story.sentences, rng)
    authors = pick_authors(spec, rng)
    modified = min(published + timedelta(minutes=rng.randint(0, 90)), latest)
    return make_article(
        spec, outlet, title=story.title, paragraphs=paragraphs, on_topic=story.on_topic,
        published=published, modified=modified, authors=authors, number=rng.randint(6_100_000, 6_299_999),
        language=story.language, section=story.section,
        utm="utm" in story.flags, alias="alias" in story.flags,
    )


def build_corpus(specs: Sequence[OutletSpec], outlets: Sequence[Outlet], seed: int, now: datetime) -> list[Article]:
    """The default articles of the room, newest first."""
    rng = random.Random(f"newsroom:{seed}")
    chosen = [(story, spec, outlet) for spec, outlet in zip(specs, outlets, strict=True)
              for story in STORIES if spec.stories is not None and story.outlet == spec.stories]
    ages = rng.sample(range(20, _MAX_AGE_MINUTES), len(chosen))
    articles = [
        article_from_story(story, spec, outlet, seed, now - timedelta(minutes=age), now - timedelta(minutes=1))
        for (story, spec, outlet), age in zip(chosen, ages, strict=True)
    ]
    return sorted(articles, key=lambda article: article.published, reverse=True)
