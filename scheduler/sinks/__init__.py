"""Sinks: destinations the feed is copied to, each through a consumer group of its own.

:func:`build_sinks` makes them from the ``sinks:`` section of the configuration, and
:class:`SinkRunner` feeds them. To add a kind of sink, subclass :class:`Sink`.
"""

from __future__ import annotations

from newsmon.scheduler.sinks.base import Sink, SinkError
from newsmon.scheduler.sinks.jsonl import JsonlFileSink
from newsmon.scheduler.sinks.runner import Backoff, SinkRunner
from newsmon.scheduler.sinks.stdout import StdoutSink
from newsmon.scheduler.sinks.webhook import WebhookPoster
from newsmon.settings.model import Config

__all__ = ["Backoff", "JsonlFileSink", "Sink", "SinkError", "SinkRunner", "StdoutSink",
           "WebhookPoster", "build_sinks"]


def build_sinks(config: Config) -> list[Sink]:
    """The sinks ``config.sinks`` enables: JSON Lines files, stdout, then each webhook.

    Raises:
        ValueError: a webhook name is invalid or used twice, or its URL is not http(s).
    """
    sinks: list[Sink] = []
    if config.sinks.jsonl.enabled:
        sinks.append(JsonlFileSink(config.sinks.jsonl.directory or config.data_dir / "feed"))
    if config.sinks.stdout:
        sinks.append(StdoutSink())
    seen: set[str] = set()
    for index, hook in enumerate(config.sinks.webhooks):
        if hook.name in seen:
            raise ValueError(f'sinks.webhooks[{index}].name: "{hook.name}" is used twice')
        seen.add(hook.name)
        try:
            sinks.append(WebhookPoster(hook))
        except ValueError as exc:
            raise ValueError(f"sinks.webhooks[{index}]: {exc}") from None
    return sinks
