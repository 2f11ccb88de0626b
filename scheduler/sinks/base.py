"""The sink interface: a destination the feed is copied to, through a consumer group of its own.

A sink is fed by :class:`~newsmon.scheduler.sinks.runner.SinkRunner`, which reads the sink's
group (``sink:<name>``), calls :meth:`Sink.deliver` with items in stream order and acknowledges
what was delivered. A sink that is down loses nothing: its entries stay in its group until it
takes them. Delivery is at-least-once and in order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

from newsmon.scheduler.feed import FeedItem
from newsmon.scheduler.feed.stream import SINK_GROUP_PREFIX

__all__ = ["SINK_GROUP_PREFIX", "Sink", "SinkError"]


class SinkError(Exception):
    """A delivery failed; the runner tries again later, without skipping ahead.

    Args:
        message: one line, safe to log (no secrets).
        delivered: how many of the items, from the first, were delivered before the failure;
            the runner acknowledges those.
        rejected: True when the destination refused the item at index ``delivered`` (it counts
            towards the sink's ``max_attempts``, after which the item goes to the dead letters);
            False when the destination is unavailable (retried for as long as it takes).
        retry_after: seconds the destination asked to wait, when it said.
    """

    def __init__(self, message: str, *, delivered: int = 0, rejected: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.delivered = delivered
        self.rejected = rejected
        self.retry_after = retry_after


class Sink(ABC):
    """A destination for the feed.

    Subclasses set ``name`` (letters, digits and ``. _ : -``; unique among the sinks),
    ``chunk_size`` (items per :meth:`deliver` call) and ``max_attempts`` (refusals of one item
    before it goes to the dead letters; None: never give up).
    """

    name: str
    chunk_size: int = 100
    max_attempts: int | None = None

    @property
    def group(self) -> str:
        """The consumer group that feeds this sink."""
        return f"{SINK_GROUP_PREFIX}{self.name}"

    def recover(self, is_pending: Callable[[str], bool]) -> None:  # noqa: B027 - optional hook
        """Called once before delivering, when the runner starts the sink.

        ``is_pending(stream_id)`` tells whether an entry is still unacknowledged in the sink's
        group: a sink that keeps a journal can undo a write whose acknowledgement was lost.

        Raises:
            SinkError: the destination is unavailable; the runner tries again later.
        """

    @abstractmethod
    def deliver(self, items: Sequence[FeedItem]) -> None:
        """Deliver ``items`` (at most ``chunk_size``, in stream order), durably, then return.

        Raises:
            SinkError: not everything was delivered; see its ``delivered`` and ``rejected``.
        """
