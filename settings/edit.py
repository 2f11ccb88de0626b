"""Edit a configuration file without losing what people wrote in it: comments, order, quoting.

Only appending sources is supported. The new entries are inserted as text after the last item of
the ``sources`` list, found with the YAML parser's own positions (no YAML round trip: the rest of
the file stays byte for byte as it was, so no dependency such as ruamel.yaml is needed). The
result is validated by the loader before it replaces the file, atomically.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode


class EditError(ValueError):
    """The file cannot be edited automatically; the message says why (one line)."""


def append_sources(text: str, entries: Sequence[Mapping[str, Any]]) -> str:
    """``text`` with ``entries`` appended to its ``sources`` list (created when missing).

    Raises:
        EditError: the file is not a YAML mapping, or its ``sources`` is not a block list.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise EditError(f"not valid YAML: {str(exc).splitlines()[0]}") from None
    sequence = _sources_node(root)
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    if sequence is None:
        return "".join(lines) + "sources:\n" + _render(entries, 0)
    if not isinstance(sequence, SequenceNode):
        raise EditError("sources: expected a list")
    if sequence.flow_style:
        if sequence.value:
            raise EditError("sources is written as a [flow, list]; add the entry by hand")
        # "sources: []": the empty list becomes a block list.
        start, end = sequence.start_mark, sequence.end_mark
        line = lines[start.line]
        lines[start.line] = line[:start.column].rstrip() + "\n" + _render(entries, 0) + line[end.column:].lstrip(" ")
        if not lines[start.line].endswith("\n"):
            lines[start.line] += "\n"
        return "".join(lines)
    indent = sequence.start_mark.column
    # After the last item: its end, less the blank lines and the comments at or left of the
    # list's column, which belong to what follows.
    end = sequence.value[-1].end_mark
    at = min(end.line + (1 if end.column else 0), len(lines))
    while at > 0:
        previous = lines[at - 1]
        stripped = previous.strip()
        if not stripped or (stripped.startswith("#") and len(previous) - len(previous.lstrip()) <= indent):
            at -= 1
            continue
        break
    return "".join(lines[:at]) + _render(entries, indent) + "".join(lines[at:])


def _sources_node(root: Node | None) -> Node | None:
    if root is None:
        return None
    if not isinstance(root, MappingNode):
        raise EditError("the file is not a mapping of settings")
    found = None
    for key, value in root.value:
        if key.value == "sources":
            found = value
    return found


def _render(entries: Sequence[Mapping[str, Any]], indent: int) -> str:
    block = yaml.safe_dump([dict(e) for e in entries], sort_keys=False, default_flow_style=False,
                           allow_unicode=True, width=1000)
    pad = " " * indent
    return "".join(pad + line if line.strip() else line for line in block.splitlines(keepends=True))


def replace_validated(path: Path, text: str, validate: Callable[[Path], object]) -> None:
    """Write ``text`` to ``path`` if ``validate`` (the loader) accepts it, atomically.

    ``validate`` reads a temporary copy next to ``path`` (relative paths resolve the same way)
    and raises (a ``ConfigError``) when it is not valid; ``path`` is then left untouched.
    """
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        validate(Path(temporary))
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
