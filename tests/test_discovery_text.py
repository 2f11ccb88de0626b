"""Shared discovery helpers: HTML to text, author names, link resolution, newest-first selection."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newsmon.crawler.discovery.text import author_name, clean_html, newest_first, resolve_url


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<p>One</p><p>Two</p>", "One Two"),
        ("A <b>bold</b> move", "A bold move"),
        ("Tom &amp; Jerry&nbsp;&eacute;t&eacute;", "Tom & Jerry été"),
        ("&lt;p&gt;escaped &lt;i&gt;once&lt;/i&gt;&lt;/p&gt;", "escaped once"),
        ("<p>a</p><script>var x = '<b>';</script><style>p{}</style><!-- note --><p>b</p>", "a b"),
        ("x < y and y > z", "x < y and y > z"),
        ("  lots \n\t of   space ", "lots of space"),
        ("<![CDATA[wrapped]]>", "wrapped"),
        ("<img src='x.jpg'>", None),
        ("", None),
        (None, None),
    ],
)
def test_clean_html(markup: str | None, expected: str | None) -> None:
    """Tags go, entities are unescaped (one or two layers), whitespace collapses, empty is None."""
    assert clean_html(markup) == expected


@pytest.mark.parametrize(
    "markup",
    ["<a" * 40_000, "<script>" * 10_000, "<!--" * 20_000, "<p " * 30_000, "<style>x" * 9_000],
)
def test_hostile_markup_is_handled_in_one_pass(markup: str) -> None:
    """Unclosed tags, scripts and comments by the thousand neither hang nor raise."""
    result = clean_html(markup)
    assert result is None or len(result) <= 2000


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("desk@example.com (City Desk)", "City Desk"),
        ("Jane Doe <jane@example.com>", "Jane Doe"),
        ("  Jane   Doe ", "Jane Doe"),
        ("jane@example.com", None),  # a bare address is not a name (and not ours to publish)
        ("", None),
    ],
)
def test_author_name(raw: str, expected: str | None) -> None:
    """RSS author forms reduce to the display name."""
    assert author_name(raw) == expected


@pytest.mark.parametrize(
    ("base", "href", "expected"),
    [
        ("https://e.example/a/b", "c", "https://e.example/a/c"),
        ("https://e.example/a/b", "//cdn.example/x", "https://cdn.example/x"),
        ("https://e.example/", "  https://e.example/x \n", "https://e.example/x"),
        ("https://e.example/", "HTTPS://E.EXAMPLE/Y", "HTTPS://E.EXAMPLE/Y"),
        ("http://127.0.0.3:8080/", "/x", "http://127.0.0.3:8080/x"),
        ("https://e.example/", "https://bücher.example/x", "https://bücher.example/x"),
        ("https://e.example/", "javascript:alert(1)", None),
        ("https://e.example/", "data:text/html,hi", None),
        ("https://e.example/", "mailto:x@e.example", None),
        ("https://e.example/", "http://", None),
        ("https://e.example/", "http://[::1/x", None),
        ("https://e.example/", "http://e.example:99999/", None),
        ("https://e.example/", "https://e.example/" + "x" * 3000, None),
        ("https://e.example/", "", None),
        ("https://e.example/", None, None),
    ],
)
def test_resolve_url(base: str, href: str | None, expected: str | None) -> None:
    """Links resolve to absolute http(s) URLs as found; everything else gives None."""
    assert resolve_url(base, href) == expected


def test_newest_first_is_stable_and_bounded() -> None:
    """The newest items come first; equal and missing dates keep input order."""
    day = datetime(2024, 2, 5, tzinfo=UTC)
    items = [("a", None), ("b", day), ("c", None), ("d", day), ("e", datetime(2024, 2, 6, tzinfo=UTC))]
    assert [name for name, _date in newest_first(items, lambda item: item[1], 4)] == ["e", "b", "d", "a"]
