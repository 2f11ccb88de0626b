"""newsmon: a news-monitoring crawler.

The code lives in three parts, each a subpackage: ``newsmon.settings`` (configuration model
and validation), ``newsmon.crawler`` (everything that runs inside Scrapy) and
``newsmon.scheduler`` (the daemon, Redis store, feed and CLI).
"""

from __future__ import annotations

__version__ = "0.1.0"
SCHEMA_VERSION = 1
