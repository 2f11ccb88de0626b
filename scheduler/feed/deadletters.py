"""Dead letters: the entries a group gave up on, and what a person can do with them.

Every consumer group has one dead-letter list (newest first, capped): ``{p}:dead:feed:<group>``
for a reader's group, ``{p}:dead:<name>`` for the sink group ``sink:<name>``. Each letter is a
JSON object with at least ``stream_id``, ``error``, ``failed_at`` and ``fields`` (the stream
entry as published). :func:`list_dead`, :func:`requeue` and :func:`drop` are ``newsmon feed
dead list|requeue|drop``; :func:`delete_group` is ``newsmon feed groups delete``.

A requeued letter goes back to *its group only*: it is kept in ``Keys.feed_requeue(group)``
until a reader of that group has it acknowledged (the stream itself is not written again, so
no other group sees it twice).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

import redis

from newsmon.scheduler.feed.stream import SINK_GROUP_PREFIX, as_str, parse_stream_id
from newsmon.scheduler.keys import Keys

logger = logging.getLogger(__name__)

#: Dead letters kept per group; older ones are dropped.
DEAD_LETTERS_CAP = 10_000


class UnknownDeadLetters(LookupError):
    """Some stream IDs named for requeue or drop are not in the group's dead letters."""

    def __init__(self, group: str, ids: Collection[str]) -> None:
        super().__init__(f'group "{group}" has no dead letter with stream ID {", ".join(sorted(ids))}')
        self.ids = sorted(ids)


def dead_letter_key(keys: Keys, group: str) -> str:
    """The dead-letter list of ``group`` (a sink group shares its sink's list)."""
    if group.startswith(SINK_GROUP_PREFIX):
        return keys.dead_letters(group[len(SINK_GROUP_PREFIX):])
    return keys.dead_letters(f"feed:{group}")


def now_text() -> str:
    """The time of a dead letter (UTC, microseconds)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def add_dead_letter(pipe: Any, key: str, letter: Mapping[str, Any], cap: int = DEAD_LETTERS_CAP) -> None:
    """Queue on ``pipe`` (a Redis pipeline) the push of one letter to ``key``, keeping ``cap``."""
    pipe.lpush(key, json.dumps(letter, ensure_ascii=False))
    pipe.ltrim(key, 0, cap - 1)


def _letters(client: redis.Redis, key: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for raw in client.lrange(key, 0, -1):
        text = as_str(raw)
        try:
            letter = json.loads(text)
        except ValueError:
            letter = None
        if not isinstance(letter, dict):
            letter = {"stream_id": None, "error": "unreadable dead letter", "raw": text}
        out.append((text, letter))
    return out


def list_dead(client: redis.Redis, keys: Keys, group: str) -> list[dict[str, Any]]:
    """The dead letters of ``group``, oldest entry (by stream ID) first."""
    letters = [letter for _raw, letter in _letters(client, dead_letter_key(keys, group))]
    return sorted(letters, key=_order)


def _order(letter: Mapping[str, Any]) -> tuple[int, int]:
    try:
        return parse_stream_id(str(letter.get("stream_id")))
    except ValueError:
        return (2**64, 0)


def _select(client: redis.Redis, keys: Keys, group: str,
            ids: Collection[str] | None) -> list[tuple[str, dict[str, Any]]]:
    letters = _letters(client, dead_letter_key(keys, group))
    if ids is None:
        return letters
    wanted = set(ids)
    chosen = [(raw, letter) for raw, letter in letters if letter.get("stream_id") in wanted]
    missing = wanted - {letter.get("stream_id") for _raw, letter in chosen}
    if missing:
        raise UnknownDeadLetters(group, missing)
    return chosen


def requeue(client: redis.Redis, keys: Keys, group: str, ids: Collection[str] | None = None) -> int:
    """Give dead letters of ``group`` (those with stream IDs ``ids``; None: all) back to it.

    Its readers deliver them before new entries, under their original stream IDs, until one
    acknowledges each (see :class:`~newsmon.scheduler.feed.reader.FeedReader`). Returns how
    many were requeued.

    Raises:
        UnknownDeadLetters: an ID is not among the group's dead letters (nothing is changed).
    """
    chosen = [(raw, letter) for raw, letter in _select(client, keys, group, ids)
              if isinstance(letter.get("fields"), dict) and letter.get("stream_id")]
    if not chosen:
        return 0
    key = dead_letter_key(keys, group)
    pipe = client.pipeline(transaction=True)
    for raw, letter in chosen:
        pipe.hset(keys.feed_requeue(group), str(letter["stream_id"]),
                  json.dumps({"fields": letter["fields"], "deliveries": 0}, ensure_ascii=False))
        pipe.lrem(key, 1, raw)
    pipe.execute()
    logger.info("Feed group %s: %d dead letters requeued", group, len(chosen))
    return len(chosen)


def drop(client: redis.Redis, keys: Keys, group: str, ids: Collection[str] | None = None) -> int:
    """Delete dead letters of ``group`` (those with stream IDs ``ids``; None: all); returns how many.

    Raises:
        UnknownDeadLetters: an ID is not among the group's dead letters (nothing is changed).
    """
    chosen = _select(client, keys, group, ids)
    if not chosen:
        return 0
    key = dead_letter_key(keys, group)
    pipe = client.pipeline(transaction=True)
    for raw, _letter in chosen:
        pipe.lrem(key, 1, raw)
    pipe.execute()
    return len(chosen)


def delete_group(client: redis.Redis, keys: Keys, group: str) -> bool:
    """Delete consumer group ``group`` with its pending entries, dead letters and requeued
    entries. Returns False when there was no such group (nothing is deleted then)."""
    try:
        destroyed = int(client.xgroup_destroy(keys.articles, group))
    except redis.ResponseError:  # no stream yet
        destroyed = 0
    if not destroyed:
        return False
    client.delete(dead_letter_key(keys, group), keys.feed_requeue(group), keys.feed_holding(group))
    logger.info("Deleted feed group %s", group)
    return True
