"""The ``metrics:``, ``alerts:`` and ``log_format`` settings: read, defaulted and checked."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from newsmon.settings.loader import ConfigError, load_config

SOURCE = "sources: [{name: a, feeds: ['https://a.example/feed']}]\n"


def _load(tmp_path: Path, text: str, env: dict[str, str] | None = None):
    path = tmp_path / "newsmon.yaml"
    path.write_text(SOURCE + text)
    return load_config(path, env=env or {})


def test_defaults_serve_no_metrics_and_check_alerts_every_minute(tmp_path: Path) -> None:
    """Without the sections there is no metrics server, alerts are on, logs are text."""
    config = _load(tmp_path, "")
    assert config.metrics.listen is None
    assert config.alerts.enabled
    assert config.alerts.check_every == timedelta(minutes=1)
    assert config.alerts.webhooks == ()
    assert config.log_format == "text"


def test_sections_are_read(tmp_path: Path) -> None:
    """``metrics.listen``, the alert thresholds, their webhooks and ``log_format`` are read."""
    config = _load(tmp_path, """\
metrics: {listen: "127.0.0.1:9108"}
alerts:
  failed_polls: 5
  silence_factor: 6
  min_silence: 3h
  rejected_ratio: 0.9
  webhooks: [{name: ops, url: "https://hooks.example/x?token=s3cret"}]
log_format: JSON
""")
    assert config.metrics.listen == "127.0.0.1:9108"
    assert (config.alerts.failed_polls, config.alerts.silence_factor) == (5, 6.0)
    assert config.alerts.min_silence == timedelta(hours=3)
    assert config.alerts.webhooks[0].name == "ops"
    assert config.log_format == "json"


@pytest.mark.parametrize(("text", "expected"), [
    ('metrics: {listen: "9108"}', 'metrics.listen: expected host:port like "127.0.0.1:9108", got "9108"'),
    ("alerts: {rejected_ratio: 2}", "alerts.rejected_ratio: expected a number above 0 and at most 1, got 2.0"),
    ("alerts: {failed_polls: 0}", "alerts.failed_polls: expected at least 1, got 0"),
    ("log_format: xml", 'log_format: expected one of text, json, got "xml"'),
])
def test_bad_values_name_the_field_and_what_is_accepted(tmp_path: Path, text: str, expected: str) -> None:
    """Each bad value is reported with its field path and the accepted values."""
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text + "\n")
    assert expected in str(caught.value)


def test_log_format_from_the_environment(tmp_path: Path) -> None:
    """``NEWSMON_LOG_FORMAT`` overrides the file, and a bad one names the variable."""
    assert _load(tmp_path, "log_format: text\n", env={"NEWSMON_LOG_FORMAT": "json"}).log_format == "json"
    with pytest.raises(ConfigError, match="NEWSMON_LOG_FORMAT: expected one of text, json"):
        _load(tmp_path, "", env={"NEWSMON_LOG_FORMAT": "yaml"})
