"""The newsroom's public values: outlets, articles and a serialisable snapshot of both."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Outlet:
    """One synthetic news site, served on its own loopback address.

    ``feeds``, ``sitemaps`` and ``pages`` are the discovery URLs a newsmon source lists (for
    ``gazette-en`` the sitemap is the index; its gzip child is in ``documents``). ``documents``
    maps every breakable document kind (``rss``, ``atom``, ``rdf``, ``sitemap``, ``sitemap-news``,
    ``section``, ``home``, ``robots``) to its URL.
    """

    name: str
    title: str
    host: str
    port: int
    language: str
    base_url: str  # "http://127.0.0.2:PORT", no trailing slash
    home: str
    robots: str
    feeds: tuple[str, ...]
    sitemaps: tuple[str, ...]
    pages: tuple[str, ...]
    documents: dict[str, str] = field(default_factory=dict)

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this outlet."""
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "title": self.title, "host": self.host, "port": self.port,
            "language": self.language, "base_url": self.base_url, "home": self.home,
            "robots": self.robots, "feeds": list(self.feeds), "sitemaps": list(self.sitemaps),
            "pages": list(self.pages), "documents": dict(self.documents),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outlet:
        return cls(
            name=data["name"], title=data["title"], host=data["host"], port=data["port"],
            language=data["language"], base_url=data["base_url"], home=data["home"],
            robots=data["robots"], feeds=tuple(data["feeds"]), sitemaps=tuple(data["sitemaps"]),
            pages=tuple(data["pages"]), documents=dict(data["documents"]),
        )


@dataclass(frozen=True, slots=True)
class Article:
    """One article page and what a correct crawler should make of it.

    ``url`` is where the page lives; ``canonical_url`` is its ``<link rel="canonical">`` (equal to
    ``url`` except for an article published with an explicit canonical). ``feed_url`` is the link
    the outlet's feed gives (a tracking variant for one article); ``aliases`` are other URLs that
    serve the same page. ``paragraphs`` are the expected body text, one string per ``<p>``.
    Datetimes are timezone-aware UTC.
    """

    key: str  # "<outlet>/<slug>", stable across ports and runs
    outlet: str
    url: str
    canonical_url: str
    feed_url: str
    aliases: tuple[str, ...]
    title: str
    description: str
    published: datetime
    modified: datetime
    language: str
    section: str
    authors: tuple[str, ...]
    paragraphs: tuple[str, ...]
    on_topic: bool
    image_url: str

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def text(self) -> str:
        """The expected body text: paragraphs separated by a blank line."""
        return "\n\n".join(self.paragraphs)

    @property
    def urls(self) -> tuple[str, ...]:
        """Every URL under which the fixture lists or serves this article."""
        found = [self.url, self.feed_url, *self.aliases]
        return tuple(dict.fromkeys(found))

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "outlet": self.outlet, "url": self.url,
            "canonical_url": self.canonical_url, "feed_url": self.feed_url,
            "aliases": list(self.aliases), "title": self.title, "description": self.description,
            "published": self.published.isoformat(), "modified": self.modified.isoformat(),
            "language": self.language, "section": self.section, "authors": list(self.authors),
            "paragraphs": list(self.paragraphs), "on_topic": self.on_topic,
            "image_url": self.image_url,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        return cls(
            key=data["key"], outlet=data["outlet"], url=data["url"],
            canonical_url=data["canonical_url"], feed_url=data["feed_url"],
            aliases=tuple(data["aliases"]), title=data["title"], description=data["description"],
            published=datetime.fromisoformat(data["published"]),
            modified=datetime.fromisoformat(data["modified"]), language=data["language"],
            section=data["section"], authors=tuple(data["authors"]),
            paragraphs=tuple(data["paragraphs"]), on_topic=data["on_topic"],
            image_url=data["image_url"],
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The room's state at one moment, as ``GET /_control/state`` and ``--state-file`` give it."""

    port: int
    seed: int
    now: datetime
    outlets: tuple[Outlet, ...]
    articles: tuple[Article, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "port": self.port, "seed": self.seed, "now": self.now.isoformat(),
            "outlets": [outlet.as_dict() for outlet in self.outlets],
            "articles": [article.as_dict() for article in self.articles],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Snapshot:
        return cls(
            port=data["port"], seed=data["seed"], now=datetime.fromisoformat(data["now"]),
            outlets=tuple(Outlet.from_dict(item) for item in data["outlets"]),
            articles=tuple(Article.from_dict(item) for item in data["articles"]),
        )


def load_state(path: str | Path) -> Snapshot:
    """Read a state file written by ``python -m tests.newsroom --state-file``."""
    return Snapshot.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
