"""docs/configuration.md's error example is what ``newsmon config check`` really prints."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.helpers import COMMAND_TIMEOUT, child_env, newsmon_cmd

ROOT = Path(__file__).resolve().parents[1]

#: A file with the mistakes of the documented example, on the lines the example names.
BAD_CONFIG = """\
sources:
  - name: a
    feeds: [https://a.example/feed]
  - name: b
    feeds: [https://b.example/feed]
  - name: rt
    feeds: [https://rt.example/feed]
  - name: c
    interval: often
    intervall: 5m
    feeds: [https://c.example/feed]
  - name: rt
    feeds: [https://rt2.example/feed]
    allow: ["(world"]
"""


def _documented_session() -> tuple[str, list[str]]:
    """The command and the output lines of the example under "## Errors"."""
    section = (ROOT / "docs" / "configuration.md").read_text("utf-8").split("## Errors", 1)[1]
    block = re.search(r"```\n(.*?)```", section, flags=re.DOTALL)
    assert block is not None, "no example block under ## Errors"
    command, *output = block.group(1).splitlines()
    return command, output


def test_documented_error_example_is_what_config_check_prints(tmp_path: Path) -> None:
    """Running the documented command on a file with those mistakes prints exactly the
    documented lines (file:line: field: message, each after "newsmon: "), exit status 2."""
    command, expected = _documented_session()
    assert command == "$ newsmon config check newsmon.yaml"
    (tmp_path / "newsmon.yaml").write_text(BAD_CONFIG, "utf-8")
    result = subprocess.run(newsmon_cmd("config", "check", "newsmon.yaml"), cwd=tmp_path,
                            env=child_env(REDIS_URL="http://cache:6379"), capture_output=True,
                            text=True, timeout=COMMAND_TIMEOUT, check=False)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == expected


def test_error_format_sentence_matches_the_lines() -> None:
    """The format the prose states is the format of every documented line."""
    section = (ROOT / "docs" / "configuration.md").read_text("utf-8").split("## Errors", 1)[1]
    assert "`newsmon: FILE:LINE: field.path: message`" in section
    _, lines = _documented_session()
    pattern = re.compile(r"^newsmon: (newsmon\.yaml:\d+|environment): [a-zA-Z_.\[\]0-9]+: .+$")
    assert [line for line in lines if not pattern.match(line)] == []
