"""What a discovery document's HTTP response headers tell its parser: charset and base URL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin

from newsmon.crawler.discovery.text import resolve_url
from newsmon.crawler.discovery.xml import charset_of


@dataclass(frozen=True, slots=True)
class DocumentHeaders:
    """The response headers discovery reads.

    ``charset`` is the ``Content-Type`` header's charset parameter: it beats the XML declaration
    (RFC 7303), a byte-order mark beats both. ``content_location`` is the URL the server says the
    body lives at; relative links resolve against it, as RFC 9110 section 8.7 allows.
    """

    charset: str | None = None
    content_location: str | None = None

    @classmethod
    def of(cls, headers: Mapping[str, str] | DocumentHeaders | None) -> DocumentHeaders:
        """Read a header mapping (names in any case), or pass a :class:`DocumentHeaders` through."""
        if isinstance(headers, DocumentHeaders):
            return headers
        if not headers:
            return cls()
        lowered = {name.lower(): value for name, value in headers.items()}
        return cls(charset=charset_of(lowered.get("content-type")),
                   content_location=(lowered.get("content-location") or "").strip() or None)

    def base(self, url: str) -> str:
        """The URL relative links resolve against: ``Content-Location`` (if http(s)) on ``url``."""
        if self.content_location is None:
            return url
        try:
            joined = urljoin(url, self.content_location)
        except ValueError:
            return url
        return resolve_url(url, joined) or url


def response_headers(raw: Mapping[bytes, object]) -> dict[str, str]:
    """A Scrapy response's ``Content-Type`` and ``Content-Location`` as a str mapping.

    Scrapy's ``Headers`` map bytes names to lists of bytes values; the last value counts.
    """
    wanted: dict[str, str] = {}
    for name in (b"Content-Type", b"Content-Location"):
        values = raw.get(name)
        value = values[-1] if isinstance(values, list) and values else values
        if isinstance(value, bytes):
            wanted[name.decode("ascii").lower()] = value.decode("latin-1")
    return wanted
