"""The record contract: the record's shape, its JSON Schema and the validation of a record.

The record fields are the contract of ``docs/record.md``; ``scheduler/record.schema.json``
(package data of ``newsmon.scheduler``) is its machine-readable form.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any, TypedDict, cast


class InvalidRecord(ValueError):
    """A record does not follow the record schema; ``problems`` lists every violation."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid record: " + "; ".join(problems))
        self.problems = problems


class Record(TypedDict):
    """A feed record, schema_version 1 (docs/record.md). Newer records may carry more keys."""

    schema_version: int
    id: str
    event: str
    url: str
    canonical_url: str
    source: str
    title: str | None
    text: str
    description: str | None
    language: str | None
    published: str | None
    published_from: str | None
    modified: str | None
    authors: list[str]
    image: str | None
    tags: list[str]
    sitename: str | None
    access: str
    fetched_at: str
    discovered_via: dict[str, str]
    topic: dict[str, Any] | None
    duplicate_of: str | None
    cluster_id: str
    revision: int
    changes: list[str]


@cache
def record_schema() -> dict[str, Any]:
    """The record JSON Schema (2020-12) shipped with newsmon."""
    text = resources.files("newsmon.scheduler").joinpath("record.schema.json").read_text("utf-8")
    return cast(dict[str, Any], json.loads(text))


@cache
def _validator() -> Any:
    try:
        import jsonschema
    except ImportError:  # a runtime extra, not needed to read the feed
        raise RuntimeError("validating records needs the jsonschema package") from None
    schema = record_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def record_problems(obj: object) -> list[str]:
    """Every way ``obj`` breaks the record contract, as ``path: message`` lines (empty: valid).

    Checks the JSON Schema, then the rules it cannot express: ``cluster_id`` equals ``id`` for
    a ``new`` story, a duplicate is not its own original, ``modified`` is not before
    ``published``.
    """
    problems = []
    for error in sorted(_validator().iter_errors(obj), key=lambda e: list(map(str, e.path))):
        path = "/".join(str(part) for part in error.absolute_path) or "(record)"
        problems.append(f"{path}: {error.message}")
    if problems or not isinstance(obj, dict):
        return problems
    if obj["event"] == "new" and obj["cluster_id"] != obj["id"]:
        problems.append("cluster_id: must equal id for a new story")
    if obj["event"] == "duplicate" and obj["duplicate_of"] == obj["id"]:
        problems.append("duplicate_of: a duplicate cannot be its own original")
    if obj["published"] and obj["modified"] and _utc(obj["modified"]) < _utc(obj["published"]):
        problems.append("modified: is before published")
    return problems


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text)


def validate_record(obj: object) -> None:
    """Raise InvalidRecord, listing every problem, unless ``obj`` is a valid record."""
    problems = record_problems(obj)
    if problems:
        raise InvalidRecord(problems)
