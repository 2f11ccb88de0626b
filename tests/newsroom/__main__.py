"""Run the newsroom as a process: ``python -m tests.newsroom --port P --outlets 4``.

Prints ``newsroom: ready on port P`` once every outlet listens (after writing ``--config-out``
and ``--state-file``), keeps the state file current after every publish and break, and exits 0
on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from tests.newsroom.room import Newsroom


def _write(path: Path, text: str) -> None:
    """Write ``text`` so that a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    Path(temporary).replace(path)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.newsroom", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="the port every outlet shares; 0 picks one")
    parser.add_argument("--outlets", type=int, default=4, help="how many outlets (default 4)")
    parser.add_argument("--seed", type=int, default=1, help="the corpus seed (default 1)")
    parser.add_argument("--now", type=datetime.fromisoformat, default=None,
                        help="the room's now, ISO 8601 with an offset (default: the start time)")
    parser.add_argument("--config-out", type=Path, help="write a newsmon config for the room here")
    parser.add_argument("--interval", default="2s", help="the sources' poll interval in --config-out")
    parser.add_argument("--topic", action="store_true", help="include the topic section in --config-out")
    parser.add_argument("--state-file", type=Path, help="keep the room's state (JSON) here")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        room = Newsroom(outlets=args.outlets, port=args.port, seed=args.seed, now=args.now)
    except ValueError as exc:
        print(f"newsroom: {exc}", file=sys.stderr)
        return 2

    def save_state() -> None:
        if args.state_file is not None:
            _write(args.state_file, json.dumps(room.snapshot().as_dict(), ensure_ascii=False, indent=1))

    def ready(room: Newsroom) -> None:
        if args.config_out is not None:
            _write(args.config_out, room.config_yaml(interval=args.interval, topic=args.topic))
        save_state()
        room.state.on_change(save_state)
        print(f"newsroom: ready on port {room.port}", flush=True)

    try:
        room.serve_forever(on_ready=ready)
    except OSError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
