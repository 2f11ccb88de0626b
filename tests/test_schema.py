"""The record JSON Schema: it matches the README's field table, accepts good records, rejects bad ones."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from newsmon.crawler.record import SCHEMA_VERSION
from newsmon.scheduler.feed import InvalidRecord, record_problems, record_schema, validate_record
from tests.test_feed_support import make_record

ROOT = Path(__file__).resolve().parents[1]


def _documented_fields() -> list[str]:
    text = (ROOT / "README.md").read_text("utf-8")
    table = text.split("### Record fields", 1)[1].split("\n#", 1)[0]
    return re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.MULTILINE)


def test_schema_is_valid_2020_12() -> None:
    """The shipped schema is itself a valid JSON Schema 2020-12 document."""
    schema = record_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_schema_is_shipped_next_to_the_feed_module() -> None:
    """The schema loads from the installed package and is the repository's file."""
    on_disk = json.loads((ROOT / "scheduler" / "record.schema.json").read_text("utf-8"))
    assert record_schema() == on_disk


def test_schema_fields_are_the_documented_fields() -> None:
    """Every field in the README's record table is a required property, and there are no others."""
    schema = record_schema()
    documented = _documented_fields()
    assert len(documented) == 25
    assert sorted(schema["required"]) == sorted(documented)
    assert sorted(schema["properties"]) == sorted(documented)


def test_every_field_is_described() -> None:
    """Each property, nested ones included, carries a description."""
    schema = record_schema()
    missing = [name for name, spec in schema["properties"].items() if not spec.get("description")]
    nested = schema["properties"]["discovered_via"]["properties"]
    missing += [f"discovered_via.{n}" for n, spec in nested.items() if not spec.get("description")]
    topic = schema["properties"]["topic"]["anyOf"][0]["properties"]
    missing += [f"topic.{n}" for n, spec in topic.items() if not spec.get("description")]
    assert missing == []


def test_schema_version_matches_the_package() -> None:
    """The schema's schema_version constant is the package's SCHEMA_VERSION."""
    assert record_schema()["properties"]["schema_version"]["const"] == SCHEMA_VERSION


def _good() -> list[dict[str, Any]]:
    new = make_record(1)
    duplicate = make_record(2, event="duplicate", cluster=1)
    updated = make_record(1, event="updated")
    updated.update(revision=3, changes=["title", "text"], modified="2024-01-28T15:00:00.250Z")
    updated_copy = make_record(2, event="duplicate", cluster=1)
    updated_copy.update(event="updated", revision=2, changes=["text"])
    sparse = make_record(4)
    sparse.update(title=None, description=None, language=None, published=None,
                  published_from=None, modified=None, authors=[], tags=[], sitename=None,
                  access="paywalled", text="")
    topical = make_record(5)
    topical["topic"] = {"name": "elections", "matched": ["vote", "ballot*"],
                        "groups": {"what": ["vote"], "where": []}}
    topical["discovered_via"] = {"kind": "page", "url": "https://example.org/politics"}
    return [new, duplicate, updated, updated_copy, sparse, topical]


@pytest.mark.parametrize("record", _good(),
                         ids=["new", "duplicate", "updated", "updated-duplicate", "sparse", "topic"])
def test_good_records_are_valid(record: dict[str, Any]) -> None:
    """Hand-made records of every event, with and without optional values, validate."""
    assert record_problems(record) == []
    validate_record(record)


def test_unknown_fields_are_allowed() -> None:
    """A record with a field added later still validates (consumers stay forward-compatible)."""
    record = make_record(1)
    record["sentiment"] = 0.4
    record["discovered_via"]["position"] = 3
    assert record_problems(record) == []


def _bad(change: dict[str, Any], *, drop: str | None = None, event: str = "new") -> dict[str, Any]:
    record = make_record(7, event=event, cluster=1 if event == "duplicate" else None)
    record.update(copy.deepcopy(change))
    if drop:
        del record[drop]
    return record


def _own_duplicate() -> dict[str, Any]:
    record = make_record(7, event="duplicate", cluster=1)
    record.update(duplicate_of=record["id"], cluster_id=record["id"])
    return record


