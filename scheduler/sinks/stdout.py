"""The stdout sink: records as JSON lines on standard output (``sinks.stdout: true``)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from newsmon.scheduler.feed import FeedItem
from newsmon.scheduler.sinks.base import Sink, SinkError


class StdoutSink(Sink):
    """Writes each record as one JSON line to ``out`` (default: the process's stdout)."""

    name = "stdout"
    chunk_size = 100

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out

    def deliver(self, items: Sequence[FeedItem]) -> None:
        out = self._out if self._out is not None else sys.stdout
        try:
            out.write("".join(item.line() for item in items))
            out.flush()
        except OSError as exc:  # a closed pipe or a full disk: the entries stay in the group
            raise SinkError(f"cannot write to stdout: {exc.strerror or exc}") from None
