"""Feeds, sitemaps and robots.txt as each outlet writes them.

Each outlet has its own dialect, the way real ones do: Wire writes RSS 2.0 with ``dc:creator``,
a ``<ttl>`` and UTC dates; Le Quotidien writes RSS 2.0 with CDATA, enclosures and +01:00 dates;
the Gazette writes Atom and a sitemap index whose child is gzipped; Le Journal writes RSS 1.0
(RDF) with ``dc:date`` and ``sy:updatePeriod``.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape, quoteattr

from tests.newsroom.model import Article, Outlet
from tests.newsroom.outlets import OutletSpec

__all__ = ["XML_TYPES", "render_robots", "render_xml"]

XML_TYPES = {
    "rss2": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "rdf": "application/rdf+xml; charset=utf-8",
    "news-sitemap": "application/xml; charset=utf-8",
    "news-sitemap-gz": "application/x-gzip",
    "sitemap-index": "application/xml; charset=utf-8",
    "urlset": "text/xml; charset=utf-8",
}
_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _rss2(spec: OutletSpec, outlet: Outlet, articles: Sequence[Article], updated: datetime) -> str:
    quotidien = spec.theme == "quotidien"
    items = []
    for article in articles:
        if quotidien:
            pub = format_datetime(spec.local(article.published))
            summary = f'<p>{escape(article.description)}</p><img src="{article.image_url}" alt="">'
            extra = (
                f"<description>{_cdata(summary)}</description>"
                f"<dc:creator>{_cdata(', '.join(article.authors))}</dc:creator>"
                f'<enclosure url={quoteattr(article.image_url)} type="image/png" length="0"/>'
            )
        else:
            pub = format_datetime(article.published.astimezone(UTC))  # "+0000"
            creators = "".join(f"<dc:creator>{escape(name)}</dc:creator>" for name in article.authors)
            extra = (
                f"<description>{escape(article.description)}</description>{creators}"
                f'<media:content url={quoteattr(article.image_url)} medium="image" type="image/png"/>'
            )
        permalink = article.feed_url == article.url
        guid = article.url if permalink else f"{outlet.name}:{article.key.split('/', 1)[1]}"
        items.append(
            f"    <item>\n      <title>{escape(article.title)}</title>\n"
            f"      <link>{escape(article.feed_url)}</link>\n"
            f'      <guid isPermaLink="{str(permalink).lower()}">{escape(guid)}</guid>\n'
            f"      <pubDate>{pub}</pubDate>\n"
            f"      <category>{escape(article.section)}</category>\n      {extra}\n    </item>\n"
        )
    ttl = "" if quotidien else "    <ttl>5</ttl>\n"
    build = format_datetime(spec.local(updated)) if quotidien else format_datetime(updated, usegmt=True)
    return (
        _HEAD + '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:atom="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">\n'
        f"  <channel>\n    <title>{escape(spec.title)}</title>\n    <link>{outlet.home}</link>\n"
        f"    <description>{escape(spec.title)}: latest stories</description>\n"
        f"    <language>{spec.language}</language>\n    <lastBuildDate>{build}</lastBuildDate>\n{ttl}"
        f'    <atom:link href="{outlet.documents["rss"]}" rel="self" type="application/rss+xml"/>\n'
        + "".join(items) + "  </channel>\n</rss>\n"
    )


def _atom(spec: OutletSpec, outlet: Outlet, articles: Sequence[Article], updated: datetime) -> str:
    entries = []
    for article in articles:
        authors = "".join(f"<author><name>{escape(name)}</name></author>" for name in article.authors)
        entries.append(
            f'  <entry>\n    <title type="text">{escape(article.title)}</title>\n'
            f'    <link rel="alternate" type="text/html" href={quoteattr(article.feed_url)}/>\n'
            f"    <id>{escape(article.url)}</id>\n"
            f"    <published>{_utc(article.published)}</published>\n"
            f"    <updated>{_utc(article.modified)}</updated>\n    {authors}\n"
            f'    <category term="{article.section}"/>\n'
            f'    <summary type="text">{escape(article.description)}</summary>\n  </entry>\n'
        )
    return (
        _HEAD + f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{spec.language}">\n'
        f"  <title>{escape(spec.title)} - Latest</title>\n"
        f"  <subtitle>News, analysis and comment from {escape(spec.title)}</subtitle>\n"
        f'  <link rel="self" type="application/atom+xml" href="{outlet.documents["atom"]}"/>\n'
        f'  <link rel="alternate" type="text/html" href="{outlet.home}"/>\n'
        f"  <id>{outlet.home}</id>\n  <updated>{_utc(updated)}</updated>\n"
        "  <generator>GazettePress 4.2</generator>\n" + "".join(entries) + "</feed>\n"
    )


def _rdf(spec: OutletSpec, outlet: Outlet, articles: Sequence[Article], updated: datetime) -> str:
    seq = "".join(f'        <rdf:li rdf:resource={quoteattr(a.feed_url)}/>\n' for a in articles)
    items = "".join(
        f"  <item rdf:about={quoteattr(a.feed_url)}>\n    <title>{escape(a.title)}</title>\n"
        f"    <link>{escape(a.feed_url)}</link>\n"
        f"    <description>{escape(a.description)}</description>\n"
        f"    <dc:date>{spec.local(a.published).isoformat()}</dc:date>\n"
        f"    <dc:creator>{escape(', '.join(a.authors))}</dc:creator>\n"
        f"    <dc:subject>{escape(a.section)}</dc:subject>\n  </item>\n"
        for a in articles
    )
    return (
        _HEAD + '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">\n'
        f'  <channel rdf:about="{outlet.documents["rdf"]}">\n    <title>{escape(spec.title)}</title>\n'
        f"    <link>{outlet.home}</link>\n"
        f"    <description>Toute l'actualité du {escape(spec.title[3:])}</description>\n"
        f"    <dc:language>{spec.language}</dc:language>\n"
        f"    <dc:date>{spec.local(updated).isoformat()}</dc:date>\n"
        "    <sy:updatePeriod>hourly</sy:updatePeriod>\n    <sy:updateFrequency>2</sy:updateFrequency>\n"
        f"    <items>\n      <rdf:Seq>\n{seq}      </rdf:Seq>\n    </items>\n  </channel>\n"
        + items + "</rdf:RDF>\n"
    )


def _news_sitemap(spec: OutletSpec, articles: Sequence[Article]) -> str:
    urls = "".join(
        f"  <url>\n    <loc>{escape(a.url)}</loc>\n    <news:news>\n      <news:publication>\n"
        f"        <news:name>{escape(spec.title)}</news:name>\n"
        f"        <news:language>{a.language}</news:language>\n      </news:publication>\n"
        f"      <news:publication_date>{_utc(a.published)}</news:publication_date>\n"
        f"      <news:title>{escape(a.title)}</news:title>\n    </news:news>\n"
        f"    <image:image><image:loc>{escape(a.image_url)}</image:loc></image:image>\n  </url>\n"
        for a in articles
    )
    return (
        _HEAD + '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9" '
        'xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">\n' + urls + "</urlset>\n"
    )


def _urlset(spec: OutletSpec, articles: Sequence[Article]) -> str:
    urls = "".join(
        f"  <url>\n    <loc>{escape(a.url)}</loc>\n"
        f"    <lastmod>{spec.local(a.modified).isoformat()}</lastmod>\n"
        "    <changefreq>hourly</changefreq>\n    <priority>0.8</priority>\n  </url>\n"
        for a in articles
    )
    return _HEAD + '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + urls + "</urlset>\n"


def _sitemap_index(outlet: Outlet, updated: datetime) -> str:
    return (
        _HEAD + '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f'  <sitemap>\n    <loc>{outlet.documents["sitemap-news"]}</loc>\n'
        f"    <lastmod>{_utc(updated)}</lastmod>\n  </sitemap>\n</sitemapindex>\n"
    )


def render_xml(
    fmt: str, spec: OutletSpec, outlet: Outlet, articles: Sequence[Article], updated: datetime,
) -> bytes:
    """The body of the document of format ``fmt``; ``articles`` newest first."""
    if fmt == "rss2":
        text = _rss2(spec, outlet, articles, updated)
    elif fmt == "atom":
        text = _atom(spec, outlet, articles, updated)
    elif fmt == "rdf":
        text = _rdf(spec, outlet, articles, updated)
    elif fmt in ("news-sitemap", "news-sitemap-gz"):
        text = _news_sitemap(spec, articles)
    elif fmt == "sitemap-index":
        text = _sitemap_index(outlet, updated)
    elif fmt == "urlset":
        text = _urlset(spec, articles)
    else:
        raise ValueError(f"unknown document format {fmt!r}")
    body = text.encode("utf-8")
    # mtime=0: the same content gives the same bytes, so the ETag only changes with the content.
    return gzip.compress(body, mtime=0) if fmt == "news-sitemap-gz" else body


def render_robots(spec: OutletSpec, outlet: Outlet) -> bytes:
    """robots.txt: everything allowed but /private/, one AI crawler refused, the sitemaps listed."""
    sitemaps = "".join(f"Sitemap: {url}\n" for url in outlet.sitemaps)
    return (
        f"# robots.txt for {spec.title}\n\nUser-agent: GPTBot\nDisallow: /\n\n"
        f"User-agent: *\nDisallow: /private/\nAllow: /\n\n{sitemaps}"
    ).encode()
