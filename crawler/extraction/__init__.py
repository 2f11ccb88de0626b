"""Article extraction: the one trafilatura adapter, its metadata readers and cleanup rules.

:func:`extract` turns a fetched page into an :class:`Article` or raises :class:`NotAnArticle`.
The modules, in the order a page meets them:

* :mod:`.decoding`: charset detection and the one parse into an lxml tree;
* :mod:`.metadata` and :mod:`.jsonld`: the structured metadata readers;
* :mod:`.adapter`: the only module that imports trafilatura and htmldate;
* :mod:`.body`: cleanup rules applied to trafilatura's body tree;
* :mod:`.pagetype`: index, video, gallery and error pages, and paywalls;
* :mod:`.selectors`: per-source CSS/XPath overrides;
* :mod:`.fields` and :mod:`.dates`: one value per field, and the publication date rules;
* :mod:`.language`: the article's language;
* :mod:`.article`: :func:`extract`, which runs them in that order.
"""

from __future__ import annotations

from newsmon.crawler.extraction.article import Article, NotAnArticle, extract
from newsmon.crawler.extraction.decoding import decode_html, parse_html

__all__ = ["Article", "NotAnArticle", "decode_html", "extract", "parse_html"]
