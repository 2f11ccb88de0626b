"""What every verb shares: the settings, the Redis connection, and errors as exit statuses.

A verb module registers its sub-commands with :func:`add_verb`; each handler takes the parsed
arguments and returns an exit status. :func:`run_handler` calls it and turns the errors a user
can fix into one-line messages: a :class:`UsageError`, a configuration error (one line per
problem), an unreachable Redis or a daemon already running exit with :data:`USAGE`.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from newsmon.scheduler.keys import Keys
from newsmon.settings.model import Config

#: Exit statuses: the work was done; the work failed (every source failed, a crash); a usage
#: or configuration error, or Redis unreachable; interrupted by Ctrl-C.
OK, FAILED, USAGE, INTERRUPTED = 0, 1, 2, 130

Handler = Callable[[argparse.Namespace], int]
#: The sub-parsers of the top-level parser, where each verb module adds its verbs (argparse
#: has no public name for their type).
Verbs = argparse._SubParsersAction


class UsageError(ValueError):
    """A mistake of the user's (a bad argument or flag value); printed as one line, exit 2."""


def add_verb(verbs: Verbs, common: argparse.ArgumentParser, name: str, func: Handler, help: str,
             **kw: Any) -> argparse.ArgumentParser:
    """Add verb ``name``, handled by ``func``; it accepts the ``common`` flags after it too."""
    sub: argparse.ArgumentParser = verbs.add_parser(name, parents=[common], help=help, description=help, **kw)
    sub.set_defaults(func=func)
    return sub


_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: Libraries that narrate every crawl at INFO; newsmon's own lines say what matters.
_CHATTY = ("scrapy", "twisted", "apscheduler", "trafilatura", "htmldate", "courlan", "asyncio")


_TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (ISO 8601 UTC), ``level``, ``logger``, ``message``, and
    ``exc_info`` (the traceback, as a string) when there is one. Nothing else of the record is
    written (no page content rides along in extra fields)."""

    def format(self, record: logging.LogRecord) -> str:
        from datetime import UTC, datetime

        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str, log_format: str = "text") -> None:
    """Log to stderr at ``level`` until the settings are read (then :func:`set_log_level`).

    A level that is not one (``NEWSMON_LOG_LEVEL=verbose``) logs at INFO for now: reading the
    settings reports it as a configuration error, naming the variable.
    """
    logging.basicConfig(format=_TEXT_FORMAT, stream=sys.stderr)
    logging.captureWarnings(True)
    set_log_level(level)
    set_log_format(log_format)


def set_log_format(log_format: str) -> None:
    """Write log lines as ``text`` or ``json`` from now on (the settings' ``log_format``)."""
    formatter = JsonFormatter() if log_format.lower() == "json" else logging.Formatter(_TEXT_FORMAT)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)


def set_log_level(level: str) -> None:
    """Log at ``level`` from now on (the settings' ``log_level``, once they are read)."""
    level = level.upper() if level.upper() in _LEVELS else "INFO"
    logging.getLogger().setLevel(level)
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.NOTSET if level == "DEBUG" else logging.WARNING)


def load_settings(args: argparse.Namespace) -> Config:
    """The settings: packaged defaults < ``--config`` file < environment < ``--log-level`` and
    ``--log-format``."""
    from newsmon.settings.loader import load_config

    path = Path(args.config) if args.config else None
    config = load_config(path, os.environ)
    if getattr(args, "log_level", None):
        config = dataclasses.replace(config, log_level=args.log_level.upper())
    if getattr(args, "log_format", None):
        config = dataclasses.replace(config, log_format=args.log_format)
    set_log_level(config.log_level)
    set_log_format(config.log_format)
    return config


@dataclasses.dataclass
class RedisSession:
    """A client, the key names, the server's URL, and the teardown of the connection."""

    client: Any
    keys: Keys
    url: str
    embedded: Any = None  # the EmbeddedRedis this process uses, if any
    closed: bool = False

    def close(self) -> None:
        """Close the client; stop the embedded Redis when no other process uses it. Idempotent:
        a cold stop calls it from a signal handler, before exiting at once."""
        if self.closed:
            return
        self.closed = True
        if self.embedded is not None:
            self.embedded.release(self.client)
        else:
            self.client.close()


@contextlib.contextmanager
def redis_session(config: Config, *, owner: bool = False, check: bool = True) -> Iterator[RedisSession]:
    """A :class:`RedisSession` on the configured server (or the embedded one), closed at exit.

    The embedded server is used as a guest: attached to, never stopped unless this command
    started it (see :mod:`newsmon.scheduler.redis_conn`); the daemon (``owner=True``) owns it
    and restarts it when it dies. ``check=False`` does not ping first (a supervised worker
    waits for Redis in its own loop instead of exiting).

    Raises:
        RedisUnavailable: Redis cannot be reached or started.
    """
    from newsmon.scheduler.redis_conn import open_redis

    client, embedded = open_redis(config.redis.url, config.data_dir, owner=owner, check=check)
    url = config.redis.url or (embedded.url if embedded else "")
    session = RedisSession(client, Keys(config.redis.prefix), url, embedded)
    try:
        yield session
    finally:
        session.close()


@contextlib.contextmanager
def redis_for(config: Config, *, check: bool = True) -> Iterator[tuple[Any, Keys, str]]:
    """A client, the key names and the server's URL (the embedded server's, when it is used).

    Raises:
        RedisUnavailable: Redis cannot be reached or started.
    """
    with redis_session(config, check=check) as session:
        yield session.client, session.keys, session.url


def error(message: str) -> None:
    """``newsmon: <message>`` on stderr."""
    print(f"newsmon: {message}", file=sys.stderr)


def run_handler(args: argparse.Namespace) -> int:
    """Call the verb's handler; return its exit status, or the status of the error it raised."""
    from newsmon.scheduler.instance import AlreadyRunning
    from newsmon.scheduler.redis_conn import RedisUnavailable
    from newsmon.settings.loader import ConfigError

    handler: Handler = args.func
    try:
        return handler(args)
    except ConfigError as exc:
        for line in str(exc).splitlines():
            error(line)
        return USAGE
    except (RedisUnavailable, UsageError, AlreadyRunning) as exc:
        error(str(exc))
        return USAGE
    except KeyboardInterrupt:
        error("interrupted")
        return INTERRUPTED
