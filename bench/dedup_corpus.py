"""The labelled near-duplicate set: invented stories rendered by synthetic outlets.

``tests/data/dedup/stories.txt`` holds the stories (invented text). Each is rendered by several
outlet templates that make the edits syndicated copies really get: another headline, a
dateline or credit line, a paragraph added or cut, a rewritten first paragraph, house spelling,
"Read more" links and newsletter boilerplate that extraction leaves in. Everything is
deterministic for a given seed, so the benchmark numbers are reproducible.

Labels: two documents are duplicates when they render the same story. Stories of one topic
share names and vocabulary, and follow-ups reuse a background paragraph of the story they
follow, so "distinct story, same topic" is well represented.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

STORIES = Path(__file__).resolve().parent.parent / "tests" / "data" / "dedup" / "stories.txt"


@dataclass(frozen=True)
class Story:
    id: str
    topic: str
    titles: tuple[str, ...]
    paragraphs: tuple[str, ...]
    lede: str | None = None
    local: str | None = None
    follows: str | None = None


@dataclass(frozen=True)
class Document:
    """One outlet's page for one story."""

    story: str  # the label
    topic: str
    outlet: str
    url: str
    title: str
    text: str
    edits: tuple[str, ...] = field(default_factory=tuple)


def load_stories(path: Path = STORIES) -> list[Story]:
    """Parse the stories file (format described at its top)."""
    stories = []
    for block in re.split(r"^## ", path.read_text(encoding="utf-8"), flags=re.MULTILINE)[1:]:
        head, _, body = block.partition("\n")
        meta: dict[str, str] = {}
        paragraphs = []
        for chunk in body.strip().split("\n\n"):
            lines = chunk.strip().splitlines()
            while lines and re.match(r"^(topic|titles|lede|local|follows):", lines[0]):
                key, _, value = lines.pop(0).partition(":")
                meta[key] = value.strip()
            if lines:
                paragraphs.append(" ".join(line.strip() for line in lines))
        stories.append(Story(
            id=head.strip(), topic=meta["topic"], titles=tuple(meta["titles"].split(" || ")),
            paragraphs=tuple(paragraphs), lede=meta.get("lede"), local=meta.get("local"),
            follows=meta.get("follows"),
        ))
    return stories


# -- outlet templates ----------------------------------------------------------------------

_US_SPELLING = {
    "harbour": "harbor", "Harbour": "Harbor", "kilometres": "kilometers", "metres": "meters",
    "centre": "center", "organised": "organized", "criticised": "criticized", "favour": "favor",
    "programme": "program", "recognised": "recognized", "neighbours": "neighbors", "percent": "%",
}
_NEWSLETTER = (
    "Sign up for our morning newsletter and get the most important stories of the day in your inbox.",
    "Get the app: all the news from the coast, wherever you are.",
    "Did you find this article useful? Support local journalism with a subscription from 4.99 euros a month.",
)


def _dateline(text: str, rng: random.Random, agency: str) -> str:
    place = rng.choice(["HARBOURTON", "KESTREL BAY", "MILLBROOK", "SALTMERE"])
    return f"{place} ({agency}) \u2014 {text}"


def _wire(story: Story, rng: random.Random, other: Story) -> tuple[str, list[str], list[str]]:
    paragraphs = list(story.paragraphs)
    paragraphs[0] = _dateline(paragraphs[0], rng, "CPA")
    paragraphs.append(f"Reporting by {rng.choice(['Lena Hart', 'Omar Quist', 'Ida Brenner'])}; "
                      f"editing by {rng.choice(['Sam Oduya', 'Rita Voss'])}")
    return story.titles[0], paragraphs, ["dateline", "credit"]


def _daily(story: Story, rng: random.Random, other: Story) -> tuple[str, list[str], list[str]]:
    paragraphs = ["Listen to this article", *story.paragraphs, rng.choice(_NEWSLETTER)]
    return story.titles[1 % len(story.titles)], paragraphs, ["headline", "boilerplate"]


def _gazette(story: Story, rng: random.Random, other: Story) -> tuple[str, list[str], list[str]]:
    paragraphs = ["By Coastal Press Agency", *story.paragraphs[:-1]]
    return f"{story.titles[0]} | Kestrel Gazette", paragraphs, ["credit", "cut-last"]


