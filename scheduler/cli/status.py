"""``newsmon status`` and ``newsmon check``: what the daemon is doing, read from Redis.

``status`` prints :func:`newsmon.scheduler.status.overview` as a table or JSON; ``check``
exits 0 when a process of a role has a fresh heartbeat, for container health checks.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from datetime import UTC, datetime

from newsmon.scheduler.cli.common import FAILED, OK, Verbs, add_verb, load_settings, redis_for


def register(verbs: Verbs, common: argparse.ArgumentParser) -> None:
    p = add_verb(verbs, common, "status", cmd_status, "per source: last poll, new articles, errors, next poll")
    p.add_argument("--json", action="store_true")
    p = add_verb(verbs, common, "check", cmd_check, "exit 0 when a process of ROLE is alive (for health checks)")
    p.add_argument("role", nargs="?", default="worker", choices=["worker", "scheduler"])


def cmd_status(args: argparse.Namespace) -> int:
    from newsmon.scheduler.alerts import active_alerts
    from newsmon.scheduler.status import overview

    config = load_settings(args)
    with redis_for(config) as (client, keys, _url):
        seen = overview(client, keys, config)
        alerts = active_alerts(client, keys)
    if args.json:
        print(json.dumps({"sources": [{**dataclasses.asdict(r), "shown_state": r.shown_state()} for r in seen.sources],
                          "workers": seen.workers,
                          "jobs_queued": seen.jobs_queued, "jobs_pending": seen.jobs_pending,
                          "warnings": seen.warnings}))
        return OK
    print(f"{'source':<24} {'state':<12} {'last poll':<21} {'new':>4} {'published':>9} {'errors':>6}  next poll")
    for r in seen.sources:
        shown = r.shown_state()
        print(f"{r.name:<24} {shown:<12} {_when(r.last_poll):<21} {r.last_published:>4} "
              f"{r.published_total:>9} {r.errors_total:>6}  {_when(r.next_poll)}")
        if shown == "backoff":
            print(f"    backoff until {_when(r.backoff_until)} after {r.consecutive_failures} failed polls in a row")
        elif r.state == "degraded":
            print("    degraded: a feed or sitemap was malformed; what could be read was read")
        elif r.state == "deferred":
            print("    deferred: the outlet asked to be left alone for a while (Retry-After)")
        if r.last_error and r.state != "ok":
            print(f"    last error: {r.last_error}")
    print(f"workers alive: {len(seen.workers)}; poll jobs queued: {seen.jobs_queued}, in progress: {seen.jobs_pending}")
    for warning in seen.warnings:
        print(f"warning: {warning}")
    for alert in alerts:
        print(f"alert: {alert.describe()}")
    return OK


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
