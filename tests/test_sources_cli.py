"""`newsmon sources add|check|import|export` against the fixture newsroom, and the
comment-keeping edit of the configuration file they rely on."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsmon.settings.edit import EditError, append_sources
from newsmon.settings.loader import load_config
from tests.helpers import run_newsmon
from tests.newsroom import Newsroom

COMMENTED = """\
# my settings: keep this comment
data_dir: var
sources:
  # the wire, first
  - name: a   # inline comment
    feeds: [https://a.example/rss]
    # interval: 1m  (commented out, stays with a)

# --- the topic ---
log_level: INFO
"""


@pytest.fixture
def room() -> Newsroom:
    with Newsroom() as newsroom:
        yield newsroom


def _config(tmp_path: Path, room: Newsroom) -> Path:
    path = tmp_path / "newsmon.yaml"
    text = room.config_yaml(only=["wire-en"], redis={"prefix": "sources-test"}, data_dir=str(tmp_path / "var"))
    path.write_text("# keep me\n" + text + "# and me, at the end\n")
    return path


def _outlet(room: Newsroom, name: str) -> object:
    return next(o for o in room.outlets if o.name == name)


def test_append_keeps_every_comment_and_inserts_after_the_last_item() -> None:
    """The new entry lands after the last source (and its indented comment), before the comments of
    the next section; every original line is kept, in order."""
    text = append_sources(COMMENTED, [{"name": "b", "feeds": ["https://b.example/rss"]}])
    lines = text.splitlines()
    original = COMMENTED.splitlines()
    assert [line for line in lines if line in original] == original
    assert lines.index("  - name: b") == original.index("    # interval: 1m  (commented out, stays with a)") + 1
    assert lines.index("  - name: b") < lines.index("# --- the topic ---")


def test_append_to_a_missing_or_empty_list_and_refuse_a_flow_list() -> None:
    """No `sources` key: one is added; `sources: []` becomes a block list; a non-empty flow list is refused."""
    assert "sources:\n- name: b\n" in append_sources("log_level: INFO\n", [{"name": "b"}])
    assert append_sources("sources: []\n", [{"name": "b"}]).startswith("sources:\n- name: b\n")
    with pytest.raises(EditError):
        append_sources("sources: [{name: a}]\n", [{"name": "b"}])


def test_sources_add_home_page_appends_checked_feeds_and_sitemaps_keeping_comments(
    room: Newsroom, tmp_path: Path
) -> None:
    """`sources add <home page>` finds the outlet's feed (autodiscovery) and its robots.txt sitemap,
    reads each once, and appends one valid entry; the file's comments stay."""
    path = _config(tmp_path, room)
    before = path.read_text()
    gazette = _outlet(room, "gazette-en")
    home = gazette.url("/")  # type: ignore[attr-defined]
    result = run_newsmon("--config", str(path), "sources", "add", home, "--name", "gazette", "--interval", "10m")
    assert result.returncode == 0, result.stderr
    after = path.read_text()
    assert after.startswith(before.rsplit("redis:", 1)[0].rstrip("\n"))
    assert "# keep me" in after
    assert "# and me, at the end" in after
    source = load_config(path, env={}).source("gazette")
    assert source.home == home
    assert source.feeds
    assert source.sitemaps
    assert source.language == "en"
    assert "feed " in result.stdout
    again = run_newsmon("--config", str(path), "sources", "add", home, "--name", "gazette-2")
    assert again.returncode == 2
    assert "already configured" in again.stderr


def test_sources_add_a_feed_url_and_refuse_a_missing_page(room: Newsroom, tmp_path: Path) -> None:
    """A feed URL is taken as it is (no home, no sitemap); a URL that cannot be fetched exits 2
    and leaves the file as it was."""
    path = _config(tmp_path, room)
    journal = _outlet(room, "journal-fr")
    rdf = journal.url("/rdf.xml")  # type: ignore[attr-defined]
    result = run_newsmon("--config", str(path), "sources", "add", rdf)
    assert result.returncode == 0, result.stderr
    added = load_config(path, env={}).sources[-1]
    assert added.feeds == (rdf,)
    assert added.home is None
    before = path.read_text()
    missing = run_newsmon("--config", str(path), "sources", "add", journal.url("/no-such-page.html"))  # type: ignore[attr-defined]
    assert missing.returncode == 2
    assert path.read_text() == before


def test_sources_check_lists_what_a_poll_would_fetch_and_writes_nothing(room: Newsroom, tmp_path: Path) -> None:
    """`sources check NAME` reads the feeds and sitemaps once, lists the articles, exits 0, and
    neither edits the file nor starts Redis (no data directory appears)."""
    path = _config(tmp_path, room)
    before = path.read_text()
    result = run_newsmon("--config", str(path), "sources", "check", "wire-en")
    assert result.returncode == 0, result.stderr
    wire = [a for a in room.articles if a.outlet == "wire-en"]
    assert sum(1 for a in wire if a.url in result.stdout or a.canonical_url in result.stdout) >= len(wire) // 2
    assert path.read_text() == before
    assert not (tmp_path / "var").exists()
    unknown = run_newsmon("--config", str(path), "sources", "check", "nope")
    assert unknown.returncode == 2


def test_opml_export_then_import_round_trips_the_feeds(room: Newsroom, tmp_path: Path) -> None:
    """`sources export` of one config imported into another (one disabled source) gives the same feed
    URLs and homes; importing again skips what is already configured."""
    room_config = tmp_path / "room.yaml"
    room_config.write_text(room.config_yaml(redis={"prefix": "opml"}, data_dir=str(tmp_path / "var")))
    exported = run_newsmon("--config", str(room_config), "sources", "export", "-o", str(tmp_path / "out.opml"))
    assert exported.returncode == 0, exported.stderr
    target = tmp_path / "target.yaml"
    target.write_text("# imported below\nfetch:\n  allow_private_addresses: true\nsources:\n"
                      "- name: local\n  feeds: [http://127.0.0.1:9/rss]\n  enabled: false\n")
    imported = run_newsmon("--config", str(target), "sources", "import", str(tmp_path / "out.opml"))
    assert imported.returncode == 0, imported.stderr
    original = load_config(room_config, env={})
    result = load_config(target, env={})
    assert [s.feeds[0] for s in result.sources[1:]] == [(s.feeds or s.sitemaps)[0] for s in original.sources]
    assert [s.home for s in result.sources[1:]] == [s.home for s in original.sources]
    assert target.read_text().startswith("# imported below\n")
    again = run_newsmon("--config", str(target), "sources", "import", str(tmp_path / "out.opml"))
    assert again.returncode == 0
    assert "nothing to import" in again.stdout


def test_opml_reader_flattens_folders_and_resolves_no_entity(tmp_path: Path) -> None:
    """Outlines in folders are read, each feed once; a file using an external entity is refused, unread."""
    from newsmon.scheduler.opml import OpmlError, read_opml

    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = f"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY x SYSTEM "file://{secret}">]>
<opml version="2.0"><body>
  <outline text="News"><outline text="A &x;" xmlUrl="https://a.example/rss" htmlUrl="https://a.example/"/></outline>
  <outline text="again" xmlUrl="https://a.example/rss"/>
  <outline text="B" xmlUrl="https://b.example/feed" language="fr-FR"/>
</body></opml>""".encode()
    with pytest.raises(OpmlError, match="external entity") as refused:
        read_opml(data)
    assert "TOP-SECRET" not in str(refused.value)
    outlines = read_opml(data.replace(b" &x;", b""))
    assert [o.feed for o in outlines] == ["https://a.example/rss", "https://b.example/feed"]
    assert outlines[0].home == "https://a.example/"
    with pytest.raises(OpmlError):
        read_opml(b"<html/>")
