"""The Lua scripts (store and job queue): their named arguments, and what they store and append, byte for byte.

Existing installations keep their state across upgrades, so the format tests pin what is
stored, whatever the way the scripts are called; the protocol tests hold the Python structures
and the scripts' headers to the same field names.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import typing
from datetime import timedelta
from importlib import resources
from typing import Any

import pytest
import redis

from newsmon.crawler.fingerprint import hash64, to_signed
from newsmon.scheduler.hosts import HostSlotArgs
from newsmon.scheduler.jobs import EnqueueArgs
from newsmon.scheduler.keys import Keys
from newsmon.scheduler.store import (
    NEAR_BUCKETS_DIVISOR,
    Fingerprints,
    PublishArgs,
    RecheckArgs,
    StoryStore,
    UnseenArgs,
    _argument,
)
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


#: One documented field of a script's JSON argument: two spaces, name, JSON type, meaning.
FIELD_LINE = re.compile(r"  ([a-z][a-z0-9_]*) +(\S+) {2,}\S")
SCRIPTS = [("publish.lua", PublishArgs), ("unseen.lua", UnseenArgs), ("recheck.lua", RecheckArgs),
           ("enqueue.lua", EnqueueArgs), ("host_slot.lua", HostSlotArgs)]


def _source(script: str) -> str:
    return resources.files("newsmon.scheduler").joinpath(f"lua/{script}").read_text(encoding="utf-8")


def _documented(script: str) -> dict[str, str]:
    """The fields of ARGV[1] the header of ``script`` documents, with their JSON types."""
    header = _source(script).split("]]", 1)[0]
    _, section = header.split("\nARGV[1] fields (name, JSON type, meaning):\n", 1)
    fields = {}
    for line in section.split("\n\n", 1)[0].splitlines():
        match = FIELD_LINE.match(line)
        assert match or line.startswith(" " * 8), f"{script}: not a field line nor a continuation: {line!r}"
        if match:
            fields[match[1]] = match[2]
    return fields


def _json_type(hint: Any) -> str:
    """How the header spells the JSON type of a Python field type."""
    if hint in (int, str):
        return {int: "int", str: "string"}[hint]
    if typing.get_origin(hint) is list:
        return f"[{_json_type(typing.get_args(hint)[0])}]"
    options = typing.get_args(hint)
    assert type(None) in options, hint
    return "|".join(_json_type(o) for o in options if o is not type(None)) + "|null"


@pytest.mark.parametrize(("script", "structure"), SCRIPTS)
def test_script_header_documents_the_python_fields(script: str, structure: type) -> None:
    """The header of each script documents exactly the fields, and JSON types, Python sends it."""
    sent = {name: _json_type(hint) for name, hint in typing.get_type_hints(structure).items()}
    assert _documented(script) == sent


@pytest.mark.parametrize(("script", "structure"), SCRIPTS)
def test_script_reads_only_documented_fields(script: str, structure: type) -> None:
    """Each script reads every documented field of its argument, and no other."""
    body = _source(script).split("]]", 1)[1]
    assert set(re.findall(r"\bargs\.([a-z][a-z0-9_]*)", body)) == set(_documented(script))


def test_publish_refuses_keys_that_do_not_follow_its_argument(redis_client: redis.Redis, keys: Keys) -> None:
    """publish.lua answers an error and writes nothing when KEYS do not follow the argument's layout."""
    store = StoryStore(redis_client, keys, clock=Clock())
    url = "https://harbour.example/bridge"
    record = make_record(url)
    argument, script_keys, _ = store._publish_call(record, Fingerprints.of(record, [url]))
    with pytest.raises(redis.ResponseError, match="KEYS do not match"):
        store._publish(keys=script_keys[:-1], args=[_argument(argument)])
    pattern = keys.tag.replace("{", r"\{").replace("}", r"\}") + ":*"
    assert list(redis_client.scan_iter(match=pattern)) == []
