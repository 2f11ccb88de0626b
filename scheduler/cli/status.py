"""``newsmon status`` and ``newsmon check``: what the daemon is doing, read from Redis.

``status`` prints :func:`newsmon.scheduler.status.overview` as a table or JSON, once or, with
``--watch``, every few seconds until Ctrl-C; ``check`` exits 0 when a process of a role has a
fresh heartbeat, for container health checks.

When no scheduler runs, the sources' state is what the last daemon left: ``status`` says so,
and shows no next poll (none is due until a daemon starts).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from newsmon.scheduler.cli.common import FAILED, OK, UsageError, Verbs, add_verb, load_settings, redis_for

if TYPE_CHECKING:
    from newsmon.scheduler.alerts import Alert
    from newsmon.scheduler.status import Overview

#: ``status --watch`` without a number refreshes this often, in seconds.
WATCH_EVERY = 2.0


def register(verbs: Verbs, common: argparse.ArgumentParser) -> None:
    p = add_verb(verbs, common, "status", cmd_status,
                 "per source: state, last poll, new articles, errors, next poll; and the daemon's processes")
    p.add_argument("--json", action="store_true", help="print the status as one JSON object")
    p.add_argument("--watch", nargs="?", type=float, const=WATCH_EVERY, default=None, metavar="SECONDS",
                   help=f"refresh every SECONDS (default {WATCH_EVERY:g}) until Ctrl-C; in place on a terminal")
    p = add_verb(verbs, common, "check", cmd_check, "exit 0 when a process of ROLE is alive (for health checks)")
    p.add_argument("role", nargs="?", default="worker", choices=["worker", "scheduler"],
                   help="the role whose heartbeat is checked (default: worker)")


def cmd_status(args: argparse.Namespace) -> int:
    from newsmon.scheduler.alerts import active_alerts
    from newsmon.scheduler.status import overview

    if args.watch is not None and not args.watch > 0:
        raise UsageError(f"--watch: expected a number of seconds above 0, got {args.watch:g}")
    config = load_settings(args)
    render = _json if args.json else _table
    with redis_for(config) as (client, keys, _url):

        def shown() -> str:
            return render(overview(client, keys, config), active_alerts(client, keys))

        if args.watch is None:
            print(shown())
            return OK
        return _watch(shown, args.watch)


def _watch(render: Callable[[], str], every: float) -> int:
    """Print ``render()`` every ``every`` seconds until Ctrl-C (exit 0): in place on a terminal,
    one block after another (separated by a blank line) otherwise."""
    terminal = sys.stdout.isatty()
    first = True
    try:
        while True:
            text = render()
            if terminal:
                # Home, the new text, then clear what is left of the old one below it.
                sys.stdout.write("\x1b[H" + text.replace("\n", "\x1b[K\n") + "\x1b[K\n\x1b[J")
            else:
                sys.stdout.write(("" if first else "\n") + text + "\n")
            sys.stdout.flush()
            first = False
            time.sleep(every)  # the refresh period the user asked for
    except KeyboardInterrupt:
        return OK


def _json(seen: Overview, alerts: list[Alert]) -> str:
    now = time.time()
    sources: list[dict[str, Any]] = []
    for r in seen.sources:
        row = {**dataclasses.asdict(r), "shown_state": r.shown_state(now)}
        # The poll the scheduler will make; none while no scheduler runs.
        row["next_poll"] = None if seen.stale else r.expected_poll()
        sources.append(row)
    return json.dumps({"sources": sources, "schedulers": seen.schedulers, "workers": seen.workers,
                       "stale": seen.stale, "jobs_queued": seen.jobs_queued, "jobs_pending": seen.jobs_pending,
                       "warnings": seen.warnings, "alerts": [dataclasses.asdict(a) for a in alerts]})


def _table(seen: Overview, alerts: list[Alert]) -> str:
    now = time.time()
    lines = []
    if seen.stale:
        lines.append("scheduler: not running: the values below are from the last daemon's run (stale); "
                     "no poll is due until a daemon starts")
    else:
        lines.append(f"scheduler: running ({', '.join(seen.schedulers)})")
    lines.append(f"{'source':<24} {'state':<12} {'last poll':<21} {'new':>4} {'published':>9} {'errors':>6}  next poll")
    for r in seen.sources:
        shown = r.shown_state(now)
        next_poll = "-" if seen.stale else _when(r.expected_poll())
        lines.append(f"{r.name:<24} {shown:<12} {_when(r.last_poll):<21} {r.last_published:>4} "
                     f"{r.published_total:>9} {r.errors_total:>6}  {next_poll}")
        if shown == "backoff":
            lines.append(f"    backoff until {_when(r.backoff_until)} "
                         f"after {r.consecutive_failures} failed polls in a row")
        elif r.state == "degraded":
            lines.append("    degraded: a feed or sitemap was malformed; what could be read was read")
        elif r.state == "deferred":
            lines.append("    deferred: the outlet asked to be left alone for a while (Retry-After)")
        if r.last_error and r.state != "ok":
            lines.append(f"    last error: {r.last_error}")
    lines.append(f"workers alive: {len(seen.workers)}; poll jobs queued: {seen.jobs_queued}, "
                 f"in progress: {seen.jobs_pending}")
    lines.extend(f"warning: {warning}" for warning in seen.warnings)
    lines.extend(f"alert: {alert.describe()}" for alert in alerts)
    return "\n".join(lines)


def cmd_check(args: argparse.Namespace) -> int:
    """Exit 0 when a scheduler or worker heartbeat is fresh (for container health checks)."""
    from newsmon.scheduler.status import alive

    config = load_settings(args)
    with redis_for(config) as (client, keys, _url):
        names = alive(client, keys, args.role)
    print(f"{args.role}: {len(names)} alive")
    return OK if names else FAILED


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
