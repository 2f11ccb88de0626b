"""Compatibility facade for :mod:`newsmon.crawler.extraction`, where extraction now lives.

``from newsmon.crawler.extract import extract, Article, NotAnArticle`` keeps working for code
outside this repository; code inside it imports from :mod:`newsmon.crawler.extraction`.
"""

from __future__ import annotations

from newsmon.crawler.extraction import Article, NotAnArticle, decode_html, extract, parse_html

__all__ = ["Article", "NotAnArticle", "decode_html", "extract", "parse_html"]
