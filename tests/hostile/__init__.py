"""The hostile web: outlets that are slow, broken, malicious or merely rude, for newsmon to survive.

``server.HostileWeb`` serves them from a thread on loopback addresses of their own
(127.0.0.30 and up; the newsroom fixture uses 127.0.0.2 and up); ``outlets.CASES`` lists each
outlet with the behaviour newsmon must show in one poll, ``outlets.POLL_CASES`` (127.0.0.80 and
up) those whose case spans two polls, and ``run`` writes configurations and runs
``newsmon`` the way users do (a subprocess), so every case goes through the real code path::

    with HostileWeb(build_outlets()) as web:
        config = write_config(tmp_path, [source_of(web.outlet("drip"))], redis_url, prefix)
        result = crawl(config)          # the parsed ``newsmon crawl --json`` output
        web.requests("drip")            # [Hit(outlet, method, path, headers, started, ended, ...)]
"""

from tests.hostile.outlets import CASES, build_outlets, source_of
from tests.hostile.run import CrawlResult, crawl, newsmon, write_config
from tests.hostile.server import Hit, HostileWeb, Outlet

__all__ = ["CASES", "CrawlResult", "Hit", "HostileWeb", "Outlet", "build_outlets", "crawl", "newsmon",
           "source_of", "write_config"]
