"""Article pages, one template per outlet: different markup, class names and boilerplate.

Every page has the same metadata (title, description, canonical, OpenGraph, JSON-LD NewsArticle)
and the same parts around the article: navigation, a cookie banner, related articles, a
newsletter box, reader comments and a footer. Only the ``<p>`` elements of the article body hold
``Article.paragraphs``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from tests.newsroom.chrome import (
    comments_for,
    cookie_banner,
    footer,
    human_date,
    json_ld,
    nav_links,
    news_article_ld,
    year_of,
)
from tests.newsroom.model import Article, Outlet
from tests.newsroom.outlets import OutletSpec

__all__ = ["render_article"]


def _head(spec: OutletSpec, outlet: Outlet, article: Article, ld: str) -> str:
    feed = outlet.feeds[0] if outlet.feeds else outlet.home
    feed_type = "application/atom+xml" if feed.endswith("atom.xml") else "application/rss+xml"
    locale = "fr_FR" if article.language == "fr" else "en_US"
    return f"""<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(article.title)} | {escape(spec.title)}</title>
<meta name="description" content="{escape(article.description)}">
<meta name="author" content="{escape(', '.join(article.authors))}">
<meta name="robots" content="index, follow, max-image-preview:large">
<link rel="canonical" href="{escape(article.canonical_url)}">
<link rel="alternate" type="{feed_type}" title="{escape(spec.title)}" href="{feed}">
<link rel="stylesheet" href="/static/css/{spec.theme}.min.css">
<meta property="og:site_name" content="{escape(spec.title)}">
<meta property="og:type" content="article">
<meta property="og:locale" content="{locale}">
<meta property="og:title" content="{escape(article.title)}">
<meta property="og:description" content="{escape(article.description)}">
<meta property="og:url" content="{escape(article.canonical_url)}">
<meta property="og:image" content="{escape(article.image_url)}">
<meta property="article:published_time" content="{spec.local(article.published).isoformat()}">
<meta property="article:modified_time" content="{spec.local(article.modified).isoformat()}">
<meta property="article:section" content="{escape(article.section)}">
<meta name="twitter:card" content="summary_large_image">
{ld}
<script>window.dataLayer = window.dataLayer || []; dataLayer.push({{"page": "article"}});</script>
</head>"""


def _names(article: Article, link: bool) -> str:
    joiner = " et " if article.language == "fr" else " and "
    if not link:
        return escape(joiner.join(article.authors))
    return joiner.join(
        f'<a rel="author" href="/authors/{name.lower().replace(" ", "-").replace(chr(39), "")}/">'
        f"{escape(name)}</a>" for name in article.authors
    )


def _paragraphs(article: Article, css: str = "") -> list[str]:
    attr = f' class="{css}"' if css else ""
    return [f"<p{attr}>{escape(text)}</p>" for text in article.paragraphs]


def _related(related: Sequence[Article], item: str) -> str:
    return "".join(f'<li class="{item}"><a href="{escape(a.url)}">{escape(a.title)}</a></li>' for a in related)


def _wire(spec: OutletSpec, outlet: Outlet, article: Article, related: Sequence[Article]) -> str:
    comments = "".join(
        f'<li class="comment"><div class="comment__author">{escape(c.name)}</div>'
        f'<div class="comment__time">{when}</div><p class="comment__text">{escape(c.text)}</p></li>'
        for c, when in comments_for(article)
    )
    body = "\n".join(_paragraphs(article))
    return f"""<!DOCTYPE html>
