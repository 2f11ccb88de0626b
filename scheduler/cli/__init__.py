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

#: ``newsmon --help``'s epilog: the environment variables, which override the config file.
ENVIRONMENT = """\
environment (each overrides the config file; --config and --log-level override them):
  NEWSMON_CONFIG     the configuration file (default: the packaged example)
  NEWSMON_DATA_DIR   where the embedded Redis and the sinks keep their files (data_dir)
  NEWSMON_LOG_LEVEL  DEBUG, INFO, WARNING or ERROR (log_level)
  REDIS_URL          the Redis server, redis://[:password@]host:port/db (default: an embedded one)
"""


class Parser(argparse.ArgumentParser):
    """An argument parser whose sub-command groups, called without a sub-command, say so in
    one line naming the choices (argparse would print the usage and a placeholder's name)."""

    def error(self, message: str) -> NoReturn:
        for action in self._actions:
            if (isinstance(action, argparse._SubParsersAction) and action.required
                    and message == f"the following arguments are required: {action.metavar}"):
                choices = ", ".join(action.choices)
                self.exit(2, f"{self.prog}: expected one of {choices} (see {self.prog} --help)\n")
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    # The verb modules are imported here, not at the top: ``python -m newsmon.scheduler.cli.feed``
    # imports this package first, and must find its own module not yet imported.
    from newsmon.scheduler.cli import config, crawl, daemon, extract, feed, reload, status, topic

    common = Parser(add_help=False)
    common.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                        help="configuration file (env NEWSMON_CONFIG; default: the packaged example)")
    common.add_argument("--log-level", default=argparse.SUPPRESS, choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        type=str.upper, help="log level (env NEWSMON_LOG_LEVEL; default: the config's, else INFO)")
    common.add_argument("--log-format", default=argparse.SUPPRESS, choices=["text", "json"], type=str.lower,
                        help="log lines as text or as one JSON object per line (env NEWSMON_LOG_FORMAT)")

    parser = Parser(prog="newsmon", parents=[common], epilog=ENVIRONMENT,
                    formatter_class=argparse.RawDescriptionHelpFormatter,
                    description="Monitor news outlets for a topic and publish a deduplicated feed.")
    parser.add_argument("--version", action="version", version=f"newsmon {__version__}",
                        help="print the version and exit")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    # In this order in ``newsmon --help``.
    for module in (daemon, reload, crawl, extract, status, config, feed, topic):
        module.register(verbs, common)
    return parser


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The ``newsmon`` console script: runs one verb and exits with its status."""
    args = build_parser().parse_args(argv)
    # --config, --log-level and --log-format may come before or after the verb; absent, None.
    for name in ("config", "log_level", "log_format"):
        if not hasattr(args, name):
            setattr(args, name, None)
    setup_logging(args.log_level or os.environ.get("NEWSMON_LOG_LEVEL", "INFO"),
                  args.log_format or os.environ.get("NEWSMON_LOG_FORMAT", "text"))
    sys.exit(run_handler(args))
