"""The rules a configuration value must pass, and how some values are normalised.

A rule takes a value already converted to its field's type and returns None when the value is
acceptable, else the message saying why not (the accepted values and what was found). ``RULES``
and ``NORMALIZE`` map ``(dataclass, field name)`` to the rule and the normalisation that
``newsmon.settings.loader`` applies to every value of that field (each item of a list).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from newsmon.settings.durations import format_duration
from newsmon.settings.model import (
    AlertSettings,
    Config,
    DedupSettings,
    ExtractionSettings,
    FeedSettings,
    FetchSettings,
    MetricsSettings,
    RedisSettings,
    SchedulerSettings,
    SelectorOverrides,
    Source,
    WebhookSink,
)

__all__ = [
    "NEAR",
    "NEAR_MAX",
    "NORMALIZE",
    "RULES",
    "TOPIC_FIELDS",
    "Rule",
    "context_word",
    "language_code",
    "listen_address",
    "log_format",
    "log_level",
    "positive_duration",
    "positive_number",
    "quote",
    "redis_url",
    "split_near",
    "term_text",
    "term_weight",
    "topic_field",
]

TOPIC_FIELDS: tuple[str, ...] = ("title", "description", "text")
"""The article fields a topic may search."""

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
_NAME_MAX = 64  # names end up in Redis keys and job ids
_ISO_639_1_CODES = (
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de "
    "dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id "
    "ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu "
    "lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu "
    "rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr "
    "ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu"
)
_ISO_639_1 = frozenset(_ISO_639_1_CODES.split())

# A rule returns None when the value is acceptable, else the message saying why not.
Rule = Callable[[Any], str | None]


def _at_least(minimum: int) -> Rule:
    return lambda value: None if value >= minimum else f"expected at least {minimum}, got {value}"


def _min_duration(minimum: timedelta) -> Rule:
    def rule(value: timedelta) -> str | None:
        if value >= minimum:
            return None
        return f"expected at least {format_duration(minimum)}, got {format_duration(value)}"

    return rule


def positive_duration(value: timedelta) -> str | None:
    """A duration longer than zero (timeouts)."""
    return None if value > timedelta(0) else f"expected more than 0s, got {format_duration(value)}"


_one_second = _min_duration(timedelta(seconds=1))


def _one_of(*choices: str) -> Rule:
    def rule(value: str) -> str | None:
        return None if value in choices else f"expected one of {', '.join(choices)}, got {quote(value)}"

    return rule


def _name(value: str) -> str | None:
    if _NAME.fullmatch(value) and len(value) <= _NAME_MAX:
        return None
    return (f'expected lowercase letters, digits, ".", "_" and "-", starting with a letter or digit, at most '
            f'{_NAME_MAX} characters (like "lemonde-international"), got {quote(value)}')


def _network(value: str) -> str | None:
    import ipaddress

    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return f'expected an IP network like "127.0.0.0/8" or an address, got {quote(value)}'
    return None


def _http_url(value: str) -> str | None:
    return None if _is_http_url(value) else f"expected an absolute http(s) URL, got {quote(value)}"


def _webhook_url(value: str) -> str | None:
    # Webhook URLs often carry a token: name the scheme only, never the URL.
    if _is_http_url(value):
        return None
    scheme = urlsplit(value).scheme if "://" in value else ""
    return f"expected an absolute http(s) URL, got scheme {quote(scheme or '(none)')}"


def _contact_url(value: str) -> str | None:
    if _is_http_url(value) or (value.startswith("mailto:") and "@" in value):
        return None
    return f"expected an absolute http(s) URL or a mailto: address, got {quote(value)}"


def _is_http_url(value: str) -> bool:
    if any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - evaluated for the ValueError a bad port raises
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def redis_url(value: str) -> str | None:
    """A redis://, rediss:// or unix:// URL; the message never repeats the URL."""
    # Never echo the URL: it may hold a password.
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - evaluated for the ValueError a bad port raises
    except ValueError:
        return "expected a redis://, rediss:// or unix:// URL with a valid port"
    if parts.scheme not in ("redis", "rediss", "unix"):
        return f"expected a redis://, rediss:// or unix:// URL, got scheme {quote(parts.scheme or '(none)')}"
    if parts.scheme == "unix" and not parts.path:
        return "expected a socket path, as in unix:///run/redis.sock"
    if parts.scheme != "unix" and not re.fullmatch(r"/?\d*", parts.path):
        return f"expected a database number as the path, as in redis://host:6379/3, got {quote(parts.path)}"
    return None


def _redis_prefix(value: str) -> str | None:
    if re.fullmatch(r"[A-Za-z0-9._:-]+", value):
        return None
    return f'expected letters, digits, ".", "_", ":" and "-", got {quote(value)}'


