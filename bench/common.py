"""What several benchmarks share: the extraction scorer of ``../shared/bench`` and a free port."""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path
from types import ModuleType
from typing import Any


def load_module(path: Path, name: str) -> ModuleType:
    """Import a script by its path (the shared scorer is not in a package)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"error: cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_scorer(shared: Path) -> Any:
    """``shared/bench/score_extraction.py`` as a module."""
    return load_module(shared / "bench" / "score_extraction.py", "score_extraction")


def free_port() -> int:
    """A TCP port free on 127.0.0.2 (where the mirrors serve their outlets)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.2", 0))
        return int(sock.getsockname()[1])
