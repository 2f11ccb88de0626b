"""What each synthetic outlet is: its name, language, documents, URL scheme and page theme.

The four base outlets are below. A room with more than four outlets repeats them with a number
(``wire-en-2`` on the fifth address, ...); those copies start without articles.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone

from tests.newsroom.model import Outlet

__all__ = ["BASE_SPECS", "Document", "OutletSpec", "build_outlets", "specs_for"]

FIRST_HOST = 2  # outlets listen on 127.0.0.2, 127.0.0.3, ...
PARIS = timezone(timedelta(hours=1), "CET")  # French outlets write local times with a fixed +01:00


@dataclass(frozen=True, slots=True)
class Document:
    """A document an outlet serves besides articles. ``fmt`` says how it is rendered."""

    kind: str  # the name break_feed() takes
    path: str
    fmt: str  # rss2, atom, rdf, news-sitemap, news-sitemap-gz, sitemap-index, urlset, section


@dataclass(frozen=True, slots=True)
class OutletSpec:
    name: str
    title: str
    language: str
    theme: str  # the article-page template: wire, gazette, journal, quotidien
    tz: timezone
    feeds: tuple[Document, ...]
    sitemaps: tuple[Document, ...]  # listed in the config and robots.txt
    extra: tuple[Document, ...]  # served but reached only through another document
    pages: tuple[Document, ...]  # section pages scraped for links
    default_section: str
    authors: tuple[str, ...]
    stories: str | None  # the outlet name of its default stories; None: it starts empty

    @property
    def documents(self) -> tuple[Document, ...]:
        return (*self.feeds, *self.sitemaps, *self.extra, *self.pages)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def article_path(self, section: str, slug: str, published: datetime, number: int) -> str:
        """The path of an article page; each outlet has its own URL scheme."""
        day = self.local(published).strftime("%Y/%m/%d")
        if self.theme == "wire":
            return f"/{day}/{slug}.html"
        if self.theme == "gazette":
            return f"/{section}/{day}/{slug}/"
        if self.theme == "journal":
            return f"/{section}/article/{day}/{slug}_{number}.html"
        return f"/{section}/{day}/{slug}.html"


BASE_SPECS: tuple[OutletSpec, ...] = (
    OutletSpec(
        name="wire-en", title="Wire", language="en", theme="wire", tz=UTC,
        feeds=(Document("rss", "/rss.xml", "rss2"),),
        sitemaps=(Document("sitemap", "/sitemap-news.xml", "news-sitemap"),),
        extra=(), pages=(), default_section="world",
        authors=("Daniel Hartley", "Priya Raman", "Michael O'Connor", "Sarah Lindgren", "James Okafor"),
        stories="wire-en",
    ),
    OutletSpec(
        name="gazette-en", title="The Gazette", language="en", theme="gazette", tz=UTC,
        feeds=(Document("atom", "/atom.xml", "atom"),),
        sitemaps=(Document("sitemap", "/sitemap.xml", "sitemap-index"),),
        extra=(Document("sitemap-news", "/sitemap-news.xml.gz", "news-sitemap-gz"),),
        pages=(), default_section="world",
        authors=("Emily Carrington", "Tom Whitlock", "Aisha Bello", "Robert Fenwick", "Laura Mendes"),
        stories="gazette-en",
    ),
    OutletSpec(
        name="journal-fr", title="Le Journal", language="fr", theme="journal", tz=PARIS,
        feeds=(Document("rdf", "/rdf.xml", "rdf"),),
        sitemaps=(Document("sitemap", "/sitemap.xml", "urlset"),),
        extra=(), pages=(), default_section="international",
        authors=("Camille Arnaud", "Louis Berthier", "Nadia Benali", "Pierre Lemaire", "Élise Fontaine"),
        stories="journal-fr",
    ),
    OutletSpec(
        name="quotidien-fr", title="Le Quotidien", language="fr", theme="quotidien", tz=PARIS,
        feeds=(Document("rss", "/rss.xml", "rss2"),),
        sitemaps=(Document("sitemap", "/sitemap.xml", "urlset"),),
        extra=(), pages=(Document("section", "/monde/", "section"),), default_section="monde",
        authors=("Hugo Mercier", "Inès Caron", "Mathilde Rousseau", "Yanis Ferhat", "Claire Vasseur"),
        stories="quotidien-fr",
    ),
)


def specs_for(outlets: int | list[str] | tuple[str, ...]) -> list[OutletSpec]:
    """The specs of a room: the first ``outlets`` (numbered copies past four), or those named."""
    if isinstance(outlets, int):
        if outlets < 1:
            raise ValueError(f"outlets: expected at least 1, got {outlets}")
        specs = []
        for index in range(outlets):
            base = BASE_SPECS[index % len(BASE_SPECS)]
            copy = index // len(BASE_SPECS)
            if copy:
                base = replace(base, name=f"{base.name}-{copy + 1}", title=f"{base.title} {copy + 1}",
                               stories=None)
            specs.append(base)
        return specs
    known = {spec.name: spec for spec in BASE_SPECS}
    unknown = [name for name in outlets if name not in known]
    if unknown or not outlets:
        raise ValueError(f"outlets: expected names among {', '.join(known)}, got {list(outlets)}")
    return [known[name] for name in outlets]


def build_outlets(specs: list[OutletSpec], port: int) -> list[Outlet]:
    """The public description of each outlet, on 127.0.0.2, 127.0.0.3, ... and ``port``."""
    outlets = []
    for index, spec in enumerate(specs):
        host = f"127.0.0.{FIRST_HOST + index}"
        base = f"http://{host}:{port}"
        documents = {"home": base + "/", "robots": base + "/robots.txt"}
        documents.update({doc.kind: base + doc.path for doc in spec.documents})
        outlets.append(Outlet(
            name=spec.name, title=spec.title, host=host, port=port, language=spec.language,
            base_url=base, home=base + "/", robots=base + "/robots.txt",
            feeds=tuple(base + doc.path for doc in spec.feeds),
            sitemaps=tuple(base + doc.path for doc in spec.sitemaps),
            pages=tuple(base + doc.path for doc in spec.pages),
            documents=documents,
        ))
    return outlets
