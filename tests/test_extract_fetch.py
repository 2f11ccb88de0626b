"""``newsmon extract URL`` fetches behind the crawl's address guard: every redirect hop and the
DNS answer it connects to are checked, as in a crawl."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import COMMAND_TIMEOUT, child_env
from tests.hostile import HostileWeb, Outlet, build_outlets, newsmon, write_config

#: A config needs a source; extract does not poll it.
SOURCES = [{"name": "unused", "feeds": ["https://unused.example/feed"]}]


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.fixture(scope="module")
def web() -> HostileWeb:
    outlets = [o for o in build_outlets() if o.name in {"healthy", "redirect-private"}]
    with HostileWeb(outlets) as hostile:
        yield hostile


def test_extract_fetches_an_allowed_url(web: HostileWeb, tmp_path: Path) -> None:
    """A page on an allowed network is fetched and extracted; exit 0."""
    config = write_config(tmp_path, SOURCES, "redis://127.0.0.1:1/0", "unused")
    done = newsmon(config, "extract", web.outlet("healthy").url("/a/1"), "--compact")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["url"] == web.outlet("healthy").url("/a/1")


@pytest.mark.parametrize("path", ["/feed.xml", "/feed2.xml", "/feed3.xml"])
def test_extract_refuses_a_redirect_to_a_private_address(web: HostileWeb, tmp_path: Path, path: str) -> None:
    """A redirect to cloud metadata, a private network or an IPv4-mapped private address is
    refused before it is followed: one line, exit 2."""
    config = write_config(tmp_path, SOURCES, "redis://127.0.0.1:1/0", "unused")
    done = newsmon(config, "extract", web.outlet("redirect-private").url(path))
    assert len(web.requests("redirect-private", path)) == 1  # the allowed first hop was asked for
    assert done.returncode == 2
    assert "non-public address" in _one_line(done.stderr)


#: ``newsmon ARGS...`` whose guard check is told a public address: the DNS answer it then
#: connects with is loopback (DNS rebinding).
_REBIND = """
import sys
import newsmon.crawler.middlewares.guard as guard
guard._resolve = lambda host: ("93.184.216.34",)
from newsmon.scheduler.cli import main
sys.argv = ["newsmon", *sys.argv[1:]]
main()
"""


def test_extract_refuses_a_dns_answer_that_rebinds_to_loopback(tmp_path: Path) -> None:
    """A host that passes the URL check but resolves to loopback when connecting is never contacted."""
    healthy = next(o for o in build_outlets() if o.name == "healthy")
    target = Outlet("rebind", "127.0.0.1", routes=healthy.routes)
    with HostileWeb([target]) as rebind:
        config = write_config(tmp_path, SOURCES, "redis://127.0.0.1:1/0", "unused", allowed_networks=[])
        done = subprocess.run([sys.executable, "-c", _REBIND, "--config", str(config), "extract",
                               f"http://localhost:{target.port}/a/1"],
                              capture_output=True, text=True, timeout=COMMAND_TIMEOUT, env=child_env(), check=False)
        assert rebind.requests() == []
    assert done.returncode == 2
    assert "resolved to a non-public address" in _one_line(done.stderr)
