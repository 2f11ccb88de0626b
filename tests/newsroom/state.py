"""The room's mutable state, shared by the server thread and the test thread under one lock."""

from __future__ import annotations

import dataclasses
import itertools
import random
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from tests.newsroom.corpus import make_article, paragraphs_of, pick_authors, slugify
from tests.newsroom.model import Article, Outlet, Snapshot
from tests.newsroom.outlets import OutletSpec
from tests.newsroom.stories import STORIES, Story
from tests.newsroom.topic import matches

__all__ = ["BREAK_MODES", "PUBLISH_FIELDS", "RoomState"]

BREAK_MODES = ("ok", "not-xml", "500", "404", "truncated", "empty")
PUBLISH_FIELDS = frozenset({
    "title", "paragraphs", "on_topic", "language", "authors", "published", "slug", "section",
    "canonical_url", "description",
})
LOG_LIMIT = 10_000  # request-log entries kept; the oldest are dropped first


@dataclass(frozen=True, slots=True)
class Site:
    spec: OutletSpec
    outlet: Outlet


class RoomState:
    """Articles per outlet, broken documents, per-outlet change times and the request log."""

    def __init__(self, sites: Sequence[Site], articles: Sequence[Article], *, seed: int, now: datetime,
                 clock: Callable[[], datetime]) -> None:
        self.seed = seed
        self.now = now
        self.clock = clock
        self.sites = {site.outlet.name: site for site in sites}
        self._lock = threading.Lock()
        self._articles: dict[str, list[Article]] = {name: [] for name in self.sites}
        self._paths: dict[tuple[str, str], Article] = {}
        self._breaks: dict[tuple[str, str], str] = {}
        self._changed: dict[str, datetime] = dict.fromkeys(self.sites, now)
        self._log: deque[dict[str, Any]] = deque(maxlen=LOG_LIMIT)
        self._events = itertools.count(1)
        self._reserve_used: set[str] = set()
        self._listeners: list[Callable[[], None]] = []
        for article in articles:
            self._add(article)
        for name, found in self._articles.items():
            if found:
                self._changed[name] = max(article.modified for article in found)

    # -- reading -------------------------------------------------------------------------------

    def site(self, name: str) -> Site:
        try:
            return self.sites[name]
        except KeyError:
            raise ValueError(f"unknown outlet {name!r}; expected one of {', '.join(self.sites)}") from None

    def articles(self, outlet: str | None = None) -> list[Article]:
        """Articles newest first, of one outlet or of all."""
        with self._lock:
            names = [outlet] if outlet is not None else list(self._articles)
            found = [article for name in names for article in self._articles.get(name, [])]
        return sorted(found, key=lambda article: article.published, reverse=True)

    def article_at(self, outlet: str, path: str) -> Article | None:
        with self._lock:
            return self._paths.get((outlet, path))

    def changed_at(self, outlet: str) -> datetime:
        """When the outlet's feeds, sitemaps and pages last changed (their Last-Modified)."""
        with self._lock:
            return self._changed[outlet]

    def broken(self, outlet: str, path: str) -> str | None:
        with self._lock:
            return self._breaks.get((outlet, path))

    def snapshot(self) -> Snapshot:
        outlets = tuple(site.outlet for site in self.sites.values())
        port = outlets[0].port if outlets else 0
        return Snapshot(port=port, seed=self.seed, now=self.now, outlets=outlets,
                        articles=tuple(self.articles()))

    # -- changing ------------------------------------------------------------------------------

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (from the changing thread) after every publish and break."""
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    def _add(self, article: Article) -> None:
        self._articles[article.outlet].append(article)
        for url in (article.url, *article.aliases):
            self._paths[(article.outlet, urlsplit(url).path)] = article

    def _touch(self, outlet: str) -> None:
        # Strictly later than before, whole seconds: If-Modified-Since must see every change.
        now = self.clock().replace(microsecond=0)
        self._changed[outlet] = max(now, self._changed[outlet] + timedelta(seconds=1))

    def publish(self, outlet: str, **fields: Any) -> Article:
        """Add an article to ``outlet``; see ``Newsroom.publish`` for the fields."""
        unknown = set(fields) - PUBLISH_FIELDS
        if unknown:
            raise ValueError(f"unknown article fields {sorted(unknown)}; expected some of {sorted(PUBLISH_FIELDS)}")
        site = self.site(outlet)
        language = fields.get("language") or site.spec.language
        paragraphs = fields.get("paragraphs")
        on_topic = fields.get("on_topic")
        title = fields.get("title")
        published = fields.get("published") or self.clock().replace(microsecond=0)
        if isinstance(published, str):
            published = datetime.fromisoformat(published)
        if published.tzinfo is None:
            raise ValueError(f"published: expected a timezone-aware datetime, got {published!r}")
        published = published.astimezone(UTC)
        for key in ("paragraphs", "authors"):
            value = fields.get(key)
            if value is not None and (isinstance(value, str) or not all(isinstance(v, str) for v in value)):
                raise ValueError(f"{key}: expected a list of strings, got {value!r}")
        with self._lock:
            rng = random.Random(f"{self.seed}:{outlet}:published:{len(self._articles[outlet])}")
            if paragraphs is None:
                story = self._take_reserve(language, True if on_topic is None else bool(on_topic))
                paragraphs = paragraphs_of(story.sentences, rng)
                title = title or story.title
                on_topic = story.on_topic
            if not title or not paragraphs or not all(isinstance(p, str) and p for p in paragraphs):
                raise ValueError("publish: expected a title and a list of non-empty paragraphs")
            if on_topic is None:
                on_topic = matches(title + "\n" + "\n".join(paragraphs))
            slug = fields.get("slug") or slugify(title)
            taken = {article.key for article in self._articles[outlet]}
            base, counter = slug, 2
            while f"{outlet}/{slug}" in taken:
                slug, counter = f"{base}-{counter}", counter + 1
            article = make_article(
                site.spec, site.outlet, title=title, paragraphs=paragraphs, on_topic=bool(on_topic),
                published=published, modified=published,
                authors=fields.get("authors") or pick_authors(site.spec, rng),
                number=rng.randint(6_300_000, 6_399_999), language=language,
                section=fields.get("section"), slug=slug, canonical_url=fields.get("canonical_url"),
                description=fields.get("description"),
            )
            self._add(article)
            self._touch(outlet)
        self._notify()
        return article

    def revise(self, url: str, **changes: Any) -> Article:
        """Change a published article in place (same URLs); its ``modified`` becomes now."""
        unknown = set(changes) - {"title", "paragraphs", "description"}
        if unknown:
            raise ValueError(f"revise: unknown fields {sorted(unknown)}; expected title, paragraphs, description")
        if "paragraphs" in changes:
            changes["paragraphs"] = tuple(changes["paragraphs"])
        with self._lock:
            old = next((a for items in self._articles.values() for a in items
                        if url in (a.url, a.canonical_url, *a.aliases)), None)
            if old is None:
                raise ValueError(f"revise: no article at {url}")
            new = dataclasses.replace(old, **changes, modified=self.clock().replace(microsecond=0))
            items = self._articles[old.outlet]
            items[items.index(old)] = new
            for address in (new.url, *new.aliases):
                self._paths[(new.outlet, urlsplit(address).path)] = new
            self._touch(old.outlet)
        self._notify()
        return new

    def _take_reserve(self, language: str, on_topic: bool) -> Story:
        for story in STORIES:
            if (story.outlet == "reserve" and story.language == language and story.on_topic == on_topic
                    and story.title not in self._reserve_used):
                self._reserve_used.add(story.title)
                return story
        raise ValueError(f"publish: no unused reserve story (language {language!r}, on_topic {on_topic}); "
                         "pass title= and paragraphs=")

    def set_break(self, outlet: str, what: str, mode: str) -> str:
        """Make a document of ``outlet`` misbehave (or behave again with mode "ok"); returns its path."""
        site = self.site(outlet)
        if mode not in BREAK_MODES:
            raise ValueError(f"mode: expected one of {', '.join(BREAK_MODES)}, got {mode!r}")
        documents = dict(site.outlet.documents)
        if site.outlet.feeds:
            documents["feed"] = site.outlet.feeds[0]
        if what.startswith("/"):
            path = what
        elif what in documents:
            path = urlsplit(documents[what]).path
        else:
            raise ValueError(f"what: expected a path or one of {', '.join(documents)} for {outlet}, got {what!r}")
        with self._lock:
            if mode == "ok":
                self._breaks.pop((outlet, path), None)
            else:
                self._breaks[(outlet, path)] = mode
            self._touch(outlet)
        self._notify()
        return path

    # -- request log ---------------------------------------------------------------------------

    def event(self) -> int:
        """The next number of the room's request events (starts and ends, all outlets): their order."""
        with self._lock:
            return next(self._events)

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._log.append(entry)

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._log]

    def reset_log(self) -> int:
        with self._lock:
            count = len(self._log)
            self._log.clear()
            return count
