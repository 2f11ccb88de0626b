"""``newsmon sources list`` and ``newsmon config check``: the verbs that only read the settings.

Neither needs Redis. A configuration error is reported by
:func:`~newsmon.scheduler.cli.common.run_handler`, one line per problem, exit 2.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from newsmon.scheduler.cli.common import OK, Verbs, load_settings


def register(verbs: Verbs, common: argparse.ArgumentParser) -> None:
    sources = verbs.add_parser("sources", help="the configured sources").add_subparsers(
        dest="sub", metavar="COMMAND", required=True)
    p = sources.add_parser("list", parents=[common], help="list the configured sources")
    p.set_defaults(func=cmd_sources_list)

    config = verbs.add_parser("config", help="configuration tools").add_subparsers(
        dest="sub", metavar="COMMAND", required=True)
    p = config.add_parser("check", parents=[common], help="validate a configuration file")
    p.add_argument("file", nargs="?", help="the file (default: --config)")
    p.set_defaults(func=cmd_config_check)


def cmd_sources_list(args: argparse.Namespace) -> int:
    from newsmon.settings.durations import format_duration

    config = load_settings(args)
    for s in config.sources:
        urls = [*s.feeds, *s.sitemaps, *s.pages] or ([s.home] if s.home else [])
        state = "" if s.enabled else " (disabled)"
        print(f"{s.name}\t{s.language or '-'}\tevery {format_duration(s.interval)}\t{' '.join(urls)}{state}")
    return OK


def cmd_config_check(args: argparse.Namespace) -> int:
    from newsmon.settings.loader import load_config

    # The file named here wins over --config; the environment applies as for every verb.
    path = Path(args.file) if args.file else (Path(args.config) if args.config else None)
    config = load_config(path, os.environ)
    where = config.path or "the packaged example"
    print(f"{where}: OK ({len(config.sources)} sources, topic: {config.topic.name if config.topic else 'none'})")
    return OK
