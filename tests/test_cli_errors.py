"""User mistakes get one clear line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import child_env, run_newsmon


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_missing_config_file(tmp_path: Path) -> None:
    """A config path that does not exist is named in one line; exit 2."""
    missing = tmp_path / "nope.yaml"
    result = run_newsmon("--config", str(missing), "crawl")
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert str(missing) in line
    assert "no such file" in line


def test_invalid_config_names_file_line_and_field(tmp_path: Path) -> None:
    """An invalid value is reported as file:line: field: message; exit 2."""
    config = tmp_path / "bad.yaml"
    config.write_text("sources:\n  - name: wire\n    interval: often\n    feeds: [http://127.0.0.2/rss.xml]\n")
    result = run_newsmon("--config", str(config), "crawl")
    assert result.returncode == 2
    assert _one_line(result.stderr) == (
        f'newsmon: {config}:3: sources[0].interval: expected a duration like "5m", got "often"'
    )


def test_config_check_reports_every_problem(tmp_path: Path) -> None:
    """config check lists every problem, one per line, and exits 2."""
    config = tmp_path / "bad.yaml"
    config.write_text("sources:\n  - name: Bad Name\n    feeds: [ftp://x]\n    colour: red\n")
    result = run_newsmon("config", "check", str(config))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3, result.stderr
    assert all(line.startswith(f"newsmon: {config}:") for line in lines)


def test_config_check_accepts_the_packaged_example() -> None:
    """The packaged example configuration is valid."""
    result = run_newsmon("config", "check")
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_unknown_source_name(tmp_path: Path) -> None:
    """crawl --source with an unknown name says so, with a suggestion; exit 2."""
    result = run_newsmon("crawl", "--source", "reuters-worldd", env=child_env(REDIS_URL="redis://127.0.0.1:1/0"))
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert "unknown source 'reuters-worldd'" in line


def test_unreachable_redis_fails_fast(tmp_path: Path) -> None:
    """A Redis URL nobody answers on fails with one line naming the URL (password hidden); exit 2.
    The subprocess timeout only catches a hang: a test does not time the wall clock."""
    config = tmp_path / "newsmon.yaml"
    config.write_text(
        "redis:\n  url: redis://:s3cret@127.0.0.1:1/0\n"
        "sources:\n  - name: wire\n    feeds: [http://127.0.0.2/rss.xml]\n"
    )
    result = run_newsmon("--config", str(config), "crawl", timeout=60)
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert "cannot reach Redis at redis://:***@127.0.0.1:1/0" in line
    assert "s3cret" not in result.stderr


def test_extract_unreadable_file(tmp_path: Path) -> None:
    """extract on a missing file names it; exit 2."""
    result = run_newsmon("extract", str(tmp_path / "missing.html"))
    assert result.returncode == 2
    assert "missing.html" in _one_line(result.stderr)


def test_extract_refuses_private_addresses_by_default() -> None:
    """extract of a loopback URL is refused unless private addresses are allowed; exit 2."""
    result = run_newsmon("extract", "http://127.0.0.1:9/a.html")
    assert result.returncode == 2
    assert "non-public address" in _one_line(result.stderr)


def test_run_with_zero_workers_is_a_usage_error() -> None:
    """run --workers 0 is refused in one line (it used to start one worker per CPU); exit 2."""
    result = run_newsmon("run", "--workers", "0")
    assert result.returncode == 2
    assert _one_line(result.stderr) == "newsmon: --workers: expected 1 or more, got 0"
