"""Canonical URLs: one string per story, whatever variant of its address a page was found under.

:func:`canonicalize` maps the variants of one article address to one URL (the story id is a hash
of it). :func:`choose_canonical` picks between the fetched URL and what the page itself declares
(``rel=canonical``, ``og:url``), ignoring declarations that are obviously wrong.

Decisions, written down once:

* **http and https are one story.** Nearly every news site serves both, and users expect one
  story. The canonical form uses ``https``, except for hosts that are IP addresses or
  ``localhost`` and for URLs with an explicit non-default port: there the scheme names the
  service listening on that port (test outlets on loopback serve plain http) and is kept.
* ``www.``, ``m.``, ``mobile.`` and ``amp.`` host prefixes are dropped (when a dotted name
  remains), as is the default port; the host is lower-cased and IDNA-encoded.
* AMP forms: a trailing ``/amp`` segment, a leading ``/amp/`` segment, ``.amp`` / ``.amp.html``
  suffixes, ``?amp``, ``?outputType=amp`` and Google AMP cache addresses
  (``*.cdn.ampproject.org/c/s/...``, ``google.com/amp/s/...``) map to the plain article.
* Tracking parameters (``DedupSettings.tracking_params``; a trailing ``*`` matches a prefix,
  names compare case-insensitively) and the fragment are dropped; the other parameters are
  sorted; percent-encoding is normalized (w3lib: unreserved characters decoded, the rest
  upper-case escapes, UTF-8); dot segments are resolved.
* A trailing ``index.html`` (``index.htm``, ``index.php``, ``default.aspx``...) and a trailing
  slash are dropped: news sites serve ``/story`` and ``/story/`` as one page. Runs of slashes
  inside the path are one (``/news//story``: a CMS joining a section and a slug).
* ``&amp;`` in a query is the ``&`` a feed escaped twice (``?id=5&amp;lang=en``): no site names
  a parameter ``amp;lang``. :func:`unescape_query` undoes it; discovery applies it to the URLs
  it fetches as well, so the request goes to the right page.
* Never merge two pages: only names on the tracking list are dropped, so ``id``, ``page``, ``p``
  and every other parameter stay; an AMP segment is only dropped when an article path remains
  (``/amp`` alone, or ``/amp/`` with nothing after it, is a page named "amp", not the home page).

w3lib does the RFC 3986 work (encoding, dot segments, query order); courlan's checks are not used
because they reject IP-address hosts, which test outlets and intranet sources have.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

from newsmon.settings.model import DEFAULT_TRACKING_PARAMS

_HOST_PREFIXES = ("www.", "m.", "mobile.", "amp.")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SLASHES = re.compile(r"//+")
_ESCAPED_AMPERSAND = re.compile(r"&(?:amp|#0*38|#x0*26);", re.IGNORECASE)
_INDEX_FILES = re.compile(r"/(?:index|default)\.(?:html?|php|aspx?|jsp|shtml)$", re.IGNORECASE)
_AMP_SUFFIX = re.compile(r"\.amp(?=\.html?$)|\.amp$", re.IGNORECASE)
_AMP_CACHE_HOST = re.compile(r"\.cdn\.ampproject\.org$|^cdn\.ampproject\.org$", re.IGNORECASE)
_AMP_CACHE_PATH = re.compile(r"^/(?:[cvi]/)+(s/)?(.+)$")
_GOOGLE_AMP_PATH = re.compile(r"^/amp/(s/)?(.+)$")
# Parameters the AMP cache and viewer add to a publisher's URL.
_AMP_VIEWER_PARAMS = frozenset({"amp_js_v", "amp_gsa", "amp_ct", "amp_r", "usqp", "_js_v", "__amp_source_origin"})


class InvalidURL(ValueError):
    """Not an absolute http(s) URL with a host."""


def unescape_query(url: str) -> str:
    """``url`` with ``&amp;`` (``&#38;``) in its query read as ``&``; the path is left alone."""
    query_at = url.find("?")
    if query_at < 0 or "&" not in url[query_at:]:
        return url
    return url[:query_at] + _ESCAPED_AMPERSAND.sub("&", url[query_at:])


def canonicalize(url: str, tracking_params: Sequence[str] = DEFAULT_TRACKING_PARAMS) -> str:
    """The canonical form of an absolute http(s) URL (see the module docstring).

    Raises:
        InvalidURL: ``url`` is not an absolute http or https URL with a host.
    """
    return _canonicalize(unescape_query(url.strip()), _tracking_matcher(tuple(tracking_params)))


def choose_canonical(
    fetched_url: str,
    declared: Iterable[str | None] = (),
    tracking_params: Sequence[str] = DEFAULT_TRACKING_PARAMS,
) -> str:
    """The story's canonical URL: the first acceptable declared URL, else the fetched one.

    ``declared`` is what the page says, best first: its ``rel=canonical`` then its ``og:url``
    (relative URLs are resolved against ``fetched_url``). A declaration is ignored when it is
    not an http(s) URL, points to another site (a copy's canonical naming the original would
    merge two outlets' records under one id; the near-duplicate index links them instead), or
    points to a home page or a top-level section that the fetched page is under (CMS templates
    that put the same canonical on every article).

    Raises:
        InvalidURL: ``fetched_url`` itself is not a valid URL.
    """
    matcher = _tracking_matcher(tuple(tracking_params))
    fetched = _canonicalize(unescape_query(fetched_url.strip()), matcher)
    for candidate in declared:
        if not candidate or not candidate.strip():
            continue
        try:
            url = _canonicalize(unescape_query(urljoin(fetched_url, candidate.strip())), matcher)
        except InvalidURL:
            continue
        if _acceptable(url, fetched):
            return url
    return fetched


def clean_url(url: str, tracking_params: Sequence[str] = DEFAULT_TRACKING_PARAMS) -> str:
    """A light clean for display: the same page, still fetchable as it is.

    Tracking parameters and the fragment are dropped, the host is lower-cased and the encoding
    normalized (w3lib); unlike :func:`canonicalize`, host prefixes, AMP forms, trailing slashes
    and the scheme are kept, because the result is the URL a reader will open.
    """
    matcher = _tracking_matcher(tuple(tracking_params))
    try:
        normal = urlsplit(canonicalize_url(unescape_query(url.strip()), keep_blank_values=True,
                                           keep_fragments=False))
    except ValueError as exc:
        raise InvalidURL(f"{url!r}: {exc}") from None
    pairs = [pair for pair in normal.query.split("&") if pair]
    query = "&".join(pair for pair in pairs if not matcher.match(unquote_plus(pair.partition("=")[0])))
    return urlunsplit((normal.scheme, normal.netloc.lower(), normal.path or "/", query, ""))


def _acceptable(declared: str, fetched: str) -> bool:
    if declared == fetched:
        return True
    d, f = urlsplit(declared), urlsplit(fetched)
    if site(d.netloc) != site(f.netloc):
        return False
    d_segments = [s for s in d.path.split("/") if s]
    f_segments = [s for s in f.path.split("/") if s]
    if not d_segments and not d.query:
        return False  # the home page
    # "/news" declared by "/news/2024/01/story": a section page, not this article.
    return not (len(d_segments) <= 1 and not d.query and f_segments[: len(d_segments)] == d_segments
                and len(f_segments) > len(d_segments))


@lru_cache(maxsize=4096)
def site(netloc: str) -> str:
    """The registrable domain of a URL's host (``news.bbc.co.uk`` -> ``bbc.co.uk``).

    ``netloc`` is a URL's network location (``[user@]host[:port]``) or a bare host; case and a
    trailing dot do not matter. The port is ignored, except that an IP address or a
    single-label host (``localhost``) is its own site together with its port: on a loopback
    address each port is a different service (test outlets).

    Private suffixes of the public suffix list count as suffixes, so two blogspot.com blogs
    (or github.io pages) are two sites. Both users want that: the same-site check for links
    and feeds found on a section page (one blog must not pull in another blog's posts), and
    :func:`choose_canonical`, which ignores a canonical on another site (one blog's canonical
    naming another blog would merge two outlets' records under one id).
    """
    host = netloc.rsplit("@", 1)[-1].lower()
    port = ""
    if not host.endswith("]") and ":" in host:
        host, _, port = host.rpartition(":")
    host = host.rstrip(".")
    if _is_ip(host.strip("[]")) or "." not in host:
        return f"{host}:{port}" if port else host
    return _extractor()(host).top_domain_under_public_suffix or host


@lru_cache(maxsize=1)
def _extractor() -> Any:
    import tldextract

    # The public suffix list bundled with tldextract: no network access, no cache files.
    # Private suffixes (blogspot.com, github.io) included: see site().
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=64)
def _tracking_matcher(params: tuple[str, ...]) -> re.Pattern[str]:
    exact = [re.escape(p) for p in params if not p.endswith("*")]
    prefixes = [re.escape(p[:-1]) + ".*" for p in params if p.endswith("*")]
    alternatives = "|".join(exact + prefixes) or r"(?!)"
    return re.compile(rf"(?:{alternatives})\Z", re.IGNORECASE)


