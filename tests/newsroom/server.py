"""The aiohttp application each outlet runs: its documents, its articles and the control API.

Every outlet answers the control API (``/_control/...``) for the whole room. Requests to
``/_control/`` are not written to the request log.
"""

from __future__ import annotations

import hashlib
import json
import logging
import struct
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from aiohttp import web

from tests.newsroom.article_pages import render_article
from tests.newsroom.chrome import year_of
from tests.newsroom.feeds import XML_TYPES, render_robots, render_xml
from tests.newsroom.site_pages import error_page, home_page, maintenance_page, section_page
from tests.newsroom.state import RoomState, Site

__all__ = ["make_app"]

logger = logging.getLogger(__name__)

SITE = web.AppKey("site", Site)
STATE = web.AppKey("state", RoomState)
HTML = "text/html; charset=utf-8"
RELATED = 4  # articles in a page's related block


def _png() -> bytes:
    """A 1x1 grey PNG, served for every article image."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xcc\xcc\xcc"))
            + chunk(b"IEND", b""))


PNG = _png()


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    content_type: str
    last_modified: datetime | None = None
    status: int = 200
    compress: bool = True
    location: str | None = None  # for redirects


def _error(site: Site, state: RoomState, status: int) -> Rendered:
    page = error_page(site.spec, site.outlet, status, year_of(state.now))
    return Rendered(page, HTML, status=status)


def _render(state: RoomState, site: Site, path: str) -> Rendered:
    """What ``path`` of ``site`` is when nothing is broken."""
    spec, outlet, name = site.spec, site.outlet, site.outlet.name
    if path == "/":
        return Rendered(home_page(spec, outlet, state.articles(name), state.changed_at(name)), HTML,
                        state.changed_at(name))
    if path == "/robots.txt":
        return Rendered(render_robots(spec, outlet), "text/plain; charset=utf-8", state.changed_at(name))
    for doc in spec.documents:
        if doc.path == path:
            updated = state.changed_at(name)
            if doc.fmt == "section":
                page = section_page(spec, outlet, path.strip("/"), state.articles(name), updated)
                return Rendered(page, HTML, updated)
            body = render_xml(doc.fmt, spec, outlet, state.articles(name), updated)
            return Rendered(body, XML_TYPES[doc.fmt], updated, compress=doc.fmt != "news-sitemap-gz")
    if path.startswith("/private/"):
        return _error(site, state, 403)
    if path.startswith("/img/") and path.endswith(".png"):
        return Rendered(PNG, "image/png", state.now, compress=False)
    article = state.article_at(name, path)
    if article is None and not path.endswith("/") and state.article_at(name, path + "/") is not None:
        # As WordPress does for the Gazette's slash-terminated URLs: the bare form redirects.
        return Rendered(b"", HTML, status=301, compress=False, location=outlet.url(path + "/"))
    if article is None:
        return _error(site, state, 404)
    related = [other for other in state.articles(name)
               if other.key != article.key and other.on_topic == article.on_topic][:RELATED]
    return Rendered(render_article(spec, outlet, article, related), HTML, article.modified)


def _broken(state: RoomState, site: Site, path: str, mode: str) -> Rendered:
    if mode == "not-xml":
        return Rendered(maintenance_page(site.spec, site.outlet, year_of(state.now)), HTML)
    if mode in ("500", "404"):
        return _error(site, state, int(mode))
    normal = _render(state, site, path)
    if mode == "empty":
        return Rendered(b"", normal.content_type, compress=False)
    return Rendered(normal.body[: len(normal.body) // 2], normal.content_type, compress=False)  # truncated


def _not_modified(request: web.Request, etag: str, last_modified: datetime | None) -> bool:
    """RFC 9110: If-None-Match decides when present, else If-Modified-Since."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        return "*" in tags or etag in tags
    if_modified_since = request.headers.get("If-Modified-Since")
    if not if_modified_since or last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return last_modified.replace(microsecond=0) <= since


