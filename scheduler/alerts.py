"""Silent-failure alerts: the sources that stopped working without anybody noticing.

The scheduler process evaluates them every ``alerts.check_every`` from the sources' state hashes
(:mod:`newsmon.scheduler.status`), keeps the ones in force in Redis (``Keys.alerts``, so that
``newsmon status`` and the metrics endpoint of any process read them) and POSTs one event per
change to the ``alerts.webhooks``. Kinds:

- ``failing``: the source's last ``alerts.failed_polls`` polls failed (nothing could be read).
- ``silent``: no new article link for ``alerts.silence_factor`` times the source's learned gap
  between new links (the cadence it had when it last found one), and at least
  ``alerts.min_silence``. A source without a learned cadence is never "silent".
- ``rejected``: in its last poll, at least ``alerts.min_pages`` article pages were fetched and
  ``alerts.rejected_ratio`` of them were rejected (not an article, or too little text
  extracted): most likely the outlet's template changed.
- ``all_failing`` (source ``*``): the last poll of every enabled source that was polled failed.

An alert event is a small JSON object: ``{"schema_version": 1, "kind", "source", "state":
"firing" | "resolved", "since" (ISO 8601 UTC), "detail"}``.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from newsmon.scheduler.keys import Keys
from newsmon.scheduler.sinks.base import SinkError
from newsmon.scheduler.sinks.webhook import WebhookPoster
from newsmon.settings.model import AlertSettings, Config

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
KINDS = ("failing", "silent", "rejected", "all_failing")
#: The ``source`` of the alerts about every source at once.
ALL_SOURCES = "*"
_FIELDS = ("consecutive_failures", "last_new_at", "rate_at_new", "last_fetched", "last_rejected",
           "last_poll")


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert in force."""

    kind: str
    source: str
    since: float  # when it started (epoch seconds)
    detail: str

    @property
    def field(self) -> str:
        return f"{self.kind}:{self.source}"

    def event(self, state: str = "firing") -> dict[str, object]:
        """The JSON object delivered to the webhooks."""
        return {"schema_version": SCHEMA_VERSION, "kind": self.kind, "source": self.source, "state": state,
                "since": datetime.fromtimestamp(self.since, UTC).isoformat(timespec="seconds"),
                "detail": self.detail}

    def describe(self) -> str:
        """One line for people: ``[source] kind since HH:MM:SSZ: detail``."""
        since = datetime.fromtimestamp(self.since, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        return f"[{self.source}] {self.kind} since {since}: {self.detail}"


def _num(value: bytes | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def conditions(settings: AlertSettings, states: Mapping[str, Mapping[str, float | None]],
               now: float) -> dict[tuple[str, str], tuple[float, str]]:
    """The alerts the sources' state calls for: (kind, source) -> (since, detail).

    Args:
        settings: the thresholds.
        states: per enabled source, the fields of :data:`_FIELDS` (None when absent).
        now: the time of the evaluation.
    """
    found: dict[tuple[str, str], tuple[float, str]] = {}
    failed_last: list[str] = []
    polled = 0
    for name, st in states.items():
        failures = int(st["consecutive_failures"] or 0)
        if st["last_poll"] is not None:
            polled += 1
            if failures:
                failed_last.append(name)
        if failures >= settings.failed_polls:
            detail = "the last poll failed" if failures == 1 else f"the last {failures} polls failed"
            found["failing", name] = (now, detail)
        rate = st["rate_at_new"]
        quiet_since = st["last_new_at"]
        if rate and rate > 0 and quiet_since is not None:
            allowed = max(settings.silence_factor / rate, settings.min_silence.total_seconds())
            if now - quiet_since > allowed:
                found["silent", name] = (quiet_since + allowed, (
                    f"no new article for {_hours(now - quiet_since)}; it used to publish every "
                    f"{_hours(1 / rate)}"))
        fetched, rejected = int(st["last_fetched"] or 0), int(st["last_rejected"] or 0)
        pages = max(fetched, rejected)  # a page rejected after extraction was fetched; a non-HTML one was not
        if pages >= settings.min_pages and rejected / pages >= settings.rejected_ratio:
            found["rejected", name] = (now, (
                f"{rejected} of the {pages} article pages of its last poll were rejected (not an article or "
                "empty extraction): has the site's template changed?"))
    if polled and len(failed_last) == polled:
        plural = "s" if polled > 1 else ""
        found["all_failing", ALL_SOURCES] = (now, f"the last poll of every source failed ({polled} source{plural})")
    return found


def _hours(seconds: float) -> str:
    if seconds >= 7200:
        return f"{seconds / 3600:.0f}h"
    return f"{seconds / 60:.0f}m"


def active_alerts(client: redis.Redis, keys: Keys) -> list[Alert]:
    """The alerts in force, by source then kind (what ``newsmon status`` may show)."""
    out = []
    for raw in client.hvals(keys.alerts):
        try:
            data = json.loads(raw)
            out.append(Alert(str(data["kind"]), str(data["source"]), float(data["since"]), str(data["detail"])))
        except (ValueError, KeyError, TypeError):
            logger.warning("Ignoring an unreadable alert in %s", keys.alerts)
    return sorted(out, key=lambda a: (a.source, KINDS.index(a.kind) if a.kind in KINDS else len(KINDS)))


def evaluate(client: redis.Redis, keys: Keys, config: Config,
             now: float | None = None) -> tuple[list[Alert], list[Alert]]:
    """Bring the alerts in Redis up to date with the sources' state.

    Returns:
        The alerts that started, and those that ended, with this evaluation.
    """
    now = time.time() if now is None else now
    names = [s.name for s in config.sources if s.enabled]
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.hmget(keys.source_state(name), list(_FIELDS))
    states = {name: dict(zip(_FIELDS, (_num(v) for v in values), strict=True))
              for name, values in zip(names, pipe.execute(), strict=True)}
    wanted = conditions(config.alerts, states, now)
    current = {a.field: a for a in active_alerts(client, keys)}
    started = [Alert(kind, source, since, detail) for (kind, source), (since, detail) in wanted.items()
               if f"{kind}:{source}" not in current]
    ended = [a for f, a in current.items() if tuple(f.split(":", 1)) not in wanted]
    pipe = client.pipeline(transaction=False)
    for alert in started:
        pipe.hset(keys.alerts, alert.field, json.dumps({"schema_version": SCHEMA_VERSION, "kind": alert.kind,
                                                        "source": alert.source, "since": alert.since,
                                                        "detail": alert.detail}))
    if ended:
        pipe.hdel(keys.alerts, *[a.field for a in ended])
    pipe.execute()
    for alert in started:
        logger.warning("Alert: %s", alert.describe())
    for alert in ended:
        logger.info("Alert over: %s %s", alert.source, alert.kind)
    return started, ended


class Notifier:
    """Delivers alert events to the configured webhooks, on a thread of its own (the scheduler's
    loop never waits for an HTTP answer). An endpoint that cannot be reached is tried again
    a few times with back-off, then the event is given up with a WARNING (the alert stays in
    Redis and in the metrics)."""

    ATTEMPTS = 4

    def __init__(self, posters: Sequence[WebhookPoster]) -> None:
        self.posters = list(posters)
        self._queue: queue.Queue[tuple[bytes, dict[str, str]] | None] = queue.Queue(maxsize=1000)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @classmethod
    def from_config(cls, config: Config) -> Notifier:
        return cls([WebhookPoster(w) for w in config.alerts.webhooks])

    def send(self, alerts: Iterable[Alert], state: str) -> None:
        if not self.posters:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="newsmon-alerts", daemon=True)
            self._thread.start()
        for alert in alerts:
            body = json.dumps(alert.event(state), ensure_ascii=False).encode("utf-8")
            try:
                self._queue.put_nowait((body, {"X-Newsmon-Event": "alert"}))
            except queue.Full:
                logger.warning("Alert event for %s %s dropped: the webhooks are not keeping up",
                               alert.source, alert.kind)

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued (at most ``timeout`` seconds), then stop the thread."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout)
        self._stop.set()

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            for poster in self.posters:
                self._deliver(poster, *job)

    def _deliver(self, poster: WebhookPoster, body: bytes, headers: dict[str, str]) -> None:
        delay = 1.0
        for attempt in range(1, self.ATTEMPTS + 1):
            try:
                poster.post(body, headers)
                return
            except SinkError as exc:
                if exc.rejected or attempt == self.ATTEMPTS or self._stop.wait(delay):
                    logger.warning("Alert event not delivered to %s: %s", poster.where, exc)
                    return
                logger.debug("Alert event to %s failed (%s); trying again in %.0fs", poster.where, exc, delay)
                delay *= 2
