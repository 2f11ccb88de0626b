"""Stubs of the stories the topic dropped: enough to say why, for a bounded window.

Each stub is a compact JSON object (``schema_version``, id, URLs, source, title, lead, language,
score, groups hit and missed, reason, when) appended to one Redis stream (``Keys.dropped``).
The stream is bounded twice on every append: entries older than the window are trimmed
(``XTRIM MINID``; stream IDs are milliseconds) and at most ``max_stubs`` are kept (``MAXLEN``),
and the key expires one window after the last append. ``newsmon topic why`` looks a URL up
newest first; ``newsmon topic replay`` reads them by time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from typing import Any

import redis

from newsmon.scheduler.keys import Keys

#: How long a stub is kept, and how many at most (about 1 kB each: 20 MB at most).
WINDOW = timedelta(days=7)
MAX_STUBS = 20_000
_BATCH = 500


class DroppedStubs:
    """The stream of dropped-story stubs."""

    def __init__(self, client: redis.Redis, keys: Keys, *, window: timedelta = WINDOW,
                 max_stubs: int = MAX_STUBS, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.key = keys.dropped
        self.window_ms = int(window.total_seconds() * 1000)
        self.max_stubs = max_stubs
        self.clock = clock

    def add(self, stub: Mapping[str, Any]) -> None:
        """Append ``stub`` and trim the stream to the window and the bound, in one transaction."""
        now_ms = int(self.clock() * 1000)
        pipe = self.client.pipeline(transaction=True)
        pipe.xadd(self.key, {"stub": json.dumps(stub, ensure_ascii=False)}, maxlen=self.max_stubs,
                  approximate=False)
        pipe.xtrim(self.key, minid=str(now_ms - self.window_ms), approximate=False)
        pipe.pexpire(self.key, self.window_ms)
        pipe.execute()

    def since(self, seconds_ago: float) -> Iterator[dict[str, Any]]:
        """The stubs of the last ``seconds_ago`` seconds, oldest first."""
        start = str(max(0, int((self.clock() - seconds_ago) * 1000)))
        while True:
            batch = self.client.xrange(self.key, min=start, count=_BATCH)
            for _entry_id, fields in batch:
                yield json.loads(fields[b"stub"])
            if len(batch) < _BATCH:
                return
            start = "(" + batch[-1][0].decode()

    def find(self, urls: set[str]) -> dict[str, Any] | None:
        """The newest stub whose id, URL or one of its canonical URLs is in ``urls``, or None."""
        end = "+"
        while True:
            batch = self.client.xrevrange(self.key, max=end, count=_BATCH)
            for _entry_id, fields in batch:
                stub = json.loads(fields[b"stub"])
                if urls & {stub.get("id"), stub.get("url"), *stub.get("urls", ())}:
                    return dict(stub)
            if len(batch) < _BATCH:
                return None
            end = "(" + batch[-1][0].decode()
