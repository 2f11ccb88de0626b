"""Helpers for the feed and sink tests (no tests here): records, publishing, condition waits.

Records are published in the stream entry format of docs/record.md (fields ``id``, ``event``,
``source``, ``record``), independently of the real publisher. Run as a script, this module is
the small consumer and sink-runner process the process tests start and kill.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import signal
import sys
import threading
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import redis

from newsmon.scheduler.keys import Keys

T = TypeVar("T")

BASE_MS = 1_706_450_400_000  # 2024-01-28T14:00:00Z


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_record(n: int, *, source: str = "example", event: str = "new", cluster: int | None = None,
                fetched_at: datetime | None = None) -> dict[str, Any]:
    """A valid schema_version 1 record, distinct for each ``n``."""
    canonical = f"https://{source}.example.org/story/{n}"
    record_id = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    cluster_url = f"https://{source}.example.org/story/{cluster if cluster is not None else n}"
    fetched = fetched_at or datetime(2024, 1, 28, 14, 5, tzinfo=UTC) + timedelta(minutes=n)
    record: dict[str, Any] = {
        "schema_version": 1,
        "id": record_id,
        "event": event,
        "url": canonical + "?utm_source=rss",
        "canonical_url": canonical,
        "source": source,
        "title": f"Story {n}",
        "text": f"Paragraph one of story {n}.\n\nParagraph two, with ünïcödé.",
        "description": None,
        "language": "en",
        "published": iso(fetched - timedelta(minutes=30)),
        "published_from": "jsonld",
        "modified": None,
        "authors": ["A. Writer"],
        "image": None,
        "tags": ["politics"],
        "sitename": source.title(),
        "access": "free",
        "fetched_at": iso(fetched),
        "discovered_via": {"kind": "feed", "url": f"https://{source}.example.org/rss"},
        "topic": None,
        "duplicate_of": None,
        "cluster_id": record_id,
        "revision": 1,
        "changes": [],
    }
    if event == "duplicate":
        original = hashlib.sha256(cluster_url.encode()).hexdigest()[:16]
        record.update(duplicate_of=original, cluster_id=original)
    elif event == "updated":
        record.update(revision=2, changes=["title"])
    return record


def publish(client: redis.Redis, keys: Keys, record: dict[str, Any], stream_id: str = "*") -> str:
    """XADD one record the way the publisher does; returns its stream ID."""
    fields: dict[Any, Any] = {
        "id": record["id"],
        "event": record["event"],
        "source": record["source"],
        "record": json.dumps(record, ensure_ascii=False, separators=(",", ":")),
    }
    added = client.xadd(keys.articles, fields, id=stream_id)
    return added.decode() if isinstance(added, bytes) else str(added)


def publish_many(client: redis.Redis, keys: Keys, count: int, *, start: int = 0,
                 at_ms: int | None = None, step_ms: int = 1000,
                 sources: tuple[str, ...] = ("example",)) -> list[str]:
    """Publish ``count`` records (round-robin over ``sources``); with ``at_ms``, at explicit IDs
    ``at_ms + i * step_ms``. Returns the stream IDs."""
    pipe = client.pipeline(transaction=False)
    for i in range(count):
        record = make_record(start + i, source=sources[i % len(sources)])
        stream_id = "*" if at_ms is None else f"{at_ms + i * step_ms}-0"
        pipe.xadd(keys.articles, {"id": record["id"], "event": record["event"],
                                  "source": record["source"],
                                  "record": json.dumps(record, separators=(",", ":"))},
                  id=stream_id)
    return [i.decode() if isinstance(i, bytes) else str(i) for i in pipe.execute()]


def wait_for(predicate: Callable[[], T], timeout: float = 15.0, what: str = "the condition") -> T:
    """:func:`tests.helpers.wait_for`, polling every 10 ms: the feed tests' conditions are cheap."""
    # Imported here: run as a script (the process tests), this module cannot import tests.*.
    from tests.helpers import wait_for as shared

    return shared(predicate, timeout=timeout, what=what, every=0.01)


