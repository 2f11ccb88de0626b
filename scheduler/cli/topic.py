"""``newsmon topic test|why|replay``: tune the topic without crawling again.

``test`` needs no Redis: it reads JSON lines ``{"id", "title", "text", "language"}`` (a
``description`` is read too when present) and prints one JSON line per item, ``{"id", "kept",
"score", "matched", "missed"}``, then a summary on stderr (stdout stays JSON lines). Items that
carry a ``label`` (``on``, ``related``, ``off``) add precision and recall to the summary.
``why`` shows the stub of a dropped story (or says the story was kept); ``replay`` evaluates the
stubs and the kept records of a window under the current topic and lists what would change.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import IO, Any

from newsmon.scheduler.cli.common import FAILED, OK, UsageError, Verbs, add_verb, load_settings, redis_for
from newsmon.settings.model import Config


def register(verbs: Verbs, common: argparse.ArgumentParser) -> None:
    p = add_verb(verbs, common, "topic", _usage, "test, explain and replay the topic filter")
    sub = p.add_subparsers(dest="topic_verb", metavar="ACTION", required=True)
    test = add_verb(sub, common, "test", cmd_test,
                    "evaluate JSON lines {id, title, text, language} under the configured topic; no Redis needed")
    test.add_argument("file", metavar="FILE|-", nargs="?", default="-", help="JSON lines; - or absent: stdin")
    why = add_verb(sub, common, "why", cmd_why, "say why a story was dropped (or that it was kept)")
    why.add_argument("url", metavar="URL|ID", help="the story's URL or story id")
    why.add_argument("--json", action="store_true", help="the stub as JSON")
    replay = add_verb(sub, common, "replay", cmd_replay,
                      "re-evaluate recent dropped stubs and kept records under the current topic")
    replay.add_argument("--since", default="7d", help="how far back, as a duration (default 7d)")
    replay.add_argument("--json", action="store_true", help="one JSON line per change")


def _usage(args: argparse.Namespace) -> int:
    raise UsageError("topic: expected test, why or replay")


# -- test ----------------------------------------------------------------------------------------


def cmd_test(args: argparse.Namespace) -> int:
    from newsmon.crawler.topic import TopicMatcher

    config = load_settings(args)
    matcher = TopicMatcher(_topic(config))
    labels: dict[str, Counter[str]] = {}
    total = kept = 0
    stream = sys.stdin if args.file == "-" else _open(args.file)
    try:
        for number, item in _items(stream, args.file):
            verdict = matcher.evaluate(_fields(item), item.get("language"))
            total += 1
            kept += verdict.kept
            print(json.dumps({"id": item.get("id", number), "kept": verdict.kept, "score": verdict.score,
                              "matched": _matched(verdict), "missed": verdict.missed}, ensure_ascii=False))
            if "label" in item:
                count = labels.setdefault(str(item.get("language")), Counter())
                count[str(item["label"])] += 1
                count[f"{item['label']}_kept"] += verdict.kept
    finally:
        if stream is not sys.stdin:
            stream.close()
    print(f"newsmon: topic {matcher.topic.name}: {total} items, {kept} kept, {total - kept} dropped", file=sys.stderr)
    for language, c in sorted(labels.items()):
        print("newsmon: " + _labelled(language, c), file=sys.stderr)
    return OK


def _open(path: str) -> IO[str]:
    try:
        return open(path, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def _items(stream: IO[str], name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{name}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(item, dict):
            raise UsageError(f'{name}:{number}: expected an object like {{"id", "title", "text", "language"}}')
        yield number, item


def _fields(item: Mapping[str, Any]) -> dict[str, str | None]:
    return {name: item.get(name) for name in ("title", "description", "text")}


def _matched(verdict: Any) -> dict[str, list[str]]:
    matched = dict(verdict.groups)
    found_in_groups = {term for terms in verdict.groups.values() for term in terms}
    extra = [term for term in verdict.matched if term not in found_in_groups]
    if extra:
        matched["any"] = extra
    if verdict.excluded:
        matched["none"] = list(verdict.excluded)
    return matched


def _labelled(language: str, c: Counter[str]) -> str:
    kept = c["on_kept"] + c["related_kept"] + c["off_kept"]
    parts = [f"{language}: {c['on'] + c['related'] + c['off']} labelled"]
    if c["on"]:
        precision = c["on_kept"] / kept if kept else 1.0
        parts.append(f"precision {precision:.2f} recall {c['on_kept'] / c['on']:.2f}")
    for label in ("related", "off"):
        if c[label]:
            parts.append(f"{label} kept {c[f'{label}_kept'] / c[label]:.0%}")
    return ", ".join(parts)


# -- why -----------------------------------------------------------------------------------------


def cmd_why(args: argparse.Namespace) -> int:
    from newsmon.crawler.topic import TopicMatcher
    from newsmon.scheduler.dropped import DroppedStubs

    config = load_settings(args)
    wanted = _url_forms(args.url, config)
    with redis_for(config) as (client, keys, _url):
        stub = DroppedStubs(client, keys).find(wanted)
        kept = None if stub is not None else _kept_record(client, keys.articles, wanted)
    if stub is None and kept is None:
        print(f"newsmon: {args.url}: no dropped stub (kept 7 days) and no record in the feed", file=sys.stderr)
        return FAILED
    if kept is not None:
        topic = kept.get("topic") or {}
        if args.json:
            print(json.dumps({"kept": True, "record": kept}, ensure_ascii=False))
        else:
            print(f"kept: [{kept.get('source')}] {kept.get('url')}\n  title: {kept.get('title')}\n"
                  f"  score: {topic.get('score')}\n  groups: {json.dumps(topic.get('groups'), ensure_ascii=False)}")
        return OK
    assert stub is not None
    now = None
    if config.topic is not None:
        now = TopicMatcher(config.topic).evaluate(
            {"title": stub.get("title"), "description": stub.get("lead")}, stub.get("language"))
    if args.json:
        current = None if now is None else {"kept": now.kept, "score": now.score, "groups": now.groups,
                                            "missed": now.missed, "reason": now.reason}
        print(json.dumps({"kept": False, "stub": stub, "now": current}, ensure_ascii=False))
        return OK
    print(f"dropped: [{stub.get('source')}] {stub.get('url')} at {stub.get('dropped_at')}")
    print(f"  title: {stub.get('title')}")
    print(f"  lead: {stub.get('lead')}")
    print(f"  language: {stub.get('language')}; score {stub.get('score')}; reason: {stub.get('reason')}")
    for group, terms in (stub.get("groups") or {}).items():
        mark = "MISSED" if group in (stub.get("missed") or ()) else "hit"
        print(f"  {group}: {mark}: {', '.join(terms) or '(no term)'}")
    if now is not None:
        verdict = "kept" if now.kept else f"dropped ({now.reason})"
        print(f"  under the current topic (title and lead only): {verdict}, score {now.score:g}")
    return OK


def _url_forms(url: str, config: Config) -> set[str]:
    """The forms a story may be stored under: as given, and canonical."""
    from newsmon.crawler.urls import InvalidURL, canonicalize

    forms = {url}
    if url.startswith(("http://", "https://")):
        with contextlib.suppress(InvalidURL):
            forms.add(canonicalize(url, config.dedup.tracking_params))
    return forms


def _kept_record(client: Any, key: str, wanted: set[str]) -> dict[str, Any] | None:
    """The newest record in the feed with one of the ``wanted`` ids or URLs, or None."""
    end = "+"
    while True:
        batch = client.xrevrange(key, max=end, count=500)
        for _entry_id, fields in batch:
            record = json.loads(fields[b"record"])
            if wanted & {record.get("id"), record.get("url"), record.get("canonical_url")}:
                return dict(record)
        if len(batch) < 500:
            return None
        end = "(" + batch[-1][0].decode()


# -- replay --------------------------------------------------------------------------------------


def cmd_replay(args: argparse.Namespace) -> int:
    from newsmon.crawler.topic import TopicMatcher
    from newsmon.scheduler.dropped import DroppedStubs
    from newsmon.settings.durations import DurationError, parse_duration

    config = load_settings(args)
    try:
        since = parse_duration(args.since).total_seconds()
    except DurationError as exc:
        raise UsageError(f"--since: {exc}") from None
    matcher = TopicMatcher(_topic(config))
    counts: Counter[str] = Counter()
    with redis_for(config) as (client, keys, _url):
        stubs = list(DroppedStubs(client, keys).since(since))
        records = _records_since(client, keys.articles, since)
    for stub in stubs:
        now = matcher.evaluate({"title": stub.get("title"), "description": stub.get("lead")}, stub.get("language"))
        counts["dropped"] += 1
        if now.kept:
            counts["would_keep"] += 1
            _change(args.json, "would keep", stub, now, f"was dropped: {stub.get('reason')}")
    for record in records.values():
        now = matcher.evaluate(_fields(record), record.get("language"))
        counts["kept"] += 1
        if not now.kept:
            counts["would_drop"] += 1
            _change(args.json, "would drop", record, now, now.reason)
    print(f"newsmon: replayed {counts['dropped']} dropped stubs (title and lead) and {counts['kept']} kept "
          f"records: {counts['would_keep']} would now be kept, {counts['would_drop']} would now be dropped",
          file=sys.stderr)
    return OK


def _records_since(client: Any, key: str, seconds: float) -> dict[str, dict[str, Any]]:
    """The newest record of each story published in the last ``seconds``."""
    import time

    start = str(max(0, int((time.time() - seconds) * 1000)))
    out: dict[str, dict[str, Any]] = {}
    while True:
        batch = client.xrange(key, min=start, count=500)
        for _entry_id, fields in batch:
            record = json.loads(fields[b"record"])
            out[record["id"]] = record
        if len(batch) < 500:
            return out
        start = "(" + batch[-1][0].decode()


def _change(as_json: bool, what: str, story: Mapping[str, Any], now: Any, why: str) -> None:
    if as_json:
        print(json.dumps({"change": what.replace(" ", "_"), "id": story.get("id"), "url": story.get("url"),
                          "source": story.get("source"), "title": story.get("title"), "score": now.score,
                          "matched": _matched(now), "missed": now.missed}, ensure_ascii=False))
    else:
        print(f"{what}: [{story.get('source')}] {story.get('url')} (score {now.score:g}; {why})")


def _topic(config: Config) -> Any:
    if config.topic is None:
        raise UsageError("the configuration has no topic")
    return config.topic