def _unwrap_amp_cache(host: str, path: str, query: str) -> str | None:
    """The publisher URL inside a Google AMP cache URL, or None."""
    match = None
    if _AMP_CACHE_HOST.search(host):
        match = _AMP_CACHE_PATH.match(path)
    elif site(host) in {"google.com"} or host.lower().startswith("www.google."):
        match = _GOOGLE_AMP_PATH.match(path)
    if match is None:
        return None
    inner_scheme = "https" if match.group(1) else "http"
    inner = f"{inner_scheme}://{match.group(2)}"
    return inner + (f"?{query}" if query else "")


def _canonicalize(url: str, tracking: re.Pattern[str]) -> str:
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError as exc:
        raise InvalidURL(f"{url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not host:
        raise InvalidURL(f"{url!r}: not an absolute http(s) URL")
    inner = _unwrap_amp_cache(host, parts.path, parts.query)
    if inner is not None and inner != url:
        return _canonicalize(inner, tracking)

    # w3lib: IDNA host, percent-encoding, dot segments, sorted query, no fragment.
    normal = urlsplit(canonicalize_url(url, keep_blank_values=True, keep_fragments=False))
    host = (normal.hostname or host).rstrip(".")
    ip_host = _is_ip(host)
    while not ip_host and host.startswith(_HOST_PREFIXES):
        rest = host.split(".", 1)[1]
        if "." not in rest:
            break
        host = rest
    explicit_port = port is not None and port != _DEFAULT_PORTS[scheme]
    if not (ip_host or host == "localhost" or explicit_port):
        scheme = "https"
    netloc = f"[{host}]" if ":" in host else host
    if explicit_port:
        netloc = f"{netloc}:{port}"

    path = _SLASHES.sub("/", normal.path or "/")
    path = _INDEX_FILES.sub("/", path)
    lowered = path.lower()
    if lowered.startswith("/amp/") and path[5:].strip("/"):
        path = path[4:]
        lowered = path.lower()
    if lowered.endswith(("/amp", "/amp/")) and path[: lowered.rindex("/amp")].strip("/"):
        path = path[: lowered.rindex("/amp")]
    path = _AMP_SUFFIX.sub("", path)
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"

    # w3lib already normalized and sorted the pairs: keep them verbatim, only filtered.
    pairs = [pair for pair in normal.query.split("&") if pair]
    query = "&".join(pair for pair in pairs if not _dropped_param(pair, tracking))
    return urlunsplit((scheme, netloc, path, query, ""))


def _dropped_param(pair: str, tracking: re.Pattern[str]) -> bool:
    name, _, value = pair.partition("=")
    name, value = unquote_plus(name), unquote_plus(value).lower()
    if tracking.match(name):
        return True
    lowered = name.lower()
    if lowered == "amp":  # ?amp, ?amp=1
        return value in {"", "1", "true", "yes", "amp"}
    if lowered in _AMP_VIEWER_PARAMS:
        return True
    return lowered in {"outputtype", "output"} and value == "amp"
