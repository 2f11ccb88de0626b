"""Reloading the configuration of a running daemon (SIGHUP, ``newsmon reload``).

A reload reads the file again through the same chain as the start (file, environment, flags),
validates it, and either applies it or keeps the running configuration. What it changes:

- sources added, removed, disabled or changed: their APScheduler jobs (``poll:<source>``) are
  added, removed or replaced (:meth:`~newsmon.scheduler.daemon.Scheduler.apply`);
- topic, fetch (politeness), extraction, dedup: the workers read them again between two crawls
  (the supervisor forwards the SIGHUP; a crawl in flight finishes with the settings it began
  with);
- sinks and feed: the sink runner is restarted with the new sinks.

What it cannot change without a restart, because connections, locks and files were opened with
them: ``redis.*`` and ``data_dir``. A reload that changes them keeps the running values and says
so; :data:`RESTART_ONLY` lists them.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass

from newsmon.settings.loader import ConfigError
from newsmon.settings.model import Config

logger = logging.getLogger(__name__)

#: Fields a running process keeps until it restarts (its Redis connection and data directory).
RESTART_ONLY = ("redis", "data_dir")

#: The top-level sections compared to say what a reload changed.
_SECTIONS = ("topic", "fetch", "extraction", "dedup", "feed", "sinks", "scheduler", "log_level")


@dataclass(frozen=True)
class Changes:
    """What a new configuration changes relative to the running one."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()  # removed, or disabled
    changed: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()  # top-level sections that differ (topic, sinks, ...)
    kept: tuple[str, ...] = ()  # restart-only fields whose new values were not applied

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.sections)

    def describe(self) -> str:
        parts = []
        for label, names in (("added", self.added), ("removed", self.removed), ("changed", self.changed)):
            if names:
                parts.append(f"sources {label}: {', '.join(names)}")
        if self.sections:
            parts.append(f"changed: {', '.join(self.sections)}")
        return "; ".join(parts) or "nothing changed"


def compare(old: Config, new: Config) -> Changes:
    """The differences between the running configuration ``old`` and ``new`` (restart-only
    fields already carried over, see :func:`keep_restart_only`)."""
    before = {s.name: s for s in old.sources if s.enabled}
    after = {s.name: s for s in new.sources if s.enabled}
    return Changes(
        added=tuple(n for n in after if n not in before),
        removed=tuple(n for n in before if n not in after),
        changed=tuple(n for n in after if n in before and after[n] != before[n]),
        sections=tuple(name for name in _SECTIONS if getattr(old, name) != getattr(new, name)),
    )


def keep_restart_only(old: Config, new: Config) -> tuple[Config, tuple[str, ...]]:
    """``new`` with the running values of :data:`RESTART_ONLY`; and the names of those that differed."""
    differing = tuple(name for name in RESTART_ONLY if getattr(old, name) != getattr(new, name))
    if not differing:
        return new, ()
    return dataclasses.replace(new, **{name: getattr(old, name) for name in differing}), differing


def read_source(config: Config) -> bytes | None:
    """The bytes of the file ``config`` was read from, or None (no file, or unreadable now)."""
    if config.path is None:
        return None
    try:
        return config.path.read_bytes()
    except OSError:
        return None


def reload_config(old: Config, load: Callable[[], Config], *, who: str = "the daemon") -> tuple[Config, Changes] | None:
    """Read the configuration again with ``load``; None when it is invalid (every problem logged,
    one line each, as ``newsmon config check`` prints them: the running configuration stays).

    Args:
        old: the running configuration.
        load: reads and validates the configuration, as at start.
        who: the process, for the log lines.
    """
    try:
        new = load()
    except ConfigError as exc:
        for problem in exc.problems:
            logger.error("%s", problem)
        logger.error("Configuration not reloaded by %s: %d problem%s; the running configuration stays",
                     who, len(exc.problems), "" if len(exc.problems) == 1 else "s")
        return None
    new, kept = keep_restart_only(old, new)
    for name in kept:
        logger.warning("Reload: %s changed; it applies at the next restart (the running value stays)", name)
    changes = dataclasses.replace(compare(old, new), kept=kept)
    return new, changes