def _respond(request: web.Request, rendered: Rendered) -> web.Response:
    headers = {"Content-Type": rendered.content_type, "Cache-Control": "max-age=60"}
    if rendered.location is not None:
        headers["Location"] = rendered.location
    if rendered.status == 200 and rendered.last_modified is not None:
        etag = '"' + hashlib.sha1(rendered.body, usedforsecurity=False).hexdigest()[:20] + '"'
        headers["ETag"] = etag
        headers["Last-Modified"] = format_datetime(rendered.last_modified.astimezone(UTC), usegmt=True)
        if _not_modified(request, etag, rendered.last_modified):
            del headers["Content-Type"]
            return web.Response(status=304, headers=headers)
    response = web.Response(status=rendered.status, body=rendered.body, headers=headers)
    if rendered.compress and rendered.body:
        response.enable_compression()  # only when the request's Accept-Encoding allows it
    return response


async def _serve(request: web.Request) -> web.Response:
    site, state = request.app[SITE], request.app[STATE]
    mode = state.broken(site.outlet.name, request.path)
    rendered = _render(state, site, request.path) if mode is None else _broken(state, site, request.path, mode)
    return _respond(request, rendered)


def _header_name(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))


@web.middleware
async def _log_requests(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> web.StreamResponse:
    if request.path.startswith("/_control/"):
        return await handler(request)
    state = request.app[STATE]
    started, started_event = time.time(), state.event()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            key = _header_name(name)
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        ended_event = state.event()
        state.record({
            "time": datetime.now(UTC).isoformat(), "outlet": request.app[SITE].outlet.name,
            "method": request.method, "host": request.host, "path": request.path,
            "query": request.query_string, "status": status, "headers": headers,
            "started": started, "ended": time.time(), "start_event": started_event, "end_event": ended_event,
        })


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda value: json.dumps(value, ensure_ascii=False))


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError as exc:
        raise web.HTTPBadRequest(text=json.dumps({"error": f"body is not JSON: {exc}"}),
                                 content_type="application/json") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text=json.dumps({"error": "expected a JSON object"}),
                                 content_type="application/json")
    return data


async def _control_publish(request: web.Request) -> web.Response:
    data = await _body(request)
    outlet = data.get("outlet", request.app[SITE].outlet.name)
    fields = data.get("article")
    if not isinstance(fields, dict):
        return _json({"error": 'expected {"outlet": ..., "article": {"title": ..., "paragraphs": [...]}}'}, 400)
    try:
        article = request.app[STATE].publish(outlet, **fields)
    except (TypeError, ValueError) as exc:
        return _json({"error": str(exc)}, 400)
    logger.info("newsroom: published %s", article.url)
    return _json(article.as_dict(), 201)


async def _control_break(request: web.Request) -> web.Response:
    data = await _body(request)
    outlet = data.get("outlet", request.app[SITE].outlet.name)
    mode = str(data.get("mode", ""))
    try:
        path = request.app[STATE].set_break(outlet, str(data.get("what", "feed")), mode)
    except ValueError as exc:
        return _json({"error": str(exc)}, 400)
    return _json({"outlet": outlet, "path": path, "mode": mode})


async def _control_requests(request: web.Request) -> web.Response:
    entries = request.app[STATE].requests()
    for key in ("outlet", "path", "method"):
        if key in request.query:
            entries = [entry for entry in entries if entry[key] == request.query[key]]
    return _json(entries)


async def _control_reset_log(request: web.Request) -> web.Response:
    return _json({"cleared": request.app[STATE].reset_log()})


async def _control_state(request: web.Request) -> web.Response:
    return _json(request.app[STATE].snapshot().as_dict())


def make_app(state: RoomState, site: Site) -> web.Application:
    """The application of one outlet."""
    app = web.Application(middlewares=[_log_requests])
    app[SITE] = site
    app[STATE] = state
    app.router.add_post("/_control/publish", _control_publish)
    app.router.add_post("/_control/break", _control_break)
    app.router.add_get("/_control/requests", _control_requests)
    app.router.add_post("/_control/reset-log", _control_reset_log)
    app.router.add_get("/_control/state", _control_state)
    app.router.add_get("/{tail:.*}", _serve)
    return app