BAD = {
    "missing field": (_bad({}, drop="cluster_id"), "(record)"),
    "schema version 2": (_bad({"schema_version": 2}), "schema_version"),
    "version as string": (_bad({"schema_version": "1"}), "schema_version"),
    "short id": (_bad({"id": "abc"}), "id"),
    "upper-case id": (_bad({"id": "ABCDEF0123456789", "cluster_id": "ABCDEF0123456789"}), "id"),
    "unknown event": (_bad({"event": "deleted"}), "event"),
    "relative url": (_bad({"url": "/story/7"}), "url"),
    "ftp canonical url": (_bad({"canonical_url": "ftp://example.org/7"}), "canonical_url"),
    "empty source": (_bad({"source": ""}), "source"),
    "text null": (_bad({"text": None}), "text"),
    "three-letter language": (_bad({"language": "eng"}), "language"),
    "time with offset": (_bad({"published": "2024-01-28T14:05:00+00:00"}), "published"),
    "date only": (_bad({"fetched_at": "2024-01-28"}), "fetched_at"),
    "unknown date source": (_bad({"published_from": "guess"}), "published_from"),
    "date source without date": (_bad({"published": None}), "published_from"),
    "authors as string": (_bad({"authors": "A. Writer"}), "authors"),
    "unknown access": (_bad({"access": "metered"}), "access"),
    "discovery kind": (_bad({"discovered_via": {"kind": "email", "url": "https://a.b/"}}),
                       "discovered_via/kind"),
    "discovery without url": (_bad({"discovered_via": {"kind": "feed"}}), "discovered_via"),
    "topic without matched": (_bad({"topic": {"name": "t", "groups": {}}}), "topic"),
    "revision 0": (_bad({"revision": 0}), "revision"),
    "new with revision 2": (_bad({"revision": 2}), "revision"),
    "new with changes": (_bad({"changes": ["title"]}), "changes"),
    "new with duplicate_of": (_bad({"duplicate_of": "0123456789abcdef"}), "duplicate_of"),
    "duplicate without original": (_bad({"duplicate_of": None}, event="duplicate"), "duplicate_of"),
    "updated without changes": (_bad({"changes": []}, event="updated"), "changes"),
    "updated at revision 1": (_bad({"revision": 1}, event="updated"), "revision"),
    "unknown change": (_bad({"changes": ["image"]}, event="updated"), "changes/0"),
    "new in another cluster": (_bad({"cluster_id": "0123456789abcdef"}), "cluster_id"),
    "own duplicate": (_own_duplicate(), "duplicate_of"),
    "modified before published": (_bad({"modified": "2024-01-28T13:00:00Z"}), "modified"),
}


@pytest.mark.parametrize(("record", "path"), BAD.values(), ids=BAD.keys())
def test_bad_records_are_rejected_at_the_right_field(record: dict[str, Any], path: str) -> None:
    """Each broken rule is reported, naming the field that breaks it."""
    problems = record_problems(record)
    assert problems, "expected the record to be rejected"
    assert any(problem.startswith(f"{path}:") for problem in problems), problems


def test_validate_record_lists_every_problem() -> None:
    """InvalidRecord carries one line per violation, not just the first."""
    record = make_record(1)
    record.update(event="moved", access="metered")
    with pytest.raises(InvalidRecord) as caught:
        validate_record(record)
    assert len(caught.value.problems) == 2
    assert "event" in str(caught.value)
    assert "access" in str(caught.value)


@pytest.mark.parametrize("value", [None, [], "record", 1])
def test_non_objects_are_rejected(value: object) -> None:
    """Anything but a JSON object is not a record."""
    assert record_problems(value) != []


def test_schema_admits_every_date_source_extraction_produces() -> None:
    """The schema's published_from values are exactly those extraction can produce."""
    from newsmon.crawler.extraction.dates import DATE_SOURCES
    from newsmon.scheduler.feed import record_schema

    allowed = record_schema()["properties"]["published_from"]["enum"]
    assert set(allowed) == {*DATE_SOURCES, None}


# -- the docs against real records ---------------------------------------------------------------
PAGES = ROOT / "tests" / "pages"
#: A URL variant of the page: www., a tracking parameter, a trailing slash, a fragment.
VARIANT = "https://WWW.Example.org/news/2024/03/14/riverside-bicycle-bridge/?utm_source=rss#top"


