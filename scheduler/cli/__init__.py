"""The ``newsmon`` command line: parses, builds the settings once, calls library code, and maps
errors to one-line messages and exit codes.

Exit codes: 0 success; 1 the work failed (every source failed, a crash); 2 a usage or
configuration error, Redis unreachable, or a daemon already running; 128 + the signal's number
when a signal stopped ``crawl`` (130 for SIGINT, 143 for SIGTERM; ``feed read`` exits 130); the
daemons exit 0 after a warm stop.

One module per verb group, each with a ``register(verbs, common)`` that adds its sub-commands
and their handlers: :mod:`.daemon` (run, scheduler, worker), :mod:`.reload`, :mod:`.crawl`, :mod:`.extract`,
:mod:`.status` (status, check), :mod:`.config` (sources list, config check), :mod:`.feed`
(feed read, feed groups) and :mod:`.topic` (topic test, why, replay). :mod:`.common` holds what they share.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from newsmon.scheduler.cli.common import run_handler, setup_logging
from newsmon.settings.version import __version__


def build_parser() -> argparse.ArgumentParser:
    # The verb modules are imported here, not at the top: ``python -m newsmon.scheduler.cli.feed``
    # imports this package first, and must find its own module not yet imported.
    from newsmon.scheduler.cli import config, crawl, daemon, extract, feed, reload, status, topic

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                        help="configuration file (env NEWSMON_CONFIG; default: the packaged example)")
    common.add_argument("--log-level", default=argparse.SUPPRESS, choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        type=str.upper)

    parser = argparse.ArgumentParser(prog="newsmon", parents=[common],
                                     description="Monitor news outlets for a topic and publish a deduplicated feed.")
    parser.add_argument("--version", action="version", version=f"newsmon {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    # In this order in ``newsmon --help``.
    for module in (daemon, reload, crawl, extract, status, config, feed, topic):
        module.register(verbs, common)
    return parser


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The ``newsmon`` console script: runs one verb and exits with its status."""
    args = build_parser().parse_args(argv)
    # --config and --log-level may come before or after the verb; absent, they are None.
    for name in ("config", "log_level"):
        if not hasattr(args, name):
            setattr(args, name, None)
    setup_logging(args.log_level or os.environ.get("NEWSMON_LOG_LEVEL", "INFO"))
    sys.exit(run_handler(args))
