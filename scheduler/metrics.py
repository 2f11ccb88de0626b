"""The Prometheus endpoint of the daemon's processes: ``/metrics`` and ``/healthz``.

Served when ``--metrics HOST:PORT`` or ``metrics.listen`` asks for it, on a thread of its own,
by ``run`` and ``scheduler`` (and by ``worker`` started alone; supervised workers never serve).
Every value is read from Redis at scrape time by :class:`RedisCollector`: the workers count
each poll's outcome there (``record_poll``, ``record_host_stats``), so the numbers are the sum
over every worker process, past and present, and nothing is lost when a worker restarts. Labels
stay bounded: sources come from the configuration, hosts are capped (``host_stats.MAX_HOSTS``),
feed groups are the ones people created.

Metric names (all ``newsmon_``-prefixed) are listed in docs/metrics.md.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import redis
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from newsmon.scheduler.alerts import KINDS, active_alerts
from newsmon.scheduler.feed import groups_info
from newsmon.scheduler.feed.deadletters import dead_letter_key
from newsmon.scheduler.health import check
from newsmon.scheduler.host_stats import read_host_stats
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.status import PUBLISH_EVENTS, alive
from newsmon.settings.model import Config

logger = logging.getLogger(__name__)

#: Per-source counters: (metric name, help, state hash field).
SOURCE_COUNTERS = (
    ("newsmon_source_polls", "Polls of the source that ended.", "polls"),
    ("newsmon_source_articles_fetched", "Article pages downloaded.", "total:fetched"),
    ("newsmon_source_links_new", "Article links not seen before.", "total:new"),
    ("newsmon_source_duplicates", "Copies of stories seen before.", "total:duplicates"),
    ("newsmon_source_off_topic", "Articles the topic dropped.", "total:off_topic"),
    ("newsmon_source_rejected", "Pages rejected: not an article, or too little text extracted.", "total:rejected"),
    ("newsmon_source_errors", "Errors while polling the source.", "total:errors"),
    ("newsmon_source_deferred", "Requests held back by a host's Retry-After.", "total:deferred"),
)
#: newsmon_source_documents_total{outcome}: state hash field per outcome.
DOCUMENT_OUTCOMES = (("read", "total:documents_read"), ("unchanged", "total:documents_unchanged"),
                     ("failed", "total:documents_failed"))
HOST_COUNTERS = (
    ("newsmon_host_politeness_waits", "Requests that waited for a slot of the host.", "waits", 1.0),
    ("newsmon_host_politeness_wait_seconds", "Time requests waited for a slot of the host.", "wait_ms", 0.001),
    ("newsmon_host_retry_after_blocks", "Retry-After answers that blocked the host.", "retry_after_blocks", 1.0),
    ("newsmon_host_retry_after_deferred", "Requests deferred to a later poll by a Retry-After block.",
     "retry_after_deferred", 1.0),
)


class RedisCollector(Collector):
    """Reads newsmon's counters from Redis at each scrape."""

    def __init__(self, config: Config, client: redis.Redis, keys: Keys) -> None:
        self.config = config
        self.client = client
        self.keys = keys

    def collect(self) -> Iterator[Any]:
        up = GaugeMetricFamily("newsmon_redis_up", "1 when Redis answered this scrape.")
        rtt = GaugeMetricFamily("newsmon_redis_rtt_seconds", "Round-trip time of a Redis PING.")
        try:
            started = time.perf_counter()
            self.client.ping()
            rtt.add_metric([], time.perf_counter() - started)
            families = list(self._families())
        except redis.RedisError as exc:
            logger.warning("Metrics: Redis does not answer: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield rtt
        yield from families

    def _families(self) -> Iterator[Any]:
        yield from self._sources()
        yield from self._hosts()
        yield from self._feed()
        yield from self._daemon()

    def _sources(self) -> Iterator[Any]:
        names = [s.name for s in self.config.sources]
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            pipe.hgetall(self.keys.source_state(name))
        states = {name: {k.decode(): v.decode() for k, v in raw.items()}
                  for name, raw in zip(names, pipe.execute(), strict=True)}
        for metric, text, field in SOURCE_COUNTERS:
            family = CounterMetricFamily(metric, text, labels=["source"])
            for name, state in states.items():
                family.add_metric([name], float(state.get(field, 0)))
            yield family
        documents = CounterMetricFamily("newsmon_source_documents", "Feeds, sitemaps and section pages, by outcome.",
                                        labels=["source", "outcome"])
        published = CounterMetricFamily("newsmon_source_published", "Records appended to the feed, by event.",
                                        labels=["source", "event"])
        success = GaugeMetricFamily("newsmon_source_last_success_timestamp_seconds",
                                    "When a poll of the source last read something (epoch seconds).",
                                    labels=["source"])
        interval = GaugeMetricFamily("newsmon_source_interval_seconds", "The source's current poll interval.",
                                     labels=["source"])
        failures = GaugeMetricFamily("newsmon_source_consecutive_failures", "Failed polls in a row.",
                                     labels=["source"])
        for name, state in states.items():
            for outcome, field in DOCUMENT_OUTCOMES:
                documents.add_metric([name, outcome], float(state.get(field, 0)))
            for event in PUBLISH_EVENTS:
                published.add_metric([name, event], float(state.get(f"total:published:{event}", 0)))
            if "last_ok" in state:
                success.add_metric([name], float(state["last_ok"]))
            if "interval" in state:
                interval.add_metric([name], float(state["interval"]))
            failures.add_metric([name], float(state.get("consecutive_failures", 0)))
        yield from (documents, published, success, interval, failures)

    def _hosts(self) -> Iterator[Any]:
        hosts = read_host_stats(self.client, self.keys)
        for metric, text, field, scale in HOST_COUNTERS:
            family = CounterMetricFamily(metric, text, labels=["host"])
            for host, counts in sorted(hosts.items()):
                family.add_metric([host], counts.get(field, 0) * scale)
            yield family

    def _feed(self) -> Iterator[Any]:
        length = GaugeMetricFamily("newsmon_feed_length", "Entries in the article stream.")
        length.add_metric([], float(self.client.xlen(self.keys.articles)))
        yield length
        lag = GaugeMetricFamily("newsmon_feed_group_lag", "Entries a consumer group has not been delivered yet.",
                                labels=["group"])
        pending = GaugeMetricFamily("newsmon_feed_group_pending", "Entries delivered to a group, not acknowledged.",
                                    labels=["group"])
        dead = GaugeMetricFamily("newsmon_feed_dead_letters", "Entries a group gave up on (dead-letter list).",
                                 labels=["group"])
        groups = groups_info(self.client, self.keys)
        pipe = self.client.pipeline(transaction=False)
        for group in groups:
            pipe.llen(dead_letter_key(self.keys, group.name))
        for group, letters in zip(groups, pipe.execute(), strict=True):
            if group.lag is not None:
                lag.add_metric([group.name], float(group.lag))
            pending.add_metric([group.name], float(group.pending))
            dead.add_metric([group.name], float(letters))
        yield from (lag, pending, dead)

    def _daemon(self) -> Iterator[Any]:
        workers = GaugeMetricFamily("newsmon_workers_alive", "Worker processes whose heartbeat is fresh.")
        workers.add_metric([], float(len(alive(self.client, self.keys, "worker"))))
        schedulers = GaugeMetricFamily("newsmon_scheduler_alive", "Scheduler processes whose heartbeat is fresh.")
        schedulers.add_metric([], float(len(alive(self.client, self.keys, "scheduler"))))
        alerts = GaugeMetricFamily("newsmon_alert", "1 while a silent-failure alert is in force (source * is all).",
                                   labels=["kind", "source"])
        since = GaugeMetricFamily("newsmon_alert_since_timestamp_seconds", "When the alert started.",
                                  labels=["kind", "source"])
        for alert in active_alerts(self.client, self.keys):
            if alert.kind in KINDS:
                alerts.add_metric([alert.kind, alert.source], 1)
                since.add_metric([alert.kind, alert.source], alert.since)
        yield from (workers, schedulers, alerts, since)


class MetricsServer:
    """``/metrics`` and ``/healthz`` over HTTP, on a daemon thread; :meth:`close` stops it."""

    def __init__(self, config: Config, client: redis.Redis, keys: Keys, address: str, *,
                 worker: str | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(RedisCollector(config, client, keys))
        host, _, port = address.rpartition(":")
        host = host.strip("[]") or "0.0.0.0"  # noqa: S104 - ":PORT" asks for every address
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._answer(200, generate_latest(server.registry), CONTENT_TYPE_LATEST)
                elif path == "/healthz":
                    health = check(client, keys, worker=worker)
                    self._answer(200 if health.ok else 503, (health.reason + "\n").encode(), "text/plain")
                else:
                    self._answer(404, b"not found: try /metrics or /healthz\n", "text/plain")

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                logger.debug("metrics: %s", format % args)

        self.httpd = ThreadingHTTPServer((host, int(port)), Handler)
        self.httpd.daemon_threads = True
        self.address = f"{host}:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="newsmon-metrics", daemon=True)

    def start(self) -> MetricsServer:
        self._thread.start()
        logger.info("Metrics on http://%s/metrics, health on /healthz", self.address)
        return self

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def serve_metrics(config: Config, client: redis.Redis, keys: Keys, *, worker: str | None = None
                  ) -> MetricsServer | None:
    """Start the endpoint when the configuration asks for one (``metrics.listen``); else None.

    Raises:
        OSError: the address cannot be listened on (in use, not local).
    """
    if not config.metrics.listen:
        return None
    return MetricsServer(config, client, keys, config.metrics.listen, worker=worker).start()
