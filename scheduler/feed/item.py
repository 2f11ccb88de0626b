"""One entry of the article stream as a consumer sees it: :class:`FeedItem`, and
:func:`entry_problem`, which tells a well-formed entry from a poison one."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import cast

from newsmon.scheduler.feed.record import Record, record_schema
from newsmon.scheduler.feed.stream import id_time


class MalformedRecord(ValueError):
    """A stream entry's ``record`` field is not a JSON object."""


#: The schema_version whose required fields :func:`entry_problem` checks.
SCHEMA_VERSION = 1
#: Record fields that must be strings (a reader filters and deduplicates on them).
_STRING_FIELDS = ("id", "event", "source")


def _required() -> tuple[str, ...]:
    return tuple(record_schema().get("required", ()))


def entry_problem(fields: Mapping[str, str]) -> tuple[str | None, Record | None]:
    """Why a stream entry cannot be delivered, or None; and its parsed record when it can.

    An entry is poison when its ``record`` field is missing, is not JSON, is not a JSON object,
    or breaks the record contract where every reader relies on it: an integer
    ``schema_version``, string ``id``, ``event`` and ``source``, and, for schema_version 1, every
    required field present. (The full JSON Schema is :func:`validate_record`'s job: it needs
    ``jsonschema``, and a reader ignores fields it does not know.) An entry with no fields at all
    (trimmed while pending) is not judged here.
    """
    raw = fields.get("record")
    if raw is None:
        return "no record field", None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        return f"record is not JSON ({exc})", None
    problem = _contract_problem(value)
    return (problem, None) if problem else (None, cast(Record, value))


def _contract_problem(value: object) -> str | None:
    if not isinstance(value, dict):
        return f"record is a JSON {type(value).__name__}, not an object"
    version = value.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        return "record has no integer schema_version"
    wrong = [name for name in _STRING_FIELDS if not isinstance(value.get(name), str)]
    if wrong:
        return f"record fields {', '.join(wrong)} are not strings"
    missing = [name for name in _required() if name not in value] if version == SCHEMA_VERSION else []
    return f"record lacks required fields {', '.join(missing)}" if missing else None


class FeedItem:
    """One stream entry: its stream ID, its fields, and the record (parsed on first use)."""

    __slots__ = ("_record", "fields", "id")

    def __init__(self, stream_id: str, fields: Mapping[str, str], record: Record | None = None) -> None:
        self.id = stream_id
        self.fields = fields
        self._record: Record | None = record

    @property
    def raw(self) -> str:
        """The record exactly as published: one JSON object.

        Raises:
            MalformedRecord: the entry has no record field.
        """
        try:
            return self.fields["record"]
        except KeyError:
            raise MalformedRecord(f"entry {self.id}: no record field") from None

    @property
    def record(self) -> Record:
        """The parsed record. Raises MalformedRecord when it is not a JSON object."""
        if self._record is None:
            try:
                value = json.loads(self.raw)
            except ValueError as exc:
                raise MalformedRecord(f"entry {self.id}: record is not JSON: {exc}") from None
            if not isinstance(value, dict):
                raise MalformedRecord(f"entry {self.id}: record is not a JSON object")
            self._record = cast(Record, value)
        return self._record

    def line(self) -> str:
        """The record as one line of JSON (as published), newline included.

        Raises:
            MalformedRecord: the record is not a JSON object (nothing else is ever written).
        """
        record = self.record  # parsed (once) so that nothing but a JSON object is written out
        raw = self.raw
        if "\n" in raw or "\r" in raw:  # pretty-printed by someone: make it one line
            raw = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        return raw + "\n"

    @property
    def event(self) -> str:
        return self.fields.get("event", "")

    @property
    def source(self) -> str:
        return self.fields.get("source", "")

    @property
    def time(self) -> datetime:
        """When the entry was published to the stream (UTC)."""
        return id_time(self.id)

    def __repr__(self) -> str:
        return f"FeedItem({self.id!r}, event={self.event!r}, source={self.source!r})"