class WebhookServer:
    """A webhook endpoint on 127.0.0.1 (aiohttp, in a thread of its own).

    It answers the first ``fail_first`` requests with ``status`` (and ``Retry-After`` when
    given), refuses with 400 the records whose title is in ``refuse``, and accepts the rest
    with 200. ``requests`` lists every request as (answer, headers, body).
    """

    def __init__(self, *, fail_first: int = 0, status: int = 503, refuse: Collection[str] = (),
                 retry_after: str | None = None, port: int = 0) -> None:
        self.fail_first, self.status, self.refuse = fail_first, status, set(refuse)
        self.retry_after = retry_after
        self.port = port
        self.requests: list[tuple[int, dict[str, str], bytes]] = []
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook/s3cr3t-path?token=t0k3n"

    @property
    def accepted(self) -> list[dict[str, Any]]:
        """The records answered with 200, in arrival order."""
        return [json.loads(body) for status, _, body in self.requests if status == 200]

    async def _main(self) -> None:
        from aiohttp import web

        async def hook(request: web.Request) -> web.Response:
            body = await request.read()
            headers = dict(request.headers)
            if len(self.requests) < self.fail_first:
                answer = self.status
            elif json.loads(body).get("title") in self.refuse:
                answer = 400
            else:
                answer = 200
            self.requests.append((answer, headers, body))
            extra = {"Retry-After": self.retry_after} if self.retry_after and answer != 200 else {}
            if answer == 302:
                extra["Location"] = "/elsewhere"
            return web.Response(status=answer, text="ok" if answer == 200 else "no", headers=extra)

        app = web.Application()
        app.router.add_post("/hook/s3cr3t-path", hook)
        app.router.add_route("*", "/elsewhere", hook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port)
        await site.start()
        self.port = runner.addresses[0][1]
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await runner.cleanup()

    def __enter__(self) -> WebhookServer:
        self._thread.start()
        if not self._ready.wait(15):
            raise AssertionError("the webhook server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)


# -- the processes the tests start ---------------------------------------------------------------
def _consume(args: argparse.Namespace) -> int:
    """A consumer driven line by line on stdin: ``read N`` prints the IDs it got as JSON."""
    from newsmon.scheduler.feed import FeedReader
    from newsmon.scheduler.redis_conn import connect
    from newsmon.settings.model import FeedSettings

    client = connect(args.url)
    settings = FeedSettings(claim_idle=timedelta(milliseconds=args.claim_idle_ms))
    reader = FeedReader(client, Keys(args.prefix), args.group, args.consumer, settings=settings,
                        from_id=args.from_id)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command, _, count = line.strip().partition(" ")
        if command == "read":
            items = reader.read(int(count or 10))
            print(json.dumps({"ids": [item.id for item in items],
                              "records": [item.record["id"] for item in items]}), flush=True)
            if not args.no_ack:
                reader.ack(items)
    return 0


def _sinks(args: argparse.Namespace) -> int:
    """Run a SinkRunner until SIGTERM, like the daemon does."""
    from newsmon.scheduler.redis_conn import connect
    from newsmon.scheduler.sinks import Backoff, SinkRunner
    from newsmon.scheduler.sinks.jsonl import JsonlFileSink
    from newsmon.scheduler.sinks.webhook import WebhookPoster
    from newsmon.settings.model import FeedSettings, WebhookSink

    client = connect(args.url)
    sinks: list[Any] = []
    if args.webhook:
        sinks.append(WebhookPoster(WebhookSink(name="test", url=args.webhook, secret=args.secret,
                                               max_attempts=3, timeout=5.0)))
    if args.jsonl:
        sinks.append(JsonlFileSink(Path(args.jsonl)))
    runner = SinkRunner(client, Keys(args.prefix), sinks, FeedSettings(),
                        backoff=Backoff(base=0.01, cap=0.05), batch=args.batch, lease=args.lease)

    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        print(json.dumps({"ready": True}), flush=True)
        await runner.run(stop)

    asyncio.run(main())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    consume = sub.add_parser("consume")
    consume.add_argument("--url", required=True)
    consume.add_argument("--prefix", required=True)
    consume.add_argument("--group", required=True)
    consume.add_argument("--consumer", required=True)
    consume.add_argument("--from-id", default="0")
    consume.add_argument("--claim-idle-ms", type=int, default=100)
    consume.add_argument("--no-ack", action="store_true")
    sinks = sub.add_parser("sinks")
    sinks.add_argument("--url", required=True)
    sinks.add_argument("--prefix", required=True)
    sinks.add_argument("--webhook")
    sinks.add_argument("--secret")
    sinks.add_argument("--jsonl")
    sinks.add_argument("--batch", type=int, default=100)
    sinks.add_argument("--lease", type=float, default=1.0)
    args = parser.parse_args(argv)
    return _consume(args) if args.command == "consume" else _sinks(args)


if __name__ == "__main__":
    sys.exit(main())
