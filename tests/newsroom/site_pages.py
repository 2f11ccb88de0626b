"""The pages around the articles: home pages, the section page, error and maintenance pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from tests.newsroom.chrome import cookie_banner, footer, human_date, nav_links, year_of
from tests.newsroom.model import Article, Outlet
from tests.newsroom.outlets import OutletSpec

__all__ = ["error_page", "home_page", "maintenance_page", "section_page"]


def _feed_links(outlet: Outlet, spec: OutletSpec) -> str:
    links = []
    for url, doc in zip(outlet.feeds, spec.feeds, strict=True):
        kind = "application/atom+xml" if doc.fmt == "atom" else "application/rss+xml"
        # Wire and the Gazette link their feed with a relative URL, the French outlets absolutely.
        href = doc.path if spec.language == "en" else url
        links.append(f'<link rel="alternate" type="{kind}" title="{escape(spec.title)}" href="{href}">')
    return "\n".join(links)


def _page(spec: OutletSpec, outlet: Outlet, title: str, main: str, year: int, head: str = "") -> bytes:
    return f"""<!DOCTYPE html>
<html lang="{spec.language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
{head}
<link rel="stylesheet" href="/static/css/{spec.theme}.min.css">
</head>
<body class="{spec.theme}">
{cookie_banner(spec.language, "cookie-banner")}
<header class="site-header"><a class="logo" href="/">{escape(spec.title)}</a>
<nav class="nav"><ul>{nav_links(spec.theme)}</ul></nav></header>
<main id="main">
{main}
</main>
{footer(spec.language, spec.title, "site-footer", year)}
</body>
</html>
""".encode()


def home_page(spec: OutletSpec, outlet: Outlet, articles: Sequence[Article], updated: datetime) -> bytes:
    """The home page: the feed's ``<link rel="alternate">`` and the latest twelve articles."""
    teasers = "".join(
        f'<li class="teaser"><a class="teaser__link" href="{escape(a.url)}">{escape(a.title)}</a>'
        f'<p class="teaser__summary">{escape(a.description)}</p>'
        f'<span class="teaser__date">{human_date(spec, a.published)}</span></li>'
        for a in articles[:12]
    )
    heading = "À la une" if spec.language == "fr" else "Top stories"
    description = f"{spec.title}: " + ("toute l'actualité" if spec.language == "fr" else "news and analysis")
    head = f'<meta name="description" content="{escape(description)}">\n{_feed_links(outlet, spec)}'
    main = (f'<h1 class="visually-hidden">{escape(spec.title)}</h1>'
            f'<section class="latest"><h2>{heading}</h2><ul>{teasers}</ul></section>')
    return _page(spec, outlet, f"{spec.title} - {description}", main, year_of(updated), head)


def section_page(
    spec: OutletSpec, outlet: Outlet, section: str, articles: Sequence[Article], updated: datetime,
) -> bytes:
    """A section page: its articles (one under its alias URL) among many other links.

    Each article is linked three times (picture, headline, comments anchor); the "most read" block
    links the newest articles of other sections; one link goes to a page under /private/, which
    robots.txt disallows.
    """
    own = [a for a in articles if a.section == section]
    others = [a for a in articles if a.section != section][:3]
    teasers = []
    for article in own:
        url = escape(article.aliases[0] if article.aliases else article.url)
        teasers.append(
            f'<article class="teaser"><a class="teaser__visuel" href="{url}">'
            f'<img src="{article.image_url}" alt=""></a>'
            f'<h2 class="teaser__titre"><a href="{url}">{escape(article.title)}</a></h2>'
            f'<p class="teaser__chapo">{escape(article.description)}</p>'
            f'<a class="teaser__reactions" href="{url}#reactions">Réagir</a></article>'
        )
    most_read = "".join(f'<li><a href="{escape(a.url)}">{escape(a.title)}</a></li>' for a in others)
    day = spec.local(updated).strftime("%Y/%m/%d")
    private = (f'<a class="teaser__exclu" href="/private/{section}/{day}/article-sous-embargo.html">'
               "Exclusivité abonnés</a>")
    main = (
        f'<h1 class="rubrique-titre">{escape(section.title())}</h1>'
        f'<div class="sous-rubriques"><a href="/{section}/europe/">Europe</a> '
        f'<a href="/{section}/afrique/">Afrique</a> '
        f'<a href="/{section}/ameriques/">Amériques</a> <a href="/{section}/asie/">Asie</a></div>'
        f'<section class="liste-articles">{"".join(teasers)}</section>{private}'
        f'<aside class="les-plus-lus"><h2>Les plus lus</h2><ol>{most_read}</ol></aside>'
        f'<nav class="pagination"><a href="/{section}/?page=2" rel="next">Page suivante</a></nav>'
    )
    head = f'<link rel="canonical" href="{outlet.url("/" + section + "/")}">\n{_feed_links(outlet, spec)}'
    return _page(spec, outlet, f"{section.title()} - {spec.title}", main, year_of(updated), head)


def error_page(spec: OutletSpec, outlet: Outlet, status: int, year: int) -> bytes:
    """The page sent with a 403, 404 or 500."""
    if spec.language == "fr":
        messages = {403: "Accès réservé", 404: "Page introuvable", 500: "Erreur du serveur"}
        advice = "Retournez à la page d'accueil ou utilisez le moteur de recherche."
    else:
        messages = {403: "Access denied", 404: "Page not found", 500: "Something went wrong"}
        advice = "Go back to the home page or try searching for the story."
    title = messages.get(status, str(status))
    main = f'<h1>{title}</h1><p class="error-code">{status}</p><p>{advice}</p>'
    return _page(spec, outlet, f"{title} - {spec.title}", main, year)


def maintenance_page(spec: OutletSpec, outlet: Outlet, year: int) -> bytes:
    """What a broken feed URL serves in mode "not-xml": an HTML page with status 200."""
    if spec.language == "fr":
        main = ("<h1>Maintenance en cours</h1>"
                "<p>Ce service est momentanément indisponible. Merci de réessayer plus tard.</p>")
    else:
        main = "<h1>We'll be right back</h1><p>This service is temporarily unavailable. Please try again later.</p>"
    return _page(spec, outlet, spec.title, main, year)
