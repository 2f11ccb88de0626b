"""JSON-LD reader, and the value parsers every metadata reader shares.

:func:`read_jsonld` finds the page's own ``Article``-like node (``NewsArticle``,
``ReportageNewsArticle``, ``BlogPosting``, ``LiveBlogPosting``...) in ``@graph`` arrays, lists and
nested ``mainEntity``/``mainEntityOfPage`` objects, tolerates the broken JSON CMSs emit (comment
wrappers, raw newlines, trailing commas), resolves ``{"@id": ...}`` references, and skips nodes
that describe other documents (``itemListElement``, ``relatedLink``...).
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from lxml.html import HtmlElement

from newsmon.crawler.extraction.dates import DateCandidate, candidate

if TYPE_CHECKING:
    from newsmon.crawler.extraction.metadata import PageMetadata

logger = logging.getLogger(__name__)


def _names(text: str) -> frozenset[str]:
    return frozenset(text.lower().split())


ARTICLE_TYPES = _names(
    """Article NewsArticle ReportageNewsArticle AnalysisNewsArticle OpinionNewsArticle ReviewNewsArticle
    BackgroundNewsArticle AskPublicNewsArticle SatiricalArticle BlogPosting LiveBlogPosting SocialMediaPosting
    Report ScholarlyArticle TechArticle AdvertiserContentArticle DiscussionForumPosting Review"""
)
PAGE_TYPES = _names("WebPage ItemPage AboutPage MedicalWebPage")
# Keys whose values describe other documents (lists of teasers, citations): never the page's own node.
_FOREIGN_KEYS = _names(
    """itemListElement relatedLink citation comment review isPartOf about mentions subjectOf workExample
    significantLink breadcrumb potentialAction publisher author creator sourceOrganization"""
)
_MAX_JSON_DEPTH = 12
_WORD_CHAR = re.compile(r"\w")
_INTERNAL_TAG = re.compile(r"^[@#]|^[\w-]+:\S+$")
_URL_LIKE = re.compile(r"^(?:https?:)?//|^www\.", re.I)
_BYLINE_PREFIX = re.compile(r"^(?:by|par|von|por|di|door)\s+", re.I)
# Conjunctions between names: English, German, French, Spanish (y), Portuguese and Italian (e),
# Catalan, Polish and Croatian (i), Dutch (en), Scandinavian (og, och), Finnish (ja), Russian (и),
# Turkish (ve), Chinese and Japanese (和, 與, 与, と, ・ between full names is left alone).
_AUTHOR_SPLIT = re.compile(
    r"\s*(?:;|\||&|\s(?:and|und|et|y|e|i|en|og|och|ja|и|ve)\s|、|和|與|与)\s*",
    re.I,
)
_EMAIL = re.compile(r"\S+@\S+\.\w+")
_HANDLE = re.compile(r"\(?@\w[\w.]*\)?")
_LETTER = re.compile(r"[^\W\d_]")
_LANGUAGE_NAMES = {
    name: code
    for code, names in (
        ("en", "english eng"),
        ("fr", "french français fra fre"),
        ("de", "german deutsch deu ger"),
        ("es", "spanish español spa"),
        ("pt", "portuguese português por"),
        ("it", "italian italiano ita"),
        ("nl", "dutch nld dut"),
        ("ru", "russian rus"),
        ("ja", "japanese jpn"),
        ("ko", "korean kor"),
        ("zh", "chinese zho chi"),
        ("ar", "arabic ara"),
    )
    for name in _names(names)
}


def _jsonld_documents(tree: HtmlElement) -> Iterator[Any]:
    for script in tree.iter("script"):
        kind = (script.get("type") or "").strip().lower()
        if kind != "application/ld+json" or not script.text:
            continue
        text = script.text.strip()
        # CMSs wrap the JSON in HTML comments or CDATA markers, or leave trailing commas.
        text = re.sub(r"^\s*(?://\s*)?(?:<!--|<!\[CDATA\[)|(?://\s*)?(?:-->|\]\]>)\s*$", "", text).strip()
        yield from _loads_lenient(text)


def _loads_lenient(text: str) -> Iterator[Any]:
    try:
        yield json.loads(text, strict=False)
        return
    except ValueError:
        pass
    repaired = re.sub(r",\s*([}\]])", r"\1", text)
    decoder = json.JSONDecoder(strict=False)
    position, found = 0, False
    while position < len(repaired):
        while position < len(repaired) and repaired[position] in " \t\r\n;,":
            position += 1
        if position >= len(repaired):
            break
        try:
            value, position = decoder.raw_decode(repaired, position)
        except ValueError:
            if not found:
                logger.debug("unparsable JSON-LD block (%d characters)", len(text))
            return
        found = True
        yield value


def _types(node: dict[str, Any]) -> list[str]:
    kind = node.get("@type")
    if isinstance(kind, str):
        return [kind.rsplit("/", 1)[-1].lower()]
    if isinstance(kind, list):
        return [k.rsplit("/", 1)[-1].lower() for k in kind if isinstance(k, str)]
    return []


def _walk(value: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Every JSON object in document order, skipping values that describe other documents."""
    if depth > _MAX_JSON_DEPTH:
        return
    if isinstance(value, list):
        for item in value:
            yield from _walk(item, depth + 1)
    elif isinstance(value, dict):
        yield value
        for key, child in value.items():
            if isinstance(child, (dict, list)) and key.lower() not in _FOREIGN_KEYS:
                yield from _walk(child, depth + 1)


