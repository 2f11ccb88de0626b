"""``newsmon extract``: one page (a file or a URL) to its JSON record; no Redis needed.

Fetching and extracting are :mod:`newsmon.crawler.standalone`. The record goes to stdout, the
topic's verdict (kept or dropped, and why) to stderr as one line. A page that is not an article
exits 1; a file that cannot be read, a URL that cannot be fetched or an unknown ``--source``
exits 2. A reader that goes away (``| head``) ends it quietly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from newsmon.scheduler.cli.common import FAILED, OK, UsageError, Verbs, add_verb, error, load_settings


def register(verbs: Verbs, common: argparse.ArgumentParser) -> None:
    p = add_verb(verbs, common, "extract", cmd_extract,
                 "extract one page (a file or a URL) to its JSON record; no Redis needed")
    p.add_argument("target", metavar="FILE|URL", help="a saved page, or an http(s) URL to fetch")
    p.add_argument("--url", help="the page's URL, when extracting a file "
                                 "(default: https://extract.invalid/<file name>)")
    p.add_argument("--source", help="apply this source's language hint and selectors, and name "
                                    "it as the record's source")
    p.add_argument("--compact", action="store_true", help="one line of JSON")


def cmd_extract(args: argparse.Namespace) -> int:
    from newsmon.crawler.extraction import NotAnArticle
    from newsmon.crawler.standalone import (
        FetchError,
        UnknownSource,
        fetch_page,
        file_url,
        page_record,
    )
    from newsmon.crawler.urls import InvalidURL

    config = load_settings(args)
    target = args.target
    if args.source is not None and args.source not in {s.name for s in config.sources}:
        names = ", ".join(s.name for s in config.sources) or "none"
        raise UsageError(f'unknown source "{args.source}" (configured: {names})')
    if target.startswith(("http://", "https://")):
        try:
            body, url = fetch_page(target, config)
        except FetchError as exc:
            raise UsageError(str(exc)) from None
    else:
        path = Path(target)
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {target}: {exc.strerror or exc}") from None
        url = args.url or file_url(path)
    try:
        page = page_record(body, url, config, args.source)
    except NotAnArticle as exc:
        error(f"{target}: not an article ({exc.reason}: {exc.detail})")
        return FAILED
    except (InvalidURL, UnknownSource) as exc:
        raise UsageError(str(exc)) from None
    text = json.dumps(page.record, ensure_ascii=False, indent=None if args.compact else 2)
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
        return OK
    error(page.reason)
    return OK


def _quiet_stdout() -> None:
    # The reader of the pipe is gone: point stdout at /dev/null so that the interpreter's final
    # flush does not complain about the broken pipe.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
