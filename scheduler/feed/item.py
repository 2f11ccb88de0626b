"""One entry of the article stream as a consumer sees it: :class:`FeedItem`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import cast

from newsmon.scheduler.feed.record import Record
from newsmon.scheduler.feed.stream import id_time


class MalformedRecord(ValueError):
    """A stream entry's ``record`` field is not a JSON object."""


class FeedItem:
    """One stream entry: its stream ID, its fields, and the record (parsed on first use)."""

    __slots__ = ("_record", "fields", "id")

    def __init__(self, stream_id: str, fields: Mapping[str, str]) -> None:
        self.id = stream_id
        self.fields = fields
        self._record: Record | None = None

    @property
    def raw(self) -> str:
        """The record exactly as published: one JSON object."""
        return self.fields["record"]

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
        """The record as one line of JSON (as published), newline included."""
        raw = self.raw
        if "\n" in raw or "\r" in raw:  # pretty-printed by someone: make it one line
            raw = json.dumps(self.record, ensure_ascii=False, separators=(",", ":"))
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
