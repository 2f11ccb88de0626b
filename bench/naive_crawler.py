#!/usr/bin/env python3
"""The naive baseline of bench/speed.py: Scrapy + trafilatura in ~60 lines, nothing else.

    python bench/naive_crawler.py FEED_URL... > pages.jsonl

Reads RSS feeds, fetches every item's link, and runs ``trafilatura.extract`` on each page in
the reactor thread. No dedup, no politeness beyond Scrapy's defaults, no Redis, no topic.
Prints one JSON line per page (url, text) and the count on stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import scrapy
import trafilatura
from scrapy.crawler import CrawlerProcess


class NaiveSpider(scrapy.Spider):
    name = "naive"
    count = 0

    def __init__(self, feeds: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.feeds = feeds

    async def start(self) -> Any:
        for url in self.feeds:
            yield scrapy.Request(url, callback=self.parse_feed)

    def parse_feed(self, response: scrapy.http.Response) -> Iterator[scrapy.Request]:
        for link in response.xpath("//item/link/text()").getall():
            yield scrapy.Request(link.strip(), callback=self.parse_article)

    def parse_article(self, response: scrapy.http.Response) -> Iterator[dict[str, Any]]:
        text = trafilatura.extract(response.text, url=response.url)
        NaiveSpider.count += 1
        sys.stdout.write(json.dumps({"url": response.url, "text": text}) + "\n")
        yield from ()


def main() -> int:
    process = CrawlerProcess({
        "LOG_LEVEL": "WARNING",
        "ROBOTSTXT_OBEY": False,
        "DOWNLOAD_DELAY": 0,
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
        "TELNETCONSOLE_ENABLED": False,
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    })
    process.crawl(NaiveSpider, feeds=sys.argv[1:])
    process.start()
    print(f"naive crawler: {NaiveSpider.count} pages", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