def read_jsonld(tree: HtmlElement, url: str, meta: PageMetadata) -> None:
    """Add the candidates of the page's JSON-LD to ``meta`` (source ``"jsonld"``)."""
    nodes: list[dict[str, Any]] = []
    for document in _jsonld_documents(tree):
        nodes.extend(_walk(document))
    if not nodes:
        return
    meta.jsonld_types = frozenset(t for node in nodes for t in _types(node))
    articles = [n for n in nodes if ARTICLE_TYPES.intersection(_types(n))]
    pages = [n for n in nodes if PAGE_TYPES.intersection(_types(n))]
    meta.has_article_node = bool(articles)
    index = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str) and len(n) > 1}
    for node in _own_first(articles, url):
        title = text_value(node.get("headline")) or text_value(node.get("name"))
        if title:
            meta.titles.append((title, "jsonld"))
        body = node.get("articleBody") or node.get("text")
        if isinstance(body, str) and meta.article_body is None and body.strip():
            meta.article_body = body.strip()
        _read_access(node, meta)
        _read_jsonld_node(node, url, meta, index)
    for node in pages:  # a WebPage's own dates and description rank after the article's
        _read_jsonld_node(node, url, meta, index)
    if not articles:  # a VideoObject's upload date is the page date of a video page
        for node in nodes:
            if "videoobject" in _types(node):
                add_date(meta.published, node.get("uploadDate"), "jsonld")


def _read_jsonld_node(node: dict[str, Any], url: str, meta: PageMetadata, index: dict[str, Any]) -> None:
    """The fields any article or page node may carry; ``index`` resolves ``{"@id": ...}`` references."""
    for key in ("datePublished", "dateCreated"):
        add_date(meta.published, node.get(key), "jsonld")
    add_date(meta.modified, node.get("dateModified"), "jsonld")
    names = person_names(_resolve(node.get("author"), index)) or person_names(_resolve(node.get("creator"), index))
    if names:
        meta.authors.append((names, "jsonld"))
    description = text_value(node.get("description"))
    if description:
        meta.descriptions.append((description, "jsonld"))
    image = image_url(_resolve(node.get("image") or node.get("thumbnailUrl"), index))
    if image:
        meta.images.append((urljoin(url, image), "jsonld"))
    meta.tags.extend(keywords(node.get("keywords")))
    language = language_code(node.get("inLanguage"))
    if language:
        meta.languages.append((language, "jsonld"))
    publisher = _resolve(node.get("publisher"), index)
    if isinstance(publisher, dict):
        name = text_value(publisher.get("name"))
        if name:
            meta.sitenames.append(name)


def _resolve(value: Any, index: dict[str, Any]) -> Any:
    """Replace ``{"@id": ...}`` references (Yoast-style graphs) by the nodes they name."""
    if isinstance(value, list):
        return [_resolve(item, index) for item in value]
    if isinstance(value, dict) and set(value) == {"@id"} and isinstance(value["@id"], str):
        return index.get(value["@id"], value)
    return value


def _own_first(articles: list[dict[str, Any]], url: str) -> list[dict[str, Any]]:
    """Article nodes with the page's own URL first: listing pages carry teasers of other articles."""

    def is_own(node: dict[str, Any]) -> bool:
        for key in ("url", "@id", "mainEntityOfPage"):
            value = node.get(key)
            if isinstance(value, dict):
                value = value.get("@id") or value.get("url")
            if isinstance(value, str) and _same_page(value, url):
                return True
        return False

    own = [n for n in articles if is_own(n)]
    own_ids = {id(n) for n in own}
    return own + [n for n in articles if id(n) not in own_ids]


