"""Per-source selectors: CSS or XPath expressions that override generic extraction.

A source's configuration may name the body, title, authors or date elements of its pages
(:class:`~newsmon.settings.model.SelectorOverrides`); these helpers find those elements and
read their visible text.
"""

from __future__ import annotations

import logging
import re

from lxml import etree
from lxml.html import HtmlElement

logger = logging.getLogger(__name__)

_SKIP_IN_SELECTION = ("script", "style", "noscript", "template", "button", "select", "form", "svg")
_BLOCK_TAGS = frozenset(
    re.split(
        r"\s+",
        "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 header hr "
        "li main nav ol p pre section table td th tr ul",
    )
)


def select(tree: HtmlElement, selector: str) -> list[HtmlElement]:
    """Elements matching a CSS selector, or an XPath expression when it starts with ``/`` or ``(``."""
    try:
        found = tree.xpath(selector) if selector.lstrip().startswith(("/", "(")) else tree.cssselect(selector)
    except (etree.XPathError, ValueError, SyntaxError) as error:
        logger.warning("selector %r is invalid: %s", selector, error)
        return []
    return [e for e in found if isinstance(e, HtmlElement)]


def selected_text(elements: list[HtmlElement]) -> str:
    """Visible text of elements, one line per block element."""
    parts: list[str] = []

    def walk(element: HtmlElement) -> None:
        if not isinstance(element.tag, str) or element.tag in _SKIP_IN_SELECTION:
            return
        block = element.tag in _BLOCK_TAGS
        if block:
            parts.append("\n")
        if element.text:
            parts.append(element.text)
        for child in element:
            walk(child)
            if child.tail:
                parts.append(child.tail)
        if block:
            parts.append("\n")

    for element in elements:
        walk(element)
        parts.append("\n")
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)
