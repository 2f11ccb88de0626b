"""The store's Lua scripts: the formats they leave in Redis and the records they append, byte for byte.

Existing installations keep their state across upgrades, so these pin what is stored, not how
the scripts are called.
"""

from __future__ import annotations

import hashlib
import json
import struct
from datetime import timedelta

import redis

from newsmon.crawler.fingerprint import hash64, to_signed
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.store import NEAR_BUCKETS_DIVISOR, Fingerprints, StoryStore
from newsmon.settings.model import DedupSettings
from tests.test_store import Clock, make_record

#: 64-bit values a double cannot hold: above 2**53, odd, the top bit set in most.
TEXT = 0xFEDC_BA98_7654_3211
SIMHASH = 0x8000_0000_0000_0001
TITLE = (1 << 53) + 1
ANCHORS = (0x9ABC_DEF0_1234_5679, 0, 0xFFFF_FFFF_FFFF_FFFF, 0)


def _digest4(value: str | None) -> bytes:
    return b"\0" * 4 if value is None else hashlib.blake2b(value.encode(), digest_size=4).digest()


def _state(flags: int, revision: int, cluster: str, published: str | None, modified: str | None) -> bytes:
    """The 28-byte state record the store has always written (version 1)."""
    return (struct.pack(">BBH", 1, flags, revision) + TEXT.to_bytes(8, "big")[:4] + TITLE.to_bytes(8, "big")[:4]
            + _digest4(published) + _digest4(modified) + bytes.fromhex(cluster))


def _family(client: redis.Redis, keys: Keys, kind: str) -> dict[str, bytes | set[bytes] | dict[bytes, bytes]]:
    """Every key of one family (``seen:u``, ``stories``, ...) with its value, by name without the tag."""
    pattern = keys.tag.replace("{", r"\{").replace("}", r"\}") + f":{kind}:*"
    found: dict[str, bytes | set[bytes] | dict[bytes, bytes]] = {}
    for raw in client.scan_iter(match=pattern, count=1000):
        name = raw.decode()[len(keys.tag) + 1:]
        kind_of = client.type(raw).decode()
        found[name] = {"set": client.smembers, "hash": client.hgetall, "string": client.get}[kind_of](raw)
    return found


def test_stored_structures_keep_their_format(redis_client: redis.Redis, keys: Keys) -> None:
    """64-bit values above 2**53 reach Redis exactly, in the key names and packed formats stored so far."""
    clock = Clock()
    dedup = DedupSettings(recheck=(timedelta(hours=1), timedelta(hours=6)))
    store = StoryStore(redis_client, keys, dedup, clock=clock)
    url, alias, copy_url = "https://harbour.example/bridge", "https://harbour.example/amp", "https://coast.example/b"
    record = make_record(url, modified="2024-01-28T16:00:00Z")
    copy = make_record(copy_url, source="coast-daily")
    prints = {"text": TEXT, "simhash": SIMHASH, "title": TITLE, "anchors": ANCHORS}
    original = store.publish(record, Fingerprints((url, alias), **prints))
    duplicate = store.publish(copy, Fingerprints((copy_url,), **prints))
    assert (original.event, duplicate.event, duplicate.reason) == ("new", "duplicate", "same-text")
    sid, copy_sid = original.story_id, duplicate.story_id

    window, near = (int(d.total_seconds()) // 4 for d in (dedup.window, dedup.near_window))
    g, n = int(clock.now // window), int(clock.now // near)
    buckets, near_buckets = dedup.url_buckets, dedup.url_buckets // NEAR_BUCKETS_DIVISOR
    assert _family(redis_client, keys, "seen:u") == {
        f"seen:u:{g}:{hash64(u) % buckets}": {str(to_signed(hash64(u))).encode()} for u in (url, alias, copy_url)
    }
    assert _family(redis_client, keys, "seen:t") == {f"seen:t:{g}:{TEXT % buckets}": {str(to_signed(TEXT)).encode()}}
    states: dict[str, dict[bytes, bytes]] = {}
    for story, state in ((sid, _state(0, 1, sid, record["published"], record["modified"])),
                         (copy_sid, _state(1, 1, sid, copy["published"], None))):
        states.setdefault(f"stories:{g}:{int(story, 16) % buckets}", {})[bytes.fromhex(story)] = state
    assert _family(redis_client, keys, "stories") == states
    tail = SIMHASH.to_bytes(8, "big") + bytes.fromhex(sid)
    index = {
        f"near:{n}:{band}:{value % near_buckets}": value.to_bytes(8, "big")[:4] + tail
        for band, value in enumerate(ANCHORS) if value
    }
    assert _family(redis_client, keys, "near") == {name: data * 2 for name, data in index.items()}
    assert _family(redis_client, keys, "title") == {
        f"title:{n}:{TITLE % near_buckets}": (TITLE.to_bytes(8, "big")[:4] + tail) * 2
    }
    first = int(clock.now)
    assert redis_client.zrange(keys.recheck, 0, -1, withscores=True) == [
        (json.dumps([sid, record["url"], "harbour-news", first, 0], separators=(",", ":")).encode(), first + 3600)
    ]


def test_record_reaches_the_stream_byte_for_byte(redis_client: redis.Redis, keys: Keys) -> None:
    """The record's JSON (quotes, backslashes, control and astral characters) is appended unchanged."""
    store = StoryStore(redis_client, keys, clock=Clock())
    url = "https://harbour.example/bridge"
    record = make_record(url, title='Quote " backslash \\ slash / tab \t nul \x00 \U0001f600 «ü» \u2028',
                         description="line\nbreak\r\n", tags=["a/b", "\x7f", ""], authors=[], image=None)
    outcome = store.publish(record, Fingerprints.of(record, [url]))
    ((_, fields),) = redis_client.xrange(keys.articles)
    decided = {"event": "new", "duplicate_of": None, "cluster_id": outcome.story_id, "revision": 1, "changes": []}
    expected = json.dumps({"id": outcome.story_id, **record, **decided}, ensure_ascii=False, separators=(",", ":"))
    assert fields[b"record"] == expected.encode("utf-8")
    assert (fields[b"id"], fields[b"event"], fields[b"source"]) == (outcome.story_id.encode(), b"new", b"harbour-news")