def _courier(story: Story, rng: random.Random, other: Story) -> tuple[str, list[str], list[str]]:
    paragraphs = list(story.paragraphs)
    edits = ["headline", "related-link"]
    if story.local:
        paragraphs.insert(min(2, len(paragraphs)), story.local)
        edits.append("added-paragraph")
    paragraphs.insert(len(paragraphs) // 2 + 1, f"Read more: {other.titles[0]}")
    return story.titles[-1], paragraphs, edits


def _portal(story: Story, rng: random.Random, other: Story) -> tuple[str, list[str], list[str]]:
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, _US_SPELLING)) + r")\b")
    paragraphs = [pattern.sub(lambda m: _US_SPELLING[m.group(1)], p) for p in story.paragraphs]
    paragraphs = [p.replace(" said on ", " said ") for p in paragraphs]
    paragraphs.insert(1, "Photo: archive / Coastal Press Agency")
    title = pattern.sub(lambda m: _US_SPELLING[m.group(1)], story.titles[1 % len(story.titles)])
    return title, paragraphs, ["headline", "spelling", "caption"]


def _evening(story: Story, rng: random.Random, other: Story) -> tuple[str, list[str], list[str]]:
    paragraphs = list(story.paragraphs)
    edits = ["headline", "cut-last"]
    if story.lede:
        paragraphs[0] = story.lede
        edits.append("rewritten-lede")
    paragraphs = paragraphs[:-1]
    return story.titles[-1], paragraphs, edits


def _radio(story: Story, rng: random.Random, other: Story) -> tuple[str, list[str], list[str]]:
    keep = max(3, len(story.paragraphs) - 2)
    paragraphs = [*story.paragraphs[:keep], "This story will be updated."]
    return story.titles[0], paragraphs, ["cut-two", "boilerplate"]


def _tabloid(story: Story, rng: random.Random, other: Story) -> tuple[str, list[str], list[str]]:
    sentences = [s for p in story.paragraphs for s in re.split(r"(?<=[.!?\"])\s+(?=[A-Z\"])", p)]
    out: list[str] = []
    for i, sentence in enumerate(sentences):
        out.append(sentence)
        if i == 2:
            out.append(f"READ MORE: {other.titles[-1]}")
    out.append("Follow us on social media for more news from the coast.")
    return story.titles[1 % len(story.titles)].upper(), out, ["headline", "one-sentence-paragraphs", "related-link"]


Render = Callable[[Story, random.Random, Story], tuple[str, list[str], list[str]]]
OUTLETS: dict[str, tuple[str, Render]] = {
    "wire": ("https://cpa.example/en/{slug}-{n}", _wire),
    "daily": ("https://www.harbourton-daily.example/news/{slug}", _daily),
    "gazette": ("https://kestrelgazette.example/{year}/{slug}.html", _gazette),
    "courier": ("https://millbrook-courier.example/local/{n}/{slug}", _courier),
    "portal": ("https://infoportal.example/article/{n}", _portal),
    "evening": ("https://evening-post.example/{slug}/", _evening),
    "radio": ("https://coastfm.example/news/{n}", _radio),
    "tabloid": ("https://the-beacon.example/news/{slug}-{n}", _tabloid),
}


def render(stories: list[Story], seed: int = 0, min_outlets: int = 3, max_outlets: int = 6) -> list[Document]:
    """Every story rendered by the wire and a random set of other outlets, in a shuffled order."""
    rng = random.Random(seed)
    documents = []
    by_topic: dict[str, list[Story]] = {}
    for story in stories:
        by_topic.setdefault(story.topic, []).append(story)
    for story in stories:
        others = [s for s in by_topic[story.topic] if s.id != story.id] or [story]
        outlets = ["wire", *rng.sample([o for o in OUTLETS if o != "wire"], rng.randint(min_outlets, max_outlets) - 1)]
        for outlet in outlets:
            pattern, make = OUTLETS[outlet]
            title, paragraphs, edits = make(story, rng, rng.choice(others))
            url = pattern.format(slug=story.id, n=rng.randrange(10**5, 10**6), year=2024)
            documents.append(Document(story.id, story.topic, outlet, url, title, "\n\n".join(paragraphs), tuple(edits)))
    rng.shuffle(documents)
    return documents


def rounds(count: int, base_seed: int = 0) -> Iterator[list[Document]]:
    """``count`` independent renderings of the whole set (other outlets, other order)."""
    stories = load_stories()
    for i in range(count):
        yield render(stories, seed=base_seed + i)