<html lang="{article.language}">
{_head(spec, outlet, article, json_ld(news_article_ld(spec, article)))}
<body class="page-article">
<a class="skip-link" href="#main">Skip to content</a>
<div class="top-bar"><a href="/subscribe/">Subscribe</a> <a href="/login/">Sign in</a></div>
<header class="site-header">
<a class="site-logo" href="/">{escape(spec.title)}</a>
<nav class="primary-nav" aria-label="Sections"><ul>{nav_links("wire")}</ul></nav>
<form class="site-search" action="/search/" method="get"><input type="search" name="q" placeholder="Search">
<button type="submit">Search</button></form>
</header>
<main id="main">
<article class="story">
<header class="story__header">
<a class="story__kicker" href="/{article.section}/">{escape(article.section.title())}</a>
<h1 class="story__headline">{escape(article.title)}</h1>
<div class="story__meta"><span class="byline">By {_names(article, link=True)}</span>
<time class="story__time" datetime="{article.published.isoformat()}">{human_date(spec, article.published)}</time>
</div>
</header>
<figure class="story__image"><img src="{article.image_url}" alt="" width="1200" height="675">
<figcaption>Photo: {escape(spec.title)} staff</figcaption></figure>
<div class="story__body">
{body}
</div>
<div class="story__tools"><span>Share this story:</span> <a href="https://social.example/share">Share</a>
<a href="mailto:?subject=Wire">Email</a> <a href="#comments">Comments</a></div>
</article>
<aside class="related-stories"><h2>Related coverage</h2><ul>{_related(related, "related__item")}</ul></aside>
<section class="newsletter-box"><h2>The Morning Wire</h2>
<p>The five stories you need before breakfast, in your inbox every weekday. Free for subscribers.</p>
<form action="/newsletters/subscribe" method="post"><input type="email" name="email" placeholder="Email address">
<button type="submit">Sign up</button></form></section>
<section class="comments" id="comments"><h2>Comments</h2><ol class="comment-list">{comments}</ol>
<p class="comments__policy">Comments are reviewed before they appear. Please keep it civil.</p></section>
</main>
{footer(article.language, spec.title, "site-footer", year_of(article.published))}
{cookie_banner(article.language, "cookie-banner")}
</body>
</html>
"""


def _gazette(spec: OutletSpec, outlet: Outlet, article: Article, related: Sequence[Article]) -> str:
    article_ld = news_article_ld(spec, article)
    del article_ld["@context"]
    graph = {"@context": "https://schema.org", "@graph": [
        {"@type": "WebPage", "@id": article.canonical_url, "name": article.title},
        article_ld,
        {"@type": "Organization", "name": spec.title, "url": outlet.home},
    ]}
    comments = "".join(
        f'<li class="comment"><article class="comment-body"><footer class="comment-meta">'
        f'<b class="fn">{escape(c.name)}</b> <span class="comment-date">{when}</span></footer>'
        f'<div class="comment-content"><p>{escape(c.text)}</p></div></article></li>'
        for c, when in comments_for(article)
    )
    paragraphs = _paragraphs(article)
    # An advertisement slot between the second and third paragraphs, as on many real pages.
    paragraphs.insert(2, '<div class="ad-slot ad-slot--mpu" data-slot="mpu1"><span>Advertisement</span></div>')
    body = "\n".join(paragraphs)
    return f"""<!DOCTYPE html>
<html lang="{article.language}" class="no-js">
{_head(spec, outlet, article, json_ld(graph))}
<body class="post-template-default single single-post">
{cookie_banner(article.language, "gdpr-notice")}
<div id="page" class="site">
<header id="masthead" class="site-header"><div class="site-branding"><p class="site-title">
<a href="/" rel="home">{escape(spec.title)}</a></p><p class="site-description">Independent news since 1881</p></div>
<nav id="site-navigation" class="main-navigation"><ul id="primary-menu" class="menu">{nav_links("gazette")}</ul></nav>
<div class="header-actions"><a href="/support-us/">Support us</a> <a href="/account/">My account</a></div>
</header>
<div id="content" class="site-content"><div id="primary" class="content-area"><main id="main" class="site-main">
<article class="post type-post status-publish format-standard has-post-thumbnail">
<header class="entry-header">
<h1 class="entry-title">{escape(article.title)}</h1>
<div class="entry-meta">
<span class="byline">Written by <span class="author vcard">{_names(article, link=True)}</span></span>
<span class="posted-on">
<time class="entry-date published"
 datetime="{article.published.isoformat()}">{human_date(spec, article.published)}</time>
<time class="updated"
 datetime="{article.modified.isoformat()}">Updated {human_date(spec, article.modified)}</time></span></div>
</header>
<div class="post-thumbnail"><img src="{article.image_url}" alt="" loading="lazy"></div>
<div class="entry-content">
{body}
</div>
<footer class="entry-footer">
<span class="cat-links">Posted in <a href="/{article.section}/"
 rel="category tag">{escape(article.section.title())}</a></span></footer>
</article>
<section class="more-on-this-story"><h2 class="widget-title">More on this story</h2>
<ul>{_related(related, "more-item")}</ul></section>
<div id="comments" class="comments-area"><h2 class="comments-title">Join the conversation</h2>
<ol class="comment-list">{comments}</ol>
<div id="respond" class="comment-respond"><h3>Leave a reply</h3><form action="/comments/post" method="post">
<textarea name="comment" rows="4"></textarea><button type="submit">Post comment</button></form></div></div>
</main></div>
<aside id="secondary" class="widget-area"><section class="widget newsletter-widget">
<h2 class="widget-title">Gazette Daily</h2>
<p>Sign up for our free evening briefing and never miss a story that matters.</p>
<form action="/newsletter/" method="post"><input type="email" name="email">
<button type="submit">Subscribe</button></form></section>
<section class="widget most-read"><h2 class="widget-title">Most read</h2>
<ol>{_related(related[:3], "most-read__item")}</ol></section></aside>
</div>
{footer(article.language, spec.title, "site-footer", year_of(article.published))}
</div>
</body>
</html>
"""


def _journal(spec: OutletSpec, outlet: Outlet, article: Article, related: Sequence[Article]) -> str:
    comments = "".join(
        f'<div class="comment"><p class="comment__author">{escape(c.name)} <span class="comment__date">{when}'
        f'</span></p><p class="comment__content">{escape(c.text)}</p></div>'
        for c, when in comments_for(article)
    )
    body = "\n".join(_paragraphs(article, "article__paragraph"))
    return f"""<!DOCTYPE html>
