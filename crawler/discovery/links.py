"""What a link on a section page is: article or navigation, file, crawl trap.

Pure functions on URL strings, all patterns compiled once. Whether a link stays on the page's
site is :func:`newsmon.crawler.urls.site`'s question.
"""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import SplitResult

#: Deeper paths are crawl traps, not articles.
MAX_PATH_DEPTH = 12

_FILE_EXTENSIONS = frozenset(
    {
        "jpg", "jpeg", "png", "gif", "webp", "avif", "svg", "ico", "bmp", "tif", "tiff",
        "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "epub", "csv",
        "mp4", "m4v", "mov", "avi", "wmv", "webm", "mkv", "flv", "mp3", "m4a", "wav", "ogg", "aac",
        "zip", "gz", "tgz", "tar", "rar", "7z", "exe", "dmg", "apk", "iso",
        "css", "js", "json", "xml", "rss", "atom", "txt", "woff", "woff2", "ttf", "eot",
    }
)  # fmt: skip
_PAGE_EXTENSIONS = frozenset({"html", "htm", "shtml", "php", "asp", "aspx", "jsp", "ece", "cms", "ghtml"})
_NAVIGATION_SEGMENTS = frozenset(
    {
        "tag", "tags", "category", "categories", "author", "authors", "topic", "topics",
        "search", "login", "logout", "signin", "sign-in", "signup", "sign-up", "register",
        "account", "profile", "user", "users", "subscribe", "subscription", "newsletter",
        "newsletters", "about", "about-us", "contact", "contact-us", "contacts", "imprint",
        "impressum", "privacy", "privacy-policy", "cookies", "cookie-policy", "terms",
        "terms-of-use", "terms-of-service", "terms-and-conditions", "legal", "help", "faq",
        "careers", "jobs", "advertise", "page", "archive", "archives", "feed", "rss",
        "sitemap", "cart", "shop", "wp-admin", "wp-login.php", "cgi-bin",
    }
)  # fmt: skip
_NAVIGATION_QUERY_KEYS = frozenset(
    {"page", "paged", "s", "q", "query", "search", "replytocom", "sort", "order", "orderby", "filter", "share"}
)
_CALENDAR_QUERY_KEYS = frozenset({"date", "day", "month", "year", "week", "calendar", "cal", "start", "end"})
_CALENDAR_SEGMENTS = frozenset({"calendar", "calendrier", "kalender", "events-calendar"})

_DATE_IN_PATH = re.compile(
    r"/(?:19|20)\d\d[/-](?:0?[1-9]|1[0-2])(?:[/-]|$)"  # /2024/02/ or /2024-02-
    r"|/(?:19|20)\d\d/(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*/"  # /2024/feb/
    r"|(?<![0-9])(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?![0-9])",  # 20240205
    re.IGNORECASE,
)
_YEAR_SEGMENT = re.compile(r"(?:19|20)\d\d")
_NUMERIC_ID = re.compile(r"\d{5,}")
_SLUG_SEPARATORS = re.compile(r"[-_]+")


def is_file(parts: SplitResult) -> bool:
    """Whether the path names a download (image, PDF, video, archive, asset), not a page."""
    last = parts.path.rsplit("/", 1)[-1]
    _stem, dot, extension = last.rpartition(".")
    return bool(dot) and extension.lower() in _FILE_EXTENSIONS


def is_crawl_trap(parts: SplitResult, segments: list[str]) -> bool:
    """Paths that go on forever: too deep, repeating themselves, or walking a calendar."""
    if len(segments) > MAX_PATH_DEPTH:
        return True
    counts = Counter(segment.lower() for segment in segments)
    if counts and max(counts.values()) >= 3:
        return True  # /x/y/x/z/x/ - a relative link resolved again and again
    if any(segments[i : i + 2] == segments[i + 2 : i + 4] for i in range(len(segments) - 3)):
        return True  # /a/b/a/b/
    if not _CALENDAR_SEGMENTS.isdisjoint(counts):
        return True
    if sum(1 for segment in segments if _YEAR_SEGMENT.fullmatch(segment)) >= 2:
        return True  # /2024/02/2023/01/ is a calendar being walked
    return not _CALENDAR_QUERY_KEYS.isdisjoint(_query_keys(parts))


def is_navigation(parts: SplitResult, segments: list[str]) -> bool:
    """Tag, category, author, search, account, legal and pagination pages."""
    if any(segment.lower() in _NAVIGATION_SEGMENTS for segment in segments):
        return True
    return not _NAVIGATION_QUERY_KEYS.isdisjoint(_query_keys(parts))


def looks_like_article(parts: SplitResult, segments: list[str]) -> bool:
    """Whether the path has the shape of an article rather than a section front.

    A date in the path, a numeric id, a long hyphenated slug, or (two levels down or deeper) a
    slug, digits or a page extension in the last segment. ``/news/world`` and
    ``/news/uk-politics`` are sections; ``/news/uk-politics-68123456`` is an article.
    """
    if not segments:
        return False
    last = segments[-1]
    stem, dot, extension = last.rpartition(".")
    has_page_extension = bool(dot) and extension.lower() in _PAGE_EXTENSIONS
    if not has_page_extension:
        stem = last
    if (stem.isdigit() and len(stem) <= 4) or stem.lower() in {"index", "default", "home"}:
        return False  # /2024/02/05/ archives, /news/2 pagination, /news/index.html
    if _DATE_IN_PATH.search(parts.path) or _NUMERIC_ID.search(stem):
        return True
    words = len([word for word in _SLUG_SEPARATORS.split(stem) if word])
    if words >= 4 or (words >= 3 and len(stem) >= 20):
        return True
    if len(segments) < 2:
        return False
    return words >= 3 or has_page_extension or any(char.isdigit() for char in stem)


def path_segments(parts: SplitResult) -> list[str]:
    """The non-empty segments of the URL path."""
    return [segment for segment in parts.path.split("/") if segment]


def _query_keys(parts: SplitResult) -> set[str]:
    # Keys only, lowercased, undecoded: enough to spot ?page= or ?date=, and cheap on hostile URLs.
    if not parts.query:
        return set()
    return {pair.partition("=")[0].lower() for pair in parts.query.split("&", 100)[:100]}