def _same_page(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return pa.path.rstrip("/") == pb.path.rstrip("/") and (not pa.netloc or pa.netloc == pb.netloc)


def _read_access(node: dict[str, Any], meta: PageMetadata) -> None:
    values = [node.get("isAccessibleForFree")]
    parts = node.get("hasPart")
    for part in parts if isinstance(parts, list) else [parts]:
        if isinstance(part, dict):
            values.append(part.get("isAccessibleForFree"))
    for value in values:
        flag = _boolean(value)
        if flag is False:
            meta.accessible_for_free = False
            return
        if flag is True and meta.accessible_for_free is None:
            meta.accessible_for_free = True


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no"):
        return value.strip().lower() in ("true", "yes")
    return None


def text_value(value: Any) -> str | None:
    """A clean string from a JSON-LD value: a string, the first string of a list, or a ``name``."""
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str)), None)
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value")
    if not isinstance(value, str):
        return None
    value = " ".join(_unescape(value).split())
    return value or None


def _unescape(value: str) -> str:
    """JSON-LD strings are not HTML-decoded by the parser, and often carry entities (``&#8211;``)."""
    return html.unescape(value) if "&" in value else value


def person_names(value: Any) -> tuple[str, ...]:
    """Author names from a string, a Person or Organization object, or a list of them.

    People are preferred: organizations count only when no person is named.
    """
    people: list[str] = []
    organizations: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            people.extend(split_authors(item))
        elif isinstance(item, dict):
            name = text_value(item.get("name"))
            if not name:
                continue
            target = organizations if "organization" in _types(item) else people
            target.extend(split_authors(name))
    return dedupe(people or organizations)


def image_url(value: Any) -> str | None:
    """An image URL from a string, an ``ImageObject`` or a list of either."""
    if isinstance(value, list):
        for item in value:
            found = image_url(item)
            if found:
                return found
        return None
    if isinstance(value, dict):
        value = value.get("url") or value.get("contentUrl")
    if isinstance(value, str) and value.strip() and not value.strip().startswith("data:"):
        return value.strip()
    return None


def keywords(value: Any) -> list[str]:
    """Tags from a comma-separated string or a list; CMS-internal markers (``@post-id:1``) dropped."""
    if isinstance(value, str):
        items = _unescape(value).split(",")
    elif isinstance(value, list):
        items = [_unescape(k) for k in value if isinstance(k, str)]
    else:
        return []
    tags = (" ".join(k.split()) for k in items)
    return [t for t in tags if _WORD_CHAR.search(t) and not _INTERNAL_TAG.match(t)]


def language_code(value: Any) -> str | None:
    """A two-letter lower-case language code from ``fr-FR``, ``en_US``, ``eng``, ``English``..."""
    if isinstance(value, dict):
        value = value.get("alternateName") or value.get("name")
    if not isinstance(value, str):
        return None
    value = value.strip().lower().replace("_", "-")
    if not value:
        return None
    if value in _LANGUAGE_NAMES:
        return _LANGUAGE_NAMES[value]
    code = value.split("-", 1)[0]
    if len(code) == 2 and code.isalpha():
        return code
    return _LANGUAGE_NAMES.get(code)


def add_date(target: list[DateCandidate], value: Any, source: str) -> None:
    """Append ``value`` to ``target`` as a date candidate of ``source`` when it parses."""
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str)), None)
    if not isinstance(value, str):
        return
    found = candidate(value, source)
    if found:
        target.append(found)


def split_authors(value: str) -> list[str]:
    """Split a byline such as ``By Ann Lee and Bo Chen`` into names.

    URLs, e-mail addresses and values without a letter (numeric ids) are dropped; a handle
    (``@annlee``) next to a name is stripped from it.
    """
    value = " ".join(_HANDLE.sub(" ", _EMAIL.sub(" ", value)).split())
    value = _BYLINE_PREFIX.sub("", value)
    if not value or _URL_LIKE.match(value):
        return []
    parts = [p.strip(" ,.") for p in _AUTHOR_SPLIT.split(value)]
    names: list[str] = []
    for part in parts:
        # "Lee, Ann" is one name; "Ann Lee, Bo Chen" is two.
        pieces = [p.strip() for p in part.split(",")]
        if len(pieces) > 1 and all(len(p.split()) >= 2 for p in pieces):
            names.extend(pieces)
        elif part:
            names.append(part)
    return [
        n
        for n in (name.strip(" ,.:-") for name in names)
        if n and _LETTER.search(n) and not _URL_LIKE.match(n) and not n.startswith("@") and len(n) <= 100
    ]


def dedupe(values: list[str]) -> tuple[str, ...]:
    """Values without case-insensitive repeats, first spelling and order kept."""
    seen: set[str] = set()
    kept: list[str] = []
    for value in values:
        folded = value.casefold()
        if folded not in seen:
            seen.add(folded)
            kept.append(value)
    return tuple(kept)
