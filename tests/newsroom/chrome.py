"""The boilerplate around articles: navigation, cookie banners, newsletter boxes, footers, dates.

None of it names the topic's people or places, so an off-topic page stays off-topic even for an
extractor that keeps boilerplate; body-text assertions catch such leaks instead.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from html import escape
from typing import Any

from tests.newsroom.model import Article
from tests.newsroom.outlets import OutletSpec
from tests.newsroom.stories import COMMENTS, Comment

__all__ = ["NAV", "comments_for", "cookie_banner", "footer", "human_date", "json_ld", "nav_links"]

NAV: dict[str, tuple[tuple[str, str], ...]] = {
    "wire": (
        ("World", "/world/"), ("US", "/us/"), ("Europe", "/europe/"), ("Business", "/business/"),
        ("Markets", "/markets/"), ("Technology", "/technology/"), ("Science", "/science/"),
        ("Health", "/health/"), ("Sport", "/sport/"), ("Culture", "/culture/"), ("Weather", "/weather/"),
        ("Opinion", "/opinion/"), ("Video", "/video/"), ("Podcasts", "/podcasts/"),
        ("Newsletters", "/newsletters/"),
    ),
    "gazette": (
        ("Home", "/"), ("UK", "/uk/"), ("World", "/world/"), ("Business", "/business/"),
        ("Politics", "/politics/"), ("Tech", "/tech/"), ("Science", "/science/"), ("Sport", "/sport/"),
        ("Football", "/sport/football/"), ("Culture", "/culture/"), ("Lifestyle", "/lifestyle/"),
        ("Travel", "/travel/"), ("Money", "/money/"), ("Obituaries", "/obituaries/"),
        ("Puzzles", "/puzzles/"), ("Letters", "/letters/"),
    ),
    "journal": (
        ("International", "/international/"), ("Politique", "/politique/"), ("Société", "/societe/"),
        ("Économie", "/economie/"), ("Planète", "/planete/"), ("Sciences", "/sciences/"),
        ("Culture", "/culture/"), ("Sport", "/sport/"), ("Idées", "/idees/"), ("Pixels", "/pixels/"),
        ("M le mag", "/m-le-mag/"), ("Podcasts", "/podcasts/"), ("Vidéos", "/videos/"),
        ("Newsletters", "/newsletters/"), ("Archives", "/archives/"),
    ),
    "quotidien": (
        ("À la une", "/"), ("France", "/france/"), ("Monde", "/monde/"), ("Économie", "/economie/"),
        ("Société", "/societe/"), ("Sport", "/sport/"), ("Culture", "/culture/"), ("Santé", "/sante/"),
        ("Tech", "/tech/"), ("Météo", "/meteo/"), ("Régions", "/regions/"), ("Faits divers", "/faits-divers/"),
        ("Vidéos", "/videos/"), ("Jeux", "/jeux/"),
    ),
}

_FOOTER = {
    "en": (("About us", "/about/"), ("Contact", "/contact/"), ("Careers", "/careers/"),
           ("Advertise", "/advertise/"), ("Terms of use", "/terms/"), ("Privacy policy", "/privacy/"),
           ("Cookie settings", "/privacy/cookies/"), ("Accessibility", "/accessibility/"),
           ("RSS feeds", "/feeds/"), ("Corrections", "/corrections/")),
    "fr": (("Qui sommes-nous ?", "/qui-sommes-nous/"), ("Contact", "/contact/"),
           ("Recrutement", "/recrutement/"), ("Publicité", "/publicite/"),
           ("Conditions générales", "/cgu/"), ("Confidentialité", "/confidentialite/"),
           ("Gestion des cookies", "/cookies/"), ("Accessibilité", "/accessibilite/"),
           ("Flux RSS", "/rss/"), ("Plan du site", "/plan-du-site/")),
}

_COOKIE = {
    "en": ("We and our 143 partners use cookies and similar technologies to store and access information "
           "on your device, to personalise content and advertising, to measure audiences and to improve "
           "our services. You can accept, refuse or choose which purposes you allow at any time.",
           "Accept all", "Reject non-essential", "Manage preferences"),
    "fr": ("Avec nos 143 partenaires, nous utilisons des cookies et technologies similaires pour stocker "
           "et consulter des informations sur votre appareil, personnaliser les contenus et la publicité, "
           "mesurer l'audience et améliorer nos services. Vous pouvez accepter, refuser ou paramétrer vos "
           "choix à tout moment.", "Tout accepter", "Continuer sans accepter", "Paramétrer"),
}

_MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
              "octobre", "novembre", "décembre")


def nav_links(theme: str) -> str:
    return "".join(f'<li><a href="{href}">{escape(label)}</a></li>' for label, href in NAV[theme])


def cookie_banner(language: str, css: str) -> str:
    text, accept, refuse, manage = _COOKIE.get(language, _COOKIE["en"])
    return (
        f'<div class="{css}" id="consent-banner" role="dialog" aria-live="polite">'
        f"<p>{escape(text)}</p><button type=\"button\" data-consent=\"all\">{accept}</button>"
        f'<button type="button" data-consent="none">{refuse}</button>'
        f'<a href="/privacy/cookies/">{manage}</a></div>'
    )


def footer(language: str, title: str, css: str, year: int) -> str:
    links = "".join(f'<li><a href="{href}">{escape(label)}</a></li>'
                    for label, href in _FOOTER.get(language, _FOOTER["en"]))
    social = ('<a href="https://social.example/' + title.lower().replace(" ", "") + '">Social</a> '
              '<a href="https://video.example/' + title.lower().replace(" ", "") + '">Video channel</a>')
    rights = "Tous droits réservés" if language == "fr" else "All rights reserved"
    return (f'<footer class="{css}"><ul>{links}</ul><p class="social">{social}</p>'
            f"<p>© {year} {escape(title)}. {rights}.</p></footer>")


def human_date(spec: OutletSpec, moment: datetime) -> str:
    """The date line a reader sees, in the outlet's language and time zone."""
    local = spec.local(moment)
    if spec.language == "fr":
        return f"{local.day} {_MONTHS_FR[local.month - 1]} {local.year} à {local:%Hh%M}"
    hour = local.hour % 12 or 12
    suffix = "a.m." if local.hour < 12 else "p.m."
    if spec.theme == "gazette":
        return f"{local:%H:%M} GMT, {local.day} {local:%B %Y}"
    return f"{local:%B} {local.day}, {local.year}, {hour}:{local:%M} {suffix} UTC"