<html lang="{article.language}">
{_head(spec, outlet, article, json_ld(news_article_ld(spec, article)))}
<body class="article-page">
<header class="header"><div class="header__top"><a class="logo" href="/">{escape(spec.title)}</a>
<a class="header__subscribe" href="/abonnement/">S'abonner</a>
<a class="header__login" href="/connexion/">Se connecter</a></div>
<nav class="header__nav"><ul class="nav__list">{nav_links("journal")}</ul></nav></header>
{cookie_banner(article.language, "cmp-banner")}
<main class="zone zone--article" id="habillagepub">
<section class="article__wrapper">
<header class="article__header">
<ul class="breadcrumb"><li><a href="/">Accueil</a></li><li>
<a href="/{article.section}/">{escape(article.section.title())}</a></li></ul>
<h1 class="article__title">{escape(article.title)}</h1>
<section class="meta meta__publisher">
<span class="meta__author">Par <span class="author__name">{_names(article, link=False)}</span></span>
<span class="meta__date">Publié le <time
 datetime="{spec.local(article.published).isoformat()}">{human_date(spec, article.published)}</time>, modifié le
 {human_date(spec, article.modified)}</span></section>
</header>
<figure class="article__media"><img src="{article.image_url}" alt="">
<figcaption class="article__legend">Illustration : {escape(spec.title)}</figcaption></figure>
<article class="article__content">
{body}
</article>
<section class="article__reactions" id="reactions"><h2 class="reactions__title">Réactions</h2>{comments}
<a class="reactions__more" href="/connexion/">Voir toutes les contributions</a></section>
</section>
<aside class="aside__related"><h2 class="aside__title">Sur le même sujet</h2>
<ul>{_related(related, "aside__item")}</ul></aside>
<section class="newsletter-inline"><h3>La lettre du Journal</h3>
<p>Chaque soir, l'essentiel de l'actualité et une sélection d'analyses de la rédaction.</p>
<form action="/newsletters/inscription" method="post">
<input type="email" name="email" placeholder="Votre adresse e-mail">
<button type="submit">S'inscrire</button></form></section>
</main>
{footer(article.language, spec.title, "footer", year_of(article.published))}
</body>
</html>
"""


def _quotidien(spec: OutletSpec, outlet: Outlet, article: Article, related: Sequence[Article]) -> str:
    comments = "".join(
        f'<li class="reaction"><strong class="reaction-auteur">{escape(c.name)}</strong> '
        f'<em class="reaction-date">{when}</em><p class="reaction-texte">{escape(c.text)}</p></li>'
        for c, when in comments_for(article)
    )
    body = "\n".join(_paragraphs(article))
    return f"""<!DOCTYPE html>
<html lang="{article.language}">
{_head(spec, outlet, article, json_ld(news_article_ld(spec, article)))}
<body>
{cookie_banner(article.language, "bandeau-cookies")}
<div id="page">
<header id="entete"><a id="logo" href="/">{escape(spec.title)}</a>
<div class="entete-liens"><a href="/abonnement/">Je m'abonne</a> <a href="/compte/">Mon compte</a></div>
<nav class="menu-principal"><ul>{nav_links("quotidien")}</ul></nav></header>
<div class="fil-ariane">
<a href="/">Accueil</a> &gt; <a href="/{article.section}/">{escape(article.section.title())}</a></div>
<div id="contenu"><article class="art">
<h1 class="art-titre">{escape(article.title)}</h1>
<div class="art-signature">Par <span class="auteur">{_names(article, link=False)}</span>
<time class="art-date"
 datetime="{spec.local(article.published).isoformat()}">{human_date(spec, article.published)}</time></div>
<div class="art-visuel"><img src="{article.image_url}" alt=""></div>
<div class="art-corps">
{body}
</div>
<div class="art-partage">Partager : <a href="https://social.example/partage">Réseaux sociaux</a>
<a href="mailto:">E-mail</a></div>
</article>
<div class="a-lire-aussi"><h2>À lire aussi</h2><ul>{_related(related, "lien-article")}</ul></div>
<div class="encart-newsletter"><h2>Recevez notre lettre</h2>
<p>Chaque matin à 7 heures, les informations essentielles de la journée.</p>
<form action="/newsletter/" method="post"><input type="email" name="courriel">
<button type="submit">Je m'inscris</button></form></div>
<section id="reactions" class="reactions"><h2>Réactions des lecteurs</h2><ul>{comments}</ul></section>
</div>
{footer(article.language, spec.title, "pied", year_of(article.published))}
</div>
</body>
</html>
"""


_THEMES: dict[str, Callable[[OutletSpec, Outlet, Article, Sequence[Article]], str]] = {
    "wire": _wire, "gazette": _gazette, "journal": _journal, "quotidien": _quotidien,
}


def render_article(spec: OutletSpec, outlet: Outlet, article: Article, related: Sequence[Article]) -> bytes:
    """The HTML page of ``article``; ``related`` are shown in its related-articles block."""
    return _THEMES[spec.theme](spec, outlet, article, related).encode("utf-8")
