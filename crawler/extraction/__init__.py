"""Article extraction: the one trafilatura adapter, its metadata readers and cleanup rules."""

from __future__ import annotations

from newsmon.crawler.extraction.article import Article, NotAnArticle, decode_html, extract, parse_html

__all__ = ["Article", "NotAnArticle", "decode_html", "extract", "parse_html"]
