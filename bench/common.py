"""What several benchmarks share: the extraction scorer of ``../shared/bench`` and a free port."""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path
from typing import Any


def load_scorer(shared: Path) -> Any:
    """``shared/bench/score_extraction.py`` as a module (it is not a package)."""
    path = shared / "bench" / "score_extraction.py"
    spec = importlib.util.spec_from_file_location("score_extraction", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"no extraction scorer at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    """A TCP port free on 127.0.0.2 (where the mirrors serve their outlets)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.2", 0))
        return int(sock.getsockname()[1])
