"""``newsmon sources ...`` and ``newsmon config check``: the source list and the settings file.

None needs Redis. A configuration error is reported by
:func:`~newsmon.scheduler.cli.common.run_handler`, one line per problem, exit 2.

``sources add`` and ``sources import`` edit the configuration file: they append entries to its
``sources`` list as text (:mod:`newsmon.settings.edit`), so its comments and layout stay, and
replace the file only once the result validates. A running daemon picks them up on
``newsmon reload``. ``sources check`` and ``sources export`` write nothing.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from newsmon.scheduler.cli.common import FAILED, OK, UsageError, Verbs, error, load_settings
from newsmon.settings.model import Config


def register(verbs: Verbs, common: argparse.ArgumentParser) -> None:
    sources = verbs.add_parser("sources", help="the configured sources").add_subparsers(
        dest="sub", metavar="COMMAND", required=True)
    p = sources.add_parser("list", parents=[common], help="list the configured sources")
    p.set_defaults(func=cmd_sources_list)
    p = sources.add_parser("add", parents=[common],
                           help="find the feeds and sitemaps of a home page (or take a feed URL), check them "
                                "once, and append the source to the configuration file")
    p.add_argument("url", metavar="URL", help="the outlet's home page, or one of its feeds")
    p.add_argument("--name", help="the source's name (default: from the host name)")
    p.add_argument("--language", help="two-letter language hint (default: what the page or feed declares)")
    p.add_argument("--interval", help='poll interval, e.g. "10m" (default: the settings\' default)')
    p.add_argument("--dry-run", action="store_true", help="print the entry, do not write it")
    p.set_defaults(func=cmd_sources_add)
    p = sources.add_parser("check", parents=[common],
                           help="fetch a source's feeds and sitemaps once and show what a poll would fetch; "
                                "writes nothing")
    p.add_argument("name", metavar="NAME", help="the configured source to check")
    p.add_argument("--limit", type=int, default=20, help="articles to list (default 20)")
    p.set_defaults(func=cmd_sources_check)
    p = sources.add_parser("import", parents=[common],
                           help="append the subscriptions of an OPML file to the configuration file")
    p.add_argument("file", metavar="FILE.opml", help="the OPML file to read (outlines with an xmlUrl)")
    p.add_argument("--interval", help='poll interval of the new sources, e.g. "15m"')
    p.add_argument("--dry-run", action="store_true", help="print the entries, do not write them")
    p.set_defaults(func=cmd_sources_import)
    p = sources.add_parser("export", parents=[common], help="print the sources as OPML")
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(func=cmd_sources_export)

    config = verbs.add_parser("config", help="configuration tools").add_subparsers(
        dest="sub", metavar="COMMAND", required=True)
    p = config.add_parser("check", parents=[common], help="validate a configuration file")
    p.add_argument("file", nargs="?", help="the file (default: --config)")
    p.set_defaults(func=cmd_config_check)


def cmd_sources_list(args: argparse.Namespace) -> int:
    from newsmon.settings.durations import format_duration

    config = load_settings(args)
    for s in config.sources:
        urls = [*s.feeds, *s.sitemaps, *s.pages] or ([s.home] if s.home else [])
        state = "" if s.enabled else " (disabled)"
        print(f"{s.name}\t{s.language or '-'}\tevery {format_duration(s.interval)}\t{' '.join(urls)}{state}")
    return OK


def cmd_config_check(args: argparse.Namespace) -> int:
    from newsmon.settings.loader import load_config

    # The file named here wins over --config; the environment applies as for every verb.
    path = Path(args.file) if args.file else (Path(args.config) if args.config else None)
    config = load_config(path, os.environ)
    where = config.path or "the packaged example"
    print(f"{where}: OK ({len(config.sources)} sources, topic: {config.topic.name if config.topic else 'none'})")
    return OK


def _editable(args: argparse.Namespace, config: Config) -> Path:
    """The configuration file to edit: the one the settings came from, never the packaged example."""
    path = Path(args.config) if args.config else (Path(os.environ["NEWSMON_CONFIG"])
                                                   if os.environ.get("NEWSMON_CONFIG") else None)
    if path is None:
        raise UsageError("no configuration file to edit: name one with --config or NEWSMON_CONFIG "
                         "(the packaged example is not edited)")
    return path


def _append(args: argparse.Namespace, path: Path, entries: list[dict[str, Any]]) -> None:
    """Append ``entries`` to the file, keeping its comments; validated before it is replaced."""
    from newsmon.settings.edit import EditError, append_sources, replace_validated
    from newsmon.settings.loader import load_config

    try:
        text = append_sources(path.read_text(encoding="utf-8"), entries)
    except EditError as exc:
        raise UsageError(f"{path}: {exc}") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    # Validated as the file itself would be (its directory, this environment); errors name it.
    replace_validated(path, text, lambda candidate: load_config(candidate, os.environ))


def cmd_sources_add(args: argparse.Namespace) -> int:
    from newsmon.crawler.standalone import FetchError
    from newsmon.scheduler.sources import discover, suggest_name

    config = load_settings(args)
    path = None if args.dry_run else _editable(args, config)
    if not args.url.startswith(("http://", "https://")):
        raise UsageError(f"expected an http(s) URL, got {args.url!r}")
    taken = [s.name for s in config.sources]
    if args.name and args.name in taken:
        raise UsageError(f"a source named {args.name!r} already exists")
    try:
        found = discover(args.url, config)
    except FetchError as exc:
        raise UsageError(str(exc)) from None
    for document in (*found.feeds, *found.sitemaps):
        if document.discovery is not None:
            print(f"{document.kind} {document.url}: OK, {len(document.discovery.entries)} entries")
        else:
            print(f"{document.kind} {document.url}: skipped ({document.error})")
    usable = found.usable
    if not usable:
        error(f"{args.url}: no feed or sitemap found that could be read")
        return FAILED
    known = {u for s in config.sources for u in (*s.feeds, *s.sitemaps)}
    already = [d.url for d in usable if d.url in known]
    if already:
        raise UsageError(f"{already[0]} is already configured")
    entry: dict[str, Any] = {"name": args.name or suggest_name(found.home or args.url, taken)}
    language = args.language or found.language
    if language:
        entry["language"] = language[:2].lower()
    if args.interval:
        entry["interval"] = args.interval
    if found.home:
        entry["home"] = found.home
    entry["feeds"] = [d.url for d in usable if d.kind == "feed"]
    entry["sitemaps"] = [d.url for d in usable if d.kind == "sitemap"]
    entry = {k: v for k, v in entry.items() if v != []}
    if path is None:
        import yaml

        print(yaml.safe_dump([entry], sort_keys=False, allow_unicode=True), end="")
        return OK
    _append(args, path, [entry])
    print(f"Added source {entry['name']!r} to {path}; `newsmon reload` applies it to a running daemon")
    return OK


def cmd_sources_check(args: argparse.Namespace) -> int:
    from newsmon.scheduler.sources import preview

    config = load_settings(args)
    try:
        source = config.source(args.name)
    except KeyError:
        raise UsageError(f"unknown source {args.name!r}; see 'newsmon sources list'") from None
    if not source.feeds and not source.sitemaps:
        raise UsageError(f"source {args.name!r} lists no feed or sitemap to check (only home or pages)")
    documents, entries = preview(source, config)
    for document in documents:
        if document.discovery is not None:
            state = " (malformed, partly read)" if document.discovery.degraded else ""
            print(f"{document.kind} {document.url}: {len(document.discovery.entries)} entries{state}")
        else:
            print(f"{document.kind} {document.url}: FAILED ({document.error})")
    print(f"{len(entries)} articles within fetch.max_age; a poll fetches those it has not seen yet, "
          "then the topic decides what is published:")
    for entry in entries[: max(args.limit, 0)]:
        when = (entry.published or entry.updated)
        print(f"  {when.strftime('%Y-%m-%d %H:%M') if when else '-':16}  {entry.url}  {entry.title or ''}".rstrip())
    return OK if all(d.ok for d in documents) else FAILED


def cmd_sources_import(args: argparse.Namespace) -> int:
    from newsmon.scheduler.opml import OpmlError, read_opml
    from newsmon.scheduler.sources import suggest_name

    config = load_settings(args)
    path = None if args.dry_run else _editable(args, config)
    try:
        outlines = read_opml(Path(args.file).read_bytes())
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    except OpmlError as exc:
        raise UsageError(f"{args.file}: {exc}") from None
    taken = [s.name for s in config.sources]
    known = {u for s in config.sources for u in (*s.feeds, *s.sitemaps)}
    entries: list[dict[str, Any]] = []
    for outline in outlines:
        if outline.feed in known:
            print(f"skipped {outline.feed}: already configured")
            continue
        name = suggest_name(outline.home or outline.feed, taken)
        taken.append(name)
        entry: dict[str, Any] = {"name": name}
        if outline.language and len(outline.language) >= 2:
            entry["language"] = outline.language[:2].lower()
        if args.interval:
            entry["interval"] = args.interval
        if outline.home:
            entry["home"] = outline.home
        entry["feeds"] = [outline.feed]
        entries.append(entry)
    if not entries:
        print("nothing to import")
        return OK
    if path is None:
        import yaml

        print(yaml.safe_dump(entries, sort_keys=False, allow_unicode=True), end="")
        return OK
    _append(args, path, entries)
    print(f"Imported {len(entries)} sources into {path}; `newsmon reload` applies them to a running daemon")
    return OK


def cmd_sources_export(args: argparse.Namespace) -> int:
    from newsmon.scheduler.opml import write_opml

    config = load_settings(args)
    text = write_opml(config.sources)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return OK
