"""Scrapy's log lines for items, without the items: a record holds a whole page.

Scrapy's default formatter prints the item with every scraped, dropped and failed item. Here
an item is a page or a record, so that would put article bodies and HTML in the log (33 MB of
stderr for 181 pages when every off-topic drop was a WARNING). Drops are expected outcomes:
they are counted on the source (``off_topic``, ``rejected``...) and logged at DEBUG with the
one-line reason the pipeline gave, which names the source and the URL.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Spider
from scrapy.http import Response
from scrapy.logformatter import LogFormatter, LogFormatterResult
from twisted.python.failure import Failure


class QuietLogFormatter(LogFormatter):
    """Item log lines that name the item's page, never its content."""

    def scraped(self, item: Any, response: Response | Failure | None, spider: Spider) -> LogFormatterResult:
        return {"level": logging.DEBUG, "msg": "Scraped from %(src)s", "args": {"src": _source(response)}}

    def dropped(self, item: Any, exception: BaseException, response: Response | Failure | None,
                spider: Spider) -> LogFormatterResult:
        return {"level": logging.DEBUG, "msg": "Dropped: %(exception)s", "args": {"exception": exception}}

    def item_error(self, item: Any, exception: BaseException, response: Response | Failure | None,
                   spider: Spider) -> LogFormatterResult:
        return {"level": logging.ERROR, "msg": "Error processing an item from %(src)s",
                "args": {"src": _source(response)}}


def _source(response: Response | Failure | None) -> str:
    if isinstance(response, Response):
        return f"<{response.status} {response.url}>"
    return "the spider"
