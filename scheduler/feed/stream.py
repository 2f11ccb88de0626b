"""The article stream's vocabulary: stream IDs, group positions, group and consumer names, and
the decoding of stream entries from Redis replies."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

#: Consumer group and consumer names: what is safe in a shell, a log line and a key.
NAME_PATTERN = re.compile(r"[A-Za-z0-9._:-]+")
#: Consumer groups whose names start with this feed the sinks (one consumer each, in order).
SINK_GROUP_PREFIX = "sink:"
#: The largest sequence number of a stream ID.
MAX_SEQ = 2**64 - 1
#: The time of stream ID 0 and the unit of its first part.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)

_STREAM_ID = re.compile(r"(\d{1,20})(?:-(\d{1,20}))?")


def parse_stream_id(text: str) -> tuple[int, int]:
    """``"<ms>-<seq>"`` (or ``"<ms>"``) as a tuple that sorts like the stream does."""
    match = _STREAM_ID.fullmatch(text)
    if match is None:
        raise ValueError(f'expected a stream ID like 1700000000000-0, got "{text}"')
    ms, seq = int(match[1]), int(match[2] or 0)
    if ms > MAX_SEQ or seq > MAX_SEQ:
        raise ValueError(f'stream ID out of range: "{text}"')
    return ms, seq


def id_time(stream_id: str) -> datetime:
    """When the entry was added to the stream (the ID's milliseconds), in UTC."""
    return EPOCH + parse_stream_id(stream_id)[0] * MS


def start_position(start: str) -> str:
    """The group position (its last-delivered ID) from which delivery begins at ``start``.

    ``start`` is ``$`` (entries added from now on), ``0`` (everything the stream holds), a
    stream ID ``<ms>-<seq>`` or ``<ms>`` (that entry and every later one), or an ISO 8601 time
    (every entry added at or after it; a time without a zone is UTC).

    Raises:
        ValueError: ``start`` is none of these.
    """
    start = start.strip()
    if start in ("$", "0"):
        return start
    if _STREAM_ID.fullmatch(start):
        ms, seq = parse_stream_id(start)
    else:
        try:
            when = datetime.fromisoformat(start)
        except ValueError:
            raise ValueError(
                f'expected a stream ID like 1700000000000-0 or an ISO time, got "{start}"'
            ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        # An entry of millisecond m was added during [m, m + 1 ms): round the time up.
        ms, seq = max(0, -(-(when - EPOCH) // MS)), 0
    # A group delivers the entries *after* its position: step back by one ID.
    if seq > 0:
        return f"{ms}-{seq - 1}"
    if ms > 0:
        return f"{ms - 1}-{MAX_SEQ}"
    return "0"


def check_name(name: str, what: str = "group") -> str:
    """Return ``name`` if it is a valid group or consumer name, else raise ValueError."""
    if not NAME_PATTERN.fullmatch(name):
        raise ValueError(f'{what} name: expected letters, digits and . _ : -, got "{name}"')
    return name


def default_consumer() -> str:
    """``<host>-<pid>``: unique among running processes, so consumers never share a name."""
    host = re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname()) or "host"
    return f"{host}-{os.getpid()}"


# -- Redis replies -----------------------------------------------------------------------------
def as_str(value: Any) -> str:
    """A reply value as text: bytes are decoded as UTF-8 (invalid bytes replaced)."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def reply_entries(reply: Any) -> list[tuple[str, dict[str, str]]]:
    """The entries of an XREADGROUP reply on one stream (RESP2 list or RESP3 map)."""
    if not reply:
        return []
    if isinstance(reply, Mapping):
        (batch,) = reply.values()
        batch = batch[0] if batch and isinstance(batch[0], list) else batch
    else:
        batch = reply[0][1]
    return [(as_str(stream_id), entry_fields(fields)) for stream_id, fields in batch]


def entry_fields(raw: Mapping[Any, Any] | Sequence[Any] | None) -> dict[str, str]:
    """An entry's fields (RESP3 map or RESP2 flat list of field, value, ...) as a dict."""
    if not raw:
        return {}
    if isinstance(raw, Mapping):
        return {as_str(k): as_str(v) for k, v in raw.items()}
    return {as_str(raw[i]): as_str(raw[i + 1]) for i in range(0, len(raw) - 1, 2)}
