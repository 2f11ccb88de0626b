"""docs/metrics.md, the Prometheus rules and the Grafana dashboard name only metrics newsmon exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import redis
import yaml

from newsmon.scheduler.keys import Keys
from newsmon.scheduler.metrics import RedisCollector
from newsmon.settings.model import Config, Source

DOCS = Path(__file__).resolve().parents[1] / "docs"
NAME = re.compile(r"\bnewsmon_[a-z_]+")


def _exported(client: redis.Redis, keys: Keys) -> set[str]:
    config = Config(sources=(Source(name="a", feeds=("https://a.example/feed",)),))
    names = set()
    for family in RedisCollector(config, client, keys).collect():
        names.add(family.name + ("_total" if family.type == "counter" else ""))
    return names


def test_every_exported_metric_is_documented_and_every_documented_one_exported(
    redis_client: redis.Redis, keys: Keys
) -> None:
    """The metric tables of docs/metrics.md list exactly the metrics the collector exports."""
    documented = {m.split("{")[0] for m in re.findall(r"^\| `(newsmon_[a-z_]+)", (DOCS / "metrics.md").read_text(),
                                                      flags=re.MULTILINE)}
    assert documented == _exported(redis_client, keys)


def test_alert_rules_and_dashboard_use_exported_metrics(redis_client: redis.Redis, keys: Keys) -> None:
    """Every expression of the Prometheus rules and of the dashboard's panels names exported metrics."""
    exported = _exported(redis_client, keys)
    rules = yaml.safe_load((DOCS / "prometheus-alerts.yml").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    assert all(set(rule) >= {"alert", "expr", "labels", "annotations"} for g in rules["groups"] for rule in g["rules"])
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    exprs += [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = {name for expr in exprs for name in NAME.findall(expr)}
    assert used
    assert used <= exported, used - exported