def comments_for(article: Article) -> list[tuple[Comment, str]]:
    """Two to four reader comments, each with a "when" label; the same for the same article."""
    rng = random.Random(article.key)
    pool = COMMENTS.get((article.language, article.on_topic), COMMENTS[("en", article.on_topic)])
    chosen = rng.sample(pool, rng.randint(2, 4))
    hours = sorted(rng.sample(range(1, 30), len(chosen)))
    if article.language == "fr":
        return [(comment, f"il y a {hour} h") for comment, hour in zip(chosen, hours, strict=True)]
    return [(comment, f"{hour} hours ago") for comment, hour in zip(chosen, hours, strict=True)]


def json_ld(data: dict[str, Any]) -> str:
    """A JSON-LD script element; "</" is escaped so no text can close the script early."""
    text = json.dumps(data, ensure_ascii=False, indent=1).replace("</", "<\\/")
    return f'<script type="application/ld+json">{text}</script>'


def news_article_ld(spec: OutletSpec, article: Article) -> dict[str, Any]:
    return {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title,
        "description": article.description,
        "datePublished": spec.local(article.published).isoformat(),
        "dateModified": spec.local(article.modified).isoformat(),
        "author": [{"@type": "Person", "name": name} for name in article.authors],
        "publisher": {"@type": "Organization", "name": spec.title},
        "image": [article.image_url],
        "inLanguage": article.language,
        "articleSection": article.section,
        "mainEntityOfPage": {"@type": "WebPage", "@id": article.canonical_url},
        "url": article.canonical_url,
    }


def year_of(moment: datetime) -> int:
    return moment.astimezone(UTC).year
