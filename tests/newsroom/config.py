"""A newsmon configuration that polls the room: every outlet a source, private addresses allowed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from tests.newsroom.model import Outlet
from tests.newsroom.topic import TOPIC

__all__ = ["config_dict", "config_yaml"]

# Section links on Le Quotidien's /monde/ page that are articles (the alias /amp/ URL included).
ARTICLE_PATTERN = r"/\d{4}/\d{2}/\d{2}/[^/]+\.html$"


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def config_dict(
    outlets: Sequence[Outlet], *, interval: str = "2s", topic: bool = False,
    only: Sequence[str] | None = None, **extra: Any,
) -> dict[str, Any]:
    """The configuration as a mapping; ``extra`` is merged in recursively (mappings merge, others replace)."""
    sources = []
    for outlet in outlets:
        if only is not None and outlet.name not in only:
            continue
        source: dict[str, Any] = {"name": outlet.name, "language": outlet.language, "interval": interval,
                                  "home": outlet.home}
        for key in ("feeds", "sitemaps", "pages"):
            if getattr(outlet, key):
                source[key] = list(getattr(outlet, key))
        if outlet.pages:
            source["allow"] = [ARTICLE_PATTERN]
        sources.append(source)
    # delay 0s: the room is local and tests should not wait between requests; extra may override it.
    config: dict[str, Any] = {"fetch": {"allow_private_addresses": True, "delay": "0s"}, "sources": sources}
    if topic:
        config["topic"] = {"name": TOPIC["name"], "all": {k: list(v) for k, v in TOPIC["all"].items()}}
    return _merge(config, extra)


def config_yaml(outlets: Sequence[Outlet], **options: Any) -> str:
    """The configuration as YAML text; see :func:`config_dict` for the options."""
    return yaml.safe_dump(config_dict(outlets, **options), sort_keys=False, allow_unicode=True)