def _readme_rows() -> dict[str, tuple[str, str]]:
    """The README's record table: field -> (type, meaning)."""
    text = (ROOT / "README.md").read_text("utf-8")
    table = text.split("### Record fields", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| ([^|]+) \|(.*)\|$", table, flags=re.MULTILINE)
    return {name: (kind.strip(), meaning.strip()) for name, kind, meaning in rows}


def _real_records() -> list[dict[str, Any]]:
    """Records of real pages, built by the code the crawl and ``newsmon extract`` share."""
    from newsmon.crawler.standalone import page_record
    from newsmon.settings.model import Config

    config = Config(sources=())
    return [page_record((PAGES / name).read_bytes(), url, config).record
            for name, url in [("en_article.html", VARIANT),
                              ("fr_article.html", "https://www.lemonde.example/a/1.html"),
                              ("split_body.html", "https://example.org/split")]]


#: README type words -> the JSON types they mean.
_README_TYPES = {"integer": {"integer"}, "string": {"string"}, "object": {"object"},
                 "null": {"null"}, "array of strings": {"array"}}


def _documented_types(kind: str) -> set[str]:
    return set().union(*(_README_TYPES[part.strip()] for part in kind.split(" or ")))


def _schema_types(spec: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    """The JSON types a schema property admits ($ref, anyOf, enum and const resolved)."""
    if "$ref" in spec:
        return _schema_types(schema["$defs"][spec["$ref"].rsplit("/", 1)[1]], schema)
    if "anyOf" in spec:
        return set().union(*(_schema_types(part, schema) for part in spec["anyOf"]))
    if "type" in spec:
        return {spec["type"]} if isinstance(spec["type"], str) else set(spec["type"])
    values = spec["enum"] if "enum" in spec else [spec["const"]]
    names = {str: "string", int: "integer", type(None): "null"}
    return {names[type(value)] for value in values}


def _json_type(value: object) -> str:
    names = {str: "string", int: "integer", type(None): "null", list: "array", dict: "object"}
    return names[type(value)]


def test_readme_types_are_the_schema_types() -> None:
    """Each README row has a meaning, and its type is exactly what the schema admits."""
    schema = record_schema()
    rows = _readme_rows()
    assert sorted(rows) == sorted(schema["properties"])
    assert [name for name, (_, meaning) in rows.items() if not meaning] == []
    wrong = {name: (kind, sorted(_schema_types(schema["properties"][name], schema)))
             for name, (kind, _) in rows.items()
             if _documented_types(kind) != _schema_types(schema["properties"][name], schema)}
    assert wrong == {}


def test_real_records_have_every_documented_field_with_its_documented_type() -> None:
    """A real page's record has every README field, no other, each of a type the README gives,
    and the shipped schema accepts it."""
    rows = _readme_rows()
    for record in _real_records():
        assert sorted(record) == sorted(rows)
        wrong = {name: _json_type(record[name]) for name, (kind, _) in rows.items()
                 if _json_type(record[name]) not in _documented_types(kind)}
        assert wrong == {}
        assert record_problems(record) == []


def test_text_is_documented_as_paragraphs_on_one_newline_each() -> None:
    """The README and the schema say paragraphs are separated by one newline, and a real record's
    text is one paragraph per line, with no blank line."""
    readme = _readme_rows()["text"][1]
    schema = record_schema()["properties"]["text"]["description"]
    for description in (readme, schema):
        assert "one newline" in description
        assert "never a blank line" in description
    record = _real_records()[0]
    text = record["text"]
    assert "\n\n" not in text
    paragraphs = text.split("\n")
    assert len(paragraphs) >= 5
    assert paragraphs[0].startswith("The long-promised bicycle bridge")
    assert paragraphs[1].startswith("The span, a slender steel arch")
    assert all(paragraph.strip() == paragraph and paragraph for paragraph in paragraphs)


def test_id_is_computed_as_documented() -> None:
    """id is the first 16 hex digits of SHA-256 of canonicalize(canonical_url), as the README
    and the schema say (not of canonical_url as shown), so URL variants share it."""
    import hashlib

    from newsmon.crawler.urls import canonicalize

    for description in (_readme_rows()["id"][1], record_schema()["properties"]["id"]["description"]):
        assert "first 16 hex digits of the SHA-256" in description
        assert "canonicalize" in description
    assert "canonicalize(canonical_url).encode()).hexdigest()[:16]" in _readme_rows()["id"][1]
    for record in _real_records():
        key = canonicalize(record["canonical_url"])
        assert record["id"] == hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    en = _real_records()[0]
    assert en["canonical_url"] == "https://www.example.org/news/2024/03/14/riverside-bicycle-bridge"
    plain = hashlib.sha256(en["canonical_url"].encode("utf-8")).hexdigest()[:16]
    assert en["id"] != plain  # the strict form, not the URL as shown
