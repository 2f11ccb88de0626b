"""The webhook sink: POST each record, as JSON, to a URL (``sinks.webhooks``).

One record per request; the body is the record exactly as published. Headers:
``Content-Type: application/json``, ``X-Newsmon-Event``, ``X-Newsmon-Id`` (the record's id),
``X-Newsmon-Stream-Id`` (the stream entry: unique per delivery, for deduplication), and with a
``secret``, ``X-Newsmon-Signature: sha256=<hex HMAC-SHA256 of the body>``.

A 2xx answer delivers the record. A connection failure, a timeout, or HTTP 408, 425, 429, 502,
503 or 504 means the endpoint is unavailable: the same record is retried with back-off for as
long as it takes, and nothing is skipped. Any other answer (redirects are not followed) refuses
the record: after ``max_attempts`` refusals it goes to the dead-letter list and the sink moves
on. The secret, the URL's path, query and credentials never appear in logs.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import urllib.error
import urllib.request
from collections.abc import Sequence
from email.message import Message
from typing import IO
from urllib.parse import urlsplit

from newsmon.scheduler.feed import FeedItem, check_name
from newsmon.scheduler.sinks.base import Sink, SinkError
from newsmon.settings.model import WebhookSink
from newsmon.settings.version import __version__

#: Answers that say "not now" rather than "not this record".
UNAVAILABLE = frozenset({408, 425, 429, 502, 503, 504})
_MAX_RESPONSE = 64 * 1024  # bytes of an answer read before the connection is closed


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirected POST would turn into a GET without the body: treat it as a refusal.
    def redirect_request(  # noqa: PLR0917 - the signature is urllib's
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: Message,
        newurl: str,
    ) -> None:
        return None


class WebhookPoster(Sink):
    """POSTs records to one configured webhook; its sink name is ``webhook:<name>``."""

    chunk_size = 1

    def __init__(self, settings: WebhookSink) -> None:
        self.name = "webhook:" + check_name(settings.name, "webhook")
        parts = urlsplit(settings.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f'sinks.webhooks "{settings.name}".url: expected an http(s) URL')
        port = f":{parts.port}" if parts.port else ""
        #: Where the webhook points, for logs: scheme, host and port only.
        self.where = f"{parts.scheme}://{parts.hostname}{port}"
        self.max_attempts = settings.max_attempts
        self._url = settings.url
        self._secret = settings.secret.encode("utf-8") if settings.secret else None
        self._timeout = settings.timeout
        self._opener = urllib.request.build_opener(_NoRedirect)

    def __repr__(self) -> str:
        return f"WebhookPoster({self.name!r}, {self.where!r})"

    def deliver(self, items: Sequence[FeedItem]) -> None:
        for index, item in enumerate(items):
            try:
                self._post(item)
            except SinkError as exc:
                exc.delivered = index
                raise

    def _post(self, item: FeedItem) -> None:
        body = item.raw.encode("utf-8")
        headers = {
            "X-Newsmon-Event": item.event,
            "X-Newsmon-Id": item.fields.get("id", ""),
            "X-Newsmon-Stream-Id": item.id,
        }
        self.post(body, headers)

    def post(self, body: bytes, headers: dict[str, str]) -> None:
        """POST ``body`` (JSON) with ``headers`` plus the signature; also used for alert events.

        Raises:
            SinkError: the endpoint refused the body or could not be reached.
        """
        headers = {"Content-Type": "application/json", "User-Agent": f"newsmon/{__version__}", **headers}
        if self._secret is not None:
            digest = hmac.new(self._secret, body, hashlib.sha256).hexdigest()
            headers["X-Newsmon-Signature"] = f"sha256={digest}"
        # The scheme was checked to be http(s) in __init__.
        request = urllib.request.Request(  # noqa: S310
            self._url, data=body, headers=headers, method="POST"
        )
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                response.read(_MAX_RESPONSE)
        except urllib.error.HTTPError as exc:
            with exc:
                retry_after = _seconds(exc.headers.get("Retry-After"))
            raise SinkError(f"{self.where} answered HTTP {exc.code}",
                            rejected=exc.code not in UNAVAILABLE, retry_after=retry_after) from None
        except urllib.error.URLError as exc:
            raise SinkError(f"cannot reach {self.where}: {_reason(exc.reason)}") from None
        except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, bad answers
            raise SinkError(f"no answer from {self.where}: {_reason(exc)}") from None


def _reason(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


def _seconds(value: str | None) -> float | None:
    """A Retry-After given in seconds (an HTTP date is ignored: the back-off applies)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
