"""``newsmon reload``: make the running daemon read its configuration again.

The file is checked here first (an invalid one is reported, one line per problem, exit 2, and
the daemon is left alone); then the daemon named by its lock (:mod:`newsmon.scheduler.instance`,
``host:pid``) is sent SIGHUP. It must run on this host: a daemon elsewhere is named, exit 2.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket

from newsmon.scheduler.cli.common import OK, UsageError, Verbs, add_verb, load_settings, redis_session


def register(verbs: Verbs, common: argparse.ArgumentParser) -> None:
    add_verb(verbs, common, "reload", cmd_reload,
             "make the running daemon reload its configuration (checks the file, then sends SIGHUP)")


def cmd_reload(args: argparse.Namespace) -> int:
    from newsmon.scheduler.instance import DaemonLock, DirectoryLock

    config = load_settings(args)  # an invalid file: ConfigError, reported by run_handler
    if config.redis.url:
        with redis_session(config) as session:
            holder = DaemonLock.current(session.client, session.keys)
    else:
        holder = DirectoryLock(config.data_dir, config.redis.prefix).current()
    if holder is None:
        raise UsageError(f"no daemon is running for Redis prefix {config.redis.prefix!r}")
    if holder.host != socket.gethostname():
        raise UsageError(f"the daemon runs on host {holder.host} (pid {holder.pid}): "
                         "run `newsmon reload` there, or send it SIGHUP")
    try:
        os.kill(holder.pid, signal.SIGHUP)
    except ProcessLookupError:
        raise UsageError(f"the daemon's lock names pid {holder.pid}, which is gone") from None
    print(f"Sent SIGHUP to the daemon ({holder.describe()}); its log says what it reloaded")
    return OK
