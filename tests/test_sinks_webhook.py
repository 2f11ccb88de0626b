"""The webhook sink over real HTTP: headers and signature, failure kinds, an endpoint that is
down for a while, dead letters, and no secrets in logs."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from newsmon.scheduler.feed import FeedItem, FeedReader, groups_info
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.sinks import Backoff, SinkError, SinkRunner, WebhookPoster
from newsmon.settings.model import FeedSettings, WebhookSink
from tests.test_feed_support import WebhookServer, make_record, publish, publish_many, wait_for

SUPPORT = Path(__file__).with_name("test_feed_support.py")
FAST = Backoff(base=0.005, cap=0.05)


def _one(client: redis.Redis, keys: Keys, n: int = 1) -> FeedItem:
    publish(client, keys, make_record(n))
    (item,) = FeedReader(client, keys, "probe", "c").read(1)
    return item


def test_post_carries_the_record_and_signed_headers(redis_client: redis.Redis, keys: Keys) -> None:
    """The body is the record as published; headers name it and sign the body with HMAC-SHA256."""
    item = _one(redis_client, keys)
    with WebhookServer() as server:
        WebhookPoster(WebhookSink(name="h", url=server.url, secret="k3y")).deliver([item])
    ((status, headers, body),) = server.requests
    assert status == 200
    assert body == item.raw.encode()
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Newsmon-Event"] == "new"
    assert headers["X-Newsmon-Id"] == make_record(1)["id"]
    assert headers["X-Newsmon-Stream-Id"] == item.id
    expected = hmac.new(b"k3y", body, hashlib.sha256).hexdigest()
    assert headers["X-Newsmon-Signature"] == f"sha256={expected}"


def test_no_signature_without_a_secret(redis_client: redis.Redis, keys: Keys) -> None:
    """Without a secret, no signature header is sent."""
    item = _one(redis_client, keys)
    with WebhookServer() as server:
        WebhookPoster(WebhookSink(name="h", url=server.url)).deliver([item])
    assert "X-Newsmon-Signature" not in server.requests[0][1]


@pytest.mark.parametrize(("status", "rejected"), [(503, False), (429, False), (504, False),
                                                  (400, True), (410, True), (500, True), (302, True)])
def test_answers_are_classified(redis_client: redis.Redis, keys: Keys, status: int,
                                rejected: bool) -> None:
    """Busy or down answers mean "retry"; others refuse the record; redirects are not followed."""
    item = _one(redis_client, keys)
    with WebhookServer(fail_first=1, status=status, retry_after="7") as server, pytest.raises(SinkError) as caught:
        WebhookPoster(WebhookSink(name="h", url=server.url)).deliver([item])
    assert caught.value.rejected is rejected
    assert caught.value.delivered == 0
    assert caught.value.retry_after == 7
    assert str(caught.value) == f"http://127.0.0.1:{server.port} answered HTTP {status}"
    assert len(server.requests) == 1  # a redirect is not followed


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_connection_refused_is_unavailable(redis_client: redis.Redis, keys: Keys) -> None:
    """Nobody listening: the sink is unavailable, and a drain keeps every entry for later."""
    port = _free_port()
    sink = WebhookPoster(WebhookSink(name="h", url=f"http://127.0.0.1:{port}/hook"))
    with pytest.raises(SinkError, match=f"cannot reach http://127.0.0.1:{port}: ") as caught:
        sink.deliver([_one(redis_client, keys)])
    assert not caught.value.rejected
    publish_many(redis_client, keys, 3, start=10)
    assert SinkRunner(redis_client, keys, [sink], FeedSettings(), backoff=FAST).drain_once() == 0
    (info,) = [g for g in groups_info(redis_client, keys) if g.name == sink.group]
    assert info.pending + (info.lag or 0) == 4


@pytest.mark.slow
def test_an_endpoint_down_for_a_while_gets_everything_in_order(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    """A sink runner process, against an endpoint answering 503 for a while: once it recovers,
    every record arrives, in order, exactly once; SIGTERM then stops the runner cleanly."""
    publish_many(redis_client, keys, 40)
    with WebhookServer(fail_first=25, status=503) as server:
        runner = subprocess.Popen(
            [sys.executable, str(SUPPORT), "sinks", "--url", redis_url, "--prefix", keys.prefix,
             "--webhook", server.url, "--secret", "k3y", "--batch", "8"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            wait_for(lambda: len(server.accepted) == 40, timeout=60, what="all 40 records")
            publish_many(redis_client, keys, 5, start=40)
            wait_for(lambda: len(server.accepted) == 45, timeout=60, what="the later records")
        finally:
            runner.send_signal(signal.SIGTERM)
            _, err = runner.communicate(timeout=30)
    assert runner.returncode == 0
    assert [record["title"] for record in server.accepted] == [f"Story {i}" for i in range(45)]
    assert [status for status, _, _ in server.requests[:25]] == [503] * 25
    assert len(server.requests) == 25 + 45
    assert "k3y" not in err
    assert "s3cr3t-path" not in err


def test_the_sink_waits_out_a_refused_connection(redis_client: redis.Redis, keys: Keys) -> None:
    """Nobody listening at first, then an endpoint comes up: everything arrives, in order."""
    port = _free_port()
    publish_many(redis_client, keys, 10)
    sink = WebhookPoster(WebhookSink(name="h", url=f"http://127.0.0.1:{port}/hook/s3cr3t-path",
                                     timeout=5))
    runner = SinkRunner(redis_client, keys, [sink], FeedSettings(), backoff=FAST)

    async def scenario() -> list[str]:
        stop = asyncio.Event()
        task = asyncio.ensure_future(runner.run(stop))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while runner.counters["webhook:h", "unavailable"] < 3:
            assert loop.time() < deadline, "the sink never tried"
            await asyncio.sleep(0.01)  # polling interval of a bounded condition wait
        with WebhookServer(port=port) as server:
            while len(server.accepted) < 10:
                assert loop.time() < deadline, "the records never arrived"
                await asyncio.sleep(0.01)
            stop.set()
            await asyncio.wait_for(task, 15)
            return [record["title"] for record in server.accepted]

    assert asyncio.run(scenario()) == [f"Story {i}" for i in range(10)]


def test_a_refused_record_goes_to_the_dead_letters(redis_client: redis.Redis, keys: Keys,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """A record the endpoint keeps refusing is dead-lettered after max_attempts; the rest
    arrive in order; the secret and the URL's path never reach the log."""
    publish_many(redis_client, keys, 5)
    caplog.set_level(logging.DEBUG)
    with WebhookServer(refuse={"Story 2"}) as server:
        sink = WebhookPoster(WebhookSink(name="h", url=server.url, secret="k3y", max_attempts=3))
        assert SinkRunner(redis_client, keys, [sink], FeedSettings(), backoff=FAST).drain_once() == 4
    assert [record["title"] for record in server.accepted] == ["Story 0", "Story 1", "Story 3", "Story 4"]
    assert [status for status, _, _ in server.requests].count(400) == 3
    (letter,) = [json.loads(raw) for raw in redis_client.lrange(keys.dead_letters("webhook:h"), 0, -1)]
    assert letter["attempts"] == 3
    assert letter["error"].endswith("answered HTTP 400")
    assert json.loads(letter["fields"]["record"])["title"] == "Story 2"
    assert "webhook:h gave up on entry" in caplog.text
    assert "k3y" not in caplog.text
    assert "s3cr3t-path" not in caplog.text
    assert "t0k3n" not in caplog.text


def test_repr_hides_the_url_path_and_secret() -> None:
    """A webhook sink shows its name and host only."""
    sink = WebhookPoster(WebhookSink(name="h", url="https://user:pw@hooks.example:8443/t/0k3n?x=1",
                                     secret="k3y"))
    assert repr(sink) == "WebhookPoster('webhook:h', 'https://hooks.example:8443')"
