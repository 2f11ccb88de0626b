"""The JSON Lines sink: one file per UTC day, ``<directory>/YYYY-MM-DD.jsonl``.

A record goes to the file of the day it was published to the stream (its stream ID's time), so
the files partition the stream and a record delivered again after a crash lands in the same
file. Each line is one record exactly as published, and a line is a record only once it ends
with a newline.

Crash and failure safety, in order, for every chunk of records:

1. the journal ``.journal.json`` records the size of each file about to grow and the last
   stream ID of the chunk (written to a temporary file, fsynced, renamed, directory fsynced);
2. the lines are appended with ``O_APPEND`` writes, one file after the other, and fsynced;
3. the runner acknowledges the chunk (only once :meth:`JsonlFileSink.deliver` returned).

If any step fails (a full disk, a file size limit, an I/O error: a write may have gone in
part), the files are cut back to the journalled sizes before the error is reported, and
nothing of the chunk is acknowledged. If that cut fails too, the sink remembers it and makes
it first at its next delivery, before writing anything. When the sink starts and the journal's
last entry is still unacknowledged (a crash), the files are cut back to the journalled sizes
and the chunk is written again when it is redelivered. And before a file grows, a last line
without its newline is cut (a crash with no journal to say more). So a file never keeps a
partial line or the same entry twice, whatever write fails where.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from newsmon.scheduler.feed import FeedItem
from newsmon.scheduler.sinks.base import Sink, SinkError

logger = logging.getLogger(__name__)

JOURNAL = ".journal.json"


class JsonlFileSink(Sink):
    """Appends records to daily JSON Lines files under ``directory``."""

    name = "jsonl"
    chunk_size = 500

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._repaired: set[str] = set()
        #: File name -> size to cut it back to: the files of a chunk whose write failed.
        self._undo_sizes: dict[str, int] = {}

    def path(self, item: FeedItem) -> Path:
        """The file ``item`` goes to."""
        return self.directory / f"{item.time:%Y-%m-%d}.jsonl"

    def recover(self, is_pending: Callable[[str], bool]) -> None:
        # What this process remembers of a failed chunk is stale once the sink restarts (another
        # process may have delivered meanwhile); the journal on disk says what to cut.
        self._repaired.clear()
        self._undo_sizes.clear()
        try:
            self._recover(is_pending)
        except OSError as exc:
            raise SinkError(f"cannot recover under {self.directory}: {exc.strerror or exc}") from None

    def _recover(self, is_pending: Callable[[str], bool]) -> None:
        journal = self._read_journal()
        if journal is None or not is_pending(journal[0]):
            return
        last_id, sizes = journal
        for name, size in sizes.items():
            path = self.directory / name
            if path.exists() and path.stat().st_size > size:
                logger.warning(
                    "JSONL sink: cutting %s back to %d bytes: its last chunk (up to entry %s) "
                    "was not acknowledged and will be written again", path, size, last_id,
                )
                with path.open("r+b") as handle:
                    handle.truncate(size)
                    os.fsync(handle.fileno())
            self._repaired.add(name)

    def deliver(self, items: Sequence[FeedItem]) -> None:
        if not items:
            return
        chunks: dict[str, list[str]] = {}
        for item in items:
            chunks.setdefault(self.path(item).name, []).append(item.line())
        try:
            self._undo()  # a chunk that failed and could not be cut back then
            self.directory.mkdir(parents=True, exist_ok=True)
            sizes = {name: self._size_after_repair(self.directory / name) for name in chunks}
            self._write_journal({"version": 1, "last_id": items[-1].id, "files": sizes})
        except OSError as exc:
            raise SinkError(f"cannot write under {self.directory}: {exc.strerror or exc}") from None
        self._undo_sizes = sizes
        try:
            for name, lines in chunks.items():
                self._append(self.directory / name, "".join(lines).encode("utf-8"), sizes[name])
        except OSError as exc:
            message = f"cannot write under {self.directory}: {exc.strerror or exc}"
            try:
                self._undo()
            except OSError as undo:
                logger.warning("JSONL sink: cannot cut the files back yet (%s); will before the "
                               "next write", undo.strerror or undo)
            raise SinkError(message) from None
        self._undo_sizes = {}

    def _undo(self) -> None:
        """Cut the files of a failed chunk back to their sizes before it (a no-op if none)."""
        for name, size in list(self._undo_sizes.items()):
            path = self.directory / name
            try:
                current = path.stat().st_size
            except FileNotFoundError:
                current = 0
            if current > size:
                logger.warning("JSONL sink: cutting %s back to %d bytes: a write of %d bytes "
                               "failed and will be made again", path, size, current - size)
                with path.open("r+b") as handle:
                    handle.truncate(size)
                    os.fsync(handle.fileno())
            del self._undo_sizes[name]

    def _size_after_repair(self, path: Path) -> int:
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return 0
        if path.name in self._repaired or size == 0:
            return size
        self._repaired.add(path.name)
        with path.open("r+b") as handle:
            handle.seek(size - 1)
            if handle.read(1) == b"\n":
                return size
            # A partial last line, from a crash with no journal to say more: cut it.
            end = size
            while end > 0:
                start = max(0, end - 65536)
                handle.seek(start)
                newline = handle.read(end - start).rfind(b"\n")
                if newline >= 0:
                    end = start + newline + 1
                    break
                end = start
            logger.warning("JSONL sink: cutting a partial last line from %s (%d bytes)",
                           path, size - end)
            handle.truncate(end)
            os.fsync(handle.fileno())
            return end

    def _append(self, path: Path, data: bytes, size_before: int) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        if size_before == 0:
            _fsync_dir(self.directory)  # a new file: make its name durable too

    def _read_journal(self) -> tuple[str, dict[str, int]] | None:
        """The journal's last stream ID and file sizes, or None."""
        path = self.directory / JOURNAL
        try:
            journal = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            return None
        except ValueError:
            journal = None
        try:
            last_id, files = journal["last_id"], journal["files"]
            sizes = {str(name): int(size) for name, size in files.items()}
        except (TypeError, KeyError, ValueError, AttributeError):
            logger.warning("JSONL sink: ignoring an unreadable journal %s", path)
            return None
        return str(last_id), sizes

    def _write_journal(self, journal: dict[str, object]) -> None:
        path = self.directory / JOURNAL
        temporary = path.with_suffix(".tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            json.dump(journal, handle)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
        _fsync_dir(self.directory)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