def _header_value(value: str) -> str | None:
    # Printable only: a newline here would inject an HTTP header.
    return None if value.strip() and value.isprintable() else "expected printable text on one line"


def _language(value: str) -> str | None:
    if value.lower() in _ISO_639_1:
        return None
    return f'expected a two-letter ISO 639-1 code like "en" or "fr", got {quote(value)}'


def _timezone(value: str) -> str | None:
    # Settings import no crawler code, so the zone database is asked here directly.
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f'expected an IANA time zone name like "Europe/Paris" or "America/New_York", got {quote(value)}'
    return None


def log_level(value: str) -> str | None:
    """A logging level name, in any case."""
    return None if value.upper() in _LOG_LEVELS else f"expected one of {', '.join(_LOG_LEVELS)}, got {quote(value)}"


LOG_FORMATS = ("text", "json")


def log_format(value: str) -> str | None:
    """``text`` or ``json``."""
    return None if value.lower() in LOG_FORMATS else f"expected one of {', '.join(LOG_FORMATS)}, got {quote(value)}"


def listen_address(value: str) -> str | None:
    """A ``host:port`` to listen on (``127.0.0.1:9108``, ``[::1]:9108``, ``:9108`` for every address)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536 or any(c.isspace() for c in value):
        return f'expected host:port like "127.0.0.1:9108", got {quote(value)}'
    if host.startswith("[") != host.endswith("]"):
        return f'expected host:port like "[::1]:9108", got {quote(value)}'
    return None


def _ratio(value: float) -> str | None:
    return None if 0 < value <= 1 else f"expected a number above 0 and at most 1, got {value}"


def _factor(value: float) -> str | None:
    return None if value >= 1 else f"expected a number of at least 1, got {value}"


def _regex(value: str) -> str | None:
    try:
        re.compile(value)
    except re.error as exc:
        return f"invalid regular expression {quote(value)}: {exc}"
    return None


def _selector(value: str) -> str | None:
    """A CSS selector, or an XPath expression when it starts with ``/`` or ``(``."""
    # The HTML flavour, as lxml's cssselect() that newsmon's extraction applies them with.
    from cssselect import HTMLTranslator, SelectorError
    from lxml import etree

    expression = value.strip()
    if expression.startswith(("/", "(")):
        try:
            etree.XPath(expression)
        except etree.XPathError as exc:
            return f"invalid XPath expression {quote(value)}: {exc}"
        return None
    try:
        HTMLTranslator().css_to_xpath(expression)
    except SelectorError as exc:
        hint = " (select the element itself; newsmon reads its text)" if "::" in expression else ""
        return f"invalid CSS selector {quote(value)}: {str(exc).rstrip('.')}{hint}"
    return None


def _tracking_param(value: str) -> str | None:
    if not any(c.isspace() for c in value):
        return None
    return f"expected a query parameter name, optionally ending in *, got {quote(value)}"


def topic_field(value: str) -> str | None:
    """One of ``TOPIC_FIELDS``."""
    return _one_of(*TOPIC_FIELDS)(value)


#: Joins the two sides of a proximity term: ``NEAR/5`` (within five words), ``NEAR/s`` (one sentence).
NEAR = re.compile(r"\s+NEAR/(\w+)\s+")
NEAR_MAX = 50


def split_near(value: str) -> tuple[list[str], int | None]:
    """The sides of a term and their distance in words (None: the same sentence).

    A term without ``NEAR`` has one side; the distance is then meaningless (None).
    """
    parts = NEAR.split(value.strip())
    sides, distances = parts[0::2], parts[1::2]
    if not distances:
        return sides, None
    return sides, None if distances[0] == "s" else int(distances[0])


def term_text(value: str) -> str | None:
    """The term grammar ``newsmon.crawler.topic`` compiles: words, phrases, ``*`` ending a word,
    and two of them joined by ``NEAR/n`` or ``NEAR/s``."""
    parts = NEAR.split(value.strip())
    sides, distances = parts[0::2], parts[1::2]
    if len(distances) > 1:
        return f'expected at most one NEAR in a term, as in "Pentagon NEAR/5 troops", got {quote(value)}'
    for distance in distances:
        if distance != "s" and not (distance.isdigit() and 1 <= int(distance) <= NEAR_MAX):
            return (f"expected NEAR/s (the same sentence) or NEAR/n with n from 1 to {NEAR_MAX} words, "
                    f"got {quote(value)}")
    for side in sides:
        if message := _phrase(side, value):
            return message
    return None


def _phrase(side: str, value: str) -> str | None:
    if not any(c.isalnum() for c in side):
        return f"expected a word or phrase, got {quote(value)}"
    for word in side.replace("-", " ").split():
        stem = word.removesuffix("*")
        if "*" in stem:
            return f'"*" may only end a word, as in "américain*", got {quote(value)}'
        if word.endswith("*") and sum(c.isalnum() for c in stem) < 2:
            return f'expected at least two letters before "*", got {quote(value)}'
    return None


def context_word(value: str) -> str | None:
    """A word or phrase of ``unless_near``: the term grammar without NEAR."""
    if NEAR.search(value):
        return f"expected a word or phrase without NEAR, got {quote(value)}"
    return _phrase(value, value)


def term_weight(value: float) -> str | None:
    """A weight other than 0, from -10 to 10."""
    if value != 0 and -10 <= value <= 10:
        return None
    return f"expected a number other than 0, from -10 to 10, got {value:g}"


def positive_number(value: float) -> str | None:
    """A number above 0 (scores, the title weight)."""
    return None if value > 0 else f"expected a number above 0, got {value:g}"


def language_code(value: str) -> str | None:
    """A two-letter ISO 639-1 code."""
    return _language(value)


RULES: dict[tuple[type, str], Rule] = {
    (Config, "log_level"): log_level,
    (RedisSettings, "url"): redis_url,
    (RedisSettings, "prefix"): _redis_prefix,
    (FetchSettings, "contact_url"): _contact_url,
    (FetchSettings, "user_agent"): _header_value,
    (FetchSettings, "max_redirects"): _at_least(0),
    (FetchSettings, "max_url_length"): _at_least(16),
    (FetchSettings, "concurrency_per_host"): _at_least(1),
    (FetchSettings, "concurrency"): _at_least(1),
    (FetchSettings, "max_age"): positive_duration,
    (FetchSettings, "max_items_per_feed"): _at_least(1),
    (FetchSettings, "sitemap_depth"): _at_least(0),
    (FetchSettings, "retries"): _at_least(0),
    (FetchSettings, "allowed_networks"): _network,
    (FetchSettings, "max_retry_after"): _one_second,
    (Source, "min_interval"): _one_second,
    (Source, "max_interval"): _one_second,
    (Source, "name"): _name,
    (Source, "interval"): _one_second,
    (Source, "feeds"): _http_url,
    (Source, "sitemaps"): _http_url,
    (Source, "pages"): _http_url,
    (Source, "home"): _http_url,
    (Source, "language"): _language,
    (Source, "timezone"): _timezone,
    (Source, "allow"): _regex,
    (Source, "deny"): _regex,
    (SelectorOverrides, "body"): _selector,
    (SelectorOverrides, "title"): _selector,
    (SelectorOverrides, "date"): _selector,
    (SelectorOverrides, "authors"): _selector,
    (ExtractionSettings, "min_text_length"): _at_least(0),
    (DedupSettings, "window"): _one_second,
    (DedupSettings, "tracking_params"): _tracking_param,
    (DedupSettings, "near_duplicates"): _one_of("publish", "drop"),
    (DedupSettings, "near_window"): _one_second,
    (DedupSettings, "url_buckets"): _at_least(1),
    (DedupSettings, "recheck"): _one_second,
    (FeedSettings, "retention"): _one_second,
    (FeedSettings, "max_length"): _at_least(1),
    (FeedSettings, "claim_idle"): _one_second,
    (FeedSettings, "max_deliveries"): _at_least(1),
    (WebhookSink, "name"): _name,
    (WebhookSink, "url"): _webhook_url,
    (WebhookSink, "secret"): _header_value,
    (WebhookSink, "max_attempts"): _at_least(1),
    (SchedulerSettings, "workers"): _at_least(1),
    (SchedulerSettings, "misfire_grace"): _one_second,
    (SchedulerSettings, "job_lease"): _one_second,
    (SchedulerSettings, "worker_max_polls"): _at_least(1),
    (SchedulerSettings, "hung_after"): _one_second,
    (SchedulerSettings, "stop_timeout"): _one_second,
    (Config, "log_format"): log_format,
    (MetricsSettings, "listen"): listen_address,
    (AlertSettings, "check_every"): _one_second,
    (AlertSettings, "failed_polls"): _at_least(1),
    (AlertSettings, "silence_factor"): _factor,
    (AlertSettings, "min_silence"): _one_second,
    (AlertSettings, "rejected_ratio"): _ratio,
    (AlertSettings, "min_pages"): _at_least(1),
}
NORMALIZE: dict[tuple[type, str], Callable[[Any], Any]] = {
    (Config, "log_level"): str.upper,
    (Config, "log_format"): str.lower,
    (Source, "language"): str.lower,
}


def quote(value: str) -> str:
    """A value for a message: double-quoted, escaped, cut to 80 characters."""
    text = value if len(value) <= 80 else value[:77] + "..."
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

