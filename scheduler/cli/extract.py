"""``newsmon extract``: one page (a file or a URL) to its JSON record; no Redis needed.

Fetching and extracting are :mod:`newsmon.crawler.standalone`; a page that is not an article
exits 1, a file that cannot be read or a URL that cannot be fetched exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from newsmon.scheduler.cli.common import FAILED, OK, UsageError, Verbs, add_verb, load_settings


def register(verbs: Verbs, common: argparse.ArgumentParser) -> None:
    p = add_verb(verbs, common, "extract", cmd_extract,
                 "extract one page (a file or a URL) to its JSON record; no Redis needed")
    p.add_argument("target", metavar="FILE|URL")
    p.add_argument("--url", help="the page's URL, when extracting a file")
    p.add_argument("--source", help="apply this source's language hint and selectors")
    p.add_argument("--compact", action="store_true", help="one line of JSON")


def cmd_extract(args: argparse.Namespace) -> int:
    from newsmon.crawler.extraction import NotAnArticle
    from newsmon.crawler.standalone import FetchError, fetch_page, page_record

    config = load_settings(args)
    target = args.target
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
        url = args.url or path.resolve().as_uri()
    try:
        record = page_record(body, url, config, args.source)
    except NotAnArticle as exc:
        print(f"newsmon: {target}: not an article ({exc.reason}: {exc.detail})", file=sys.stderr)
        return FAILED
    print(json.dumps(record, ensure_ascii=False, indent=None if args.compact else 2))
    return OK
