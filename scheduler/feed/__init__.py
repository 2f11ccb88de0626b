"""The article feed, read through Redis consumer groups: the consumer API, replay and retention.

Each downstream job reads the article stream (``Keys.articles``) through a consumer group of
its own, so jobs never see each other's progress. Inside a group, entries are shared between
the group's consumers; an entry stays *pending* until it is acknowledged, and an entry pending
longer than ``FeedSettings.claim_idle`` (its consumer crashed or hangs) is claimed by the next
consumer of the group that reads. Delivery is at-least-once: acknowledge after the work is done.

The stream entry format and the record fields are the contract of ``docs/record.md``;
``scheduler/record.schema.json`` is its machine-readable form.

``newsmon.scheduler.feed`` is the public import path; the parts live in:

- ``stream``: stream IDs, group positions, group and consumer names;
- ``item``: :class:`FeedItem`, one stream entry;
- ``reader``: :class:`FeedReader`, one consumer of one group;
- ``groups``: :func:`groups_info`, :func:`trim` and :func:`retention_warnings`;
- ``deadletters``: each group's dead letters: list, requeue, drop; deleting a group;
- ``record``: the record shape, its JSON Schema and :func:`validate_record`.
"""

from __future__ import annotations

from newsmon.scheduler.feed.deadletters import (
    DEAD_LETTERS_CAP,
    UnknownDeadLetters,
    add_dead_letter,
    dead_letter_key,
    delete_group,
    drop,
    list_dead,
    requeue,
)
from newsmon.scheduler.feed.groups import LAG_COUNT_CAP, GroupInfo, groups_info, retention_warnings, trim
from newsmon.scheduler.feed.item import FeedItem, MalformedRecord, entry_problem
from newsmon.scheduler.feed.reader import BLOCK_SLICE, FeedReader
from newsmon.scheduler.feed.record import InvalidRecord, Record, record_problems, record_schema, validate_record
from newsmon.scheduler.feed.stream import (
    MAX_SEQ,
    NAME_PATTERN,
    SINK_GROUP_PREFIX,
    check_name,
    default_consumer,
    id_time,
    parse_stream_id,
    start_position,
)

__all__ = [
    "BLOCK_SLICE",
    "DEAD_LETTERS_CAP",
    "LAG_COUNT_CAP",
    "MAX_SEQ",
    "NAME_PATTERN",
    "SINK_GROUP_PREFIX",
    "FeedItem",
    "FeedReader",
    "GroupInfo",
    "InvalidRecord",
    "MalformedRecord",
    "Record",
    "UnknownDeadLetters",
    "add_dead_letter",
    "check_name",
    "dead_letter_key",
    "default_consumer",
    "delete_group",
    "drop",
    "entry_problem",
    "groups_info",
    "id_time",
    "list_dead",
    "parse_stream_id",
    "record_problems",
    "record_schema",
    "requeue",
    "retention_warnings",
    "start_position",
    "trim",
    "validate_record",
]
