"""Discovery: turn a feed, a sitemap or a section page into article links, without Scrapy.

Every parser here is a pure function of a body and its URL, hardened for hostile input (see
:mod:`newsmon.crawler.discovery.xml`). They return :class:`~newsmon.crawler.items.Discovery`
or :class:`~newsmon.crawler.items.Entry` values and raise
:class:`~newsmon.crawler.items.DiscoveryError` for a body that is not what was asked for.
"""

from __future__ import annotations

from newsmon.crawler.discovery.feeds import parse_feed
from newsmon.crawler.discovery.pages import find_article_links, find_feed_links
from newsmon.crawler.discovery.sitemaps import parse_sitemap, robots_sitemaps

__all__ = ["find_article_links", "find_feed_links", "parse_feed", "parse_sitemap", "robots_sitemaps"]
