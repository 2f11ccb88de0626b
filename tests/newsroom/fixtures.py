"""pytest fixtures for the newsroom.

Use them from a conftest or test module with ``pytest_plugins = ["tests.newsroom.fixtures"]``
(top-level conftest only) or ``from tests.newsroom.fixtures import newsroom  # noqa: F401``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.newsroom.room import Newsroom


@pytest.fixture
def newsroom() -> Iterator[Newsroom]:
    """A fresh room with the four default outlets, seed 1, on a free port."""
    with Newsroom() as room:
        yield room
