"""Build the one :class:`~newsmon.settings.model.Config` from YAML and the environment.

Precedence, lowest first; each layer overrides the one before it:

1. packaged defaults: the dataclass defaults in ``newsmon.settings.model``;
2. the config file: ``path``, else ``$NEWSMON_CONFIG``, else the packaged example
   ``newsmon/settings/newsmon.yaml``;
3. the environment: ``REDIS_URL`` (``redis.url``), ``NEWSMON_DATA_DIR`` (``data_dir``) and
   ``NEWSMON_LOG_LEVEL`` (``log_level``), ``NEWSMON_LOG_FORMAT`` (``log_format``); an empty variable counts as unset;
4. command-line flags, applied by the caller to the returned ``Config`` with
   ``dataclasses.replace``.

Relative paths (``data_dir``, ``sinks.jsonl.directory``) in a config file resolve against that
file's directory, so a config means the same thing whatever directory the daemon starts in. The
packaged example is the exception: it lives inside the installed package, so its relative paths
resolve against the current working directory. Paths from the environment resolve against the
current working directory too. The returned ``data_dir`` is always absolute.

Every problem is collected before anything is raised, so one run reports them all, each as
``file:line: field.path: message``. The rules a value must pass live in
``newsmon.settings.rules``; this module reads the YAML, converts each value to its field's type,
applies those rules and builds the dataclasses.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib.resources
import logging
import os
import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from newsmon.settings.durations import DurationError, parse_duration
from newsmon.settings.model import (
    Config,
    FetchSettings,
    JsonlSink,
    Source,
    Term,
    Topic,
    WebhookSink,
)
from newsmon.settings.rules import (
    NEAR_MAX,
    NORMALIZE,
    RULES,
    TOPIC_FIELDS,
    Rule,
    context_word,
    language_code,
    log_format,
    log_level,
    positive_duration,
    positive_number,
    quote,
    redis_url,
    term_text,
    term_weight,
    topic_field,
)

__all__ = ["ENV_CONFIG", "TOPIC_FIELDS", "ConfigError", "Problem", "load_config"]

logger = logging.getLogger(__name__)

ENV_CONFIG = "NEWSMON_CONFIG"
_PACKAGE = "newsmon.settings"
_PACKAGED_FILE = "newsmon.yaml"
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?")
_SIZE_UNITS = {"b": 1, "kb": 10**3, "kib": 2**10, "mb": 10**6, "mib": 2**20, "gb": 10**9, "gib": 2**30}
_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"
_NULL_TAG = "tag:yaml.org,2002:null"
# Only scalar construction is borrowed from PyYAML; mappings and lists are walked here to keep marks.
_SCALARS = yaml.constructor.SafeConstructor()


@dataclasses.dataclass(frozen=True, slots=True)
class Problem:
    """One configuration problem. ``line`` is 1-based; None when there is no line (environment)."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ConfigError(ValueError):
    """The configuration cannot be used. ``problems`` lists every reason; ``str()`` one per line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read, validate and freeze the configuration.

    Args:
        path: the YAML file; None means ``$NEWSMON_CONFIG``, else the packaged example.
        env: the environment to read overrides from; None means ``os.environ``. Only the entry
            point passes None: nothing else in newsmon reads the environment.

    Returns:
        The validated configuration, ``data_dir`` absolute.

    Raises:
        ConfigError: with every problem found in the file and the environment.
    """
    env = os.environ if env is None else env
    origin = ""
    if path is None and env.get(ENV_CONFIG):
        path, origin = Path(env[ENV_CONFIG]), f" (from ${ENV_CONFIG})"
    config_path: Path | None
    if path is not None:
        config_path = path.expanduser()
        file, base_dir = str(path), config_path.absolute().parent
        text = _read_text(file, origin, config_path.read_bytes)
    else:
        resource = importlib.resources.files(_PACKAGE).joinpath(_PACKAGED_FILE)
        config_path = resource if isinstance(resource, Path) else None
        file, base_dir = str(resource), Path.cwd()
        text = _read_text(file, origin, resource.read_bytes)
    reader = _Reader(file, base_dir)
    config = reader.config(_compose(file, text), config_path)
    config = _apply_environment(config, env, reader.problems)
    if config is not _INVALID and (message := _unusable_directory(config.data_dir)):
        where = ("environment", "NEWSMON_DATA_DIR") if env.get("NEWSMON_DATA_DIR") else (file, "data_dir")
        reader.problems.append(Problem(where[0], None, where[1], message))
        config = _INVALID
    if config is _INVALID:
        # Document order reads best; environment problems (no line) come last.
        raise ConfigError(sorted(reader.problems, key=lambda p: (p.line is None, p.line or 0)))
    logger.debug("configuration read from %s: %d sources", file, len(config.sources))
    return typing.cast(Config, config)


def _read_text(file: str, origin: str, read: Callable[[], bytes]) -> str:
    prefix = f"cannot read the configuration{origin}"
    try:
        data = read()
    except FileNotFoundError:
        raise ConfigError([Problem(file, None, "", f"{prefix}: no such file")]) from None
    except IsADirectoryError:
        raise ConfigError([Problem(file, None, "", f"{prefix}: it is a directory")]) from None
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise ConfigError([Problem(file, None, "", f"{prefix}: {reason}")]) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = f"{prefix}: not UTF-8 text (byte 0x{data[exc.start]:02x})"
        raise ConfigError([Problem(file, line, "", message)]) from None


def _compose(file: str, text: str) -> MappingNode:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        message = f"YAML syntax error: {exc.problem or exc.context}"
        if exc.problem and exc.context and exc.context_mark and exc.context_mark.line + 1 != line:
            message += f" ({exc.context} that starts at line {exc.context_mark.line + 1})"
        if exc.problem and "got '?'" in exc.problem:
            message += '; quote URLs with a "?" inside [...] lists: ["https://host/feed?x=1"]'
        raise ConfigError([Problem(file, line, "", message)]) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        message = f"YAML syntax error: character {chr(exc.character)!r} is not allowed"
        raise ConfigError([Problem(file, line, "", message)]) from None
    if root is None:
        message = "the file is empty; expected a mapping with at least sources:"
        raise ConfigError([Problem(file, None, "", message)])
    if not isinstance(root, MappingNode):
        message = f"expected a mapping at the top level (sources:, fetch:, ...), got {_describe(root)}"
        raise ConfigError([Problem(file, root.start_mark.line + 1, "", message)])
    return root


class _Invalid:
    """Stands for a value that failed validation; its problem is already recorded."""

    def __repr__(self) -> str:
        return "<invalid>"


_INVALID: Any = _Invalid()


class _Reader:
    """Walks the YAML nodes, builds the dataclasses and records problems with their lines."""

    def __init__(self, file: str, base_dir: Path) -> None:
        self.file = file
        self.base_dir = base_dir
        self.problems: list[Problem] = []
        self._flattened: set[int] = set()  # ids of mapping nodes whose merge keys are resolved

    def problem(self, node: Node, field: str, message: str) -> Any:
        self.problems.append(Problem(self.file, node.start_mark.line + 1, field, message))
        return _INVALID

    def config(self, root: MappingNode, path: Path | None) -> Any:
        config = self.dataclass(root, Config, "")
        return config if config is _INVALID else dataclasses.replace(config, path=path)

    # -- mappings and dataclasses ------------------------------------------------------------

    def items(
        self, node: MappingNode, path: str, allowed: Sequence[str] | None
    ) -> Iterator[tuple[str, Node]]:
        """Yield (key, value node) of a mapping; report bad, duplicate and unknown keys.

        ``allowed`` None accepts any name (topic groups). YAML merge keys (``<<: *anchor``) are
        honoured; a key written out overrides a merged one.
        """
        # An aliased mapping is visited once per alias; after the first visit its merged keys are
        # part of it and would read as duplicates.
        if id(node) not in self._flattened:
            self._flattened.add(id(node))
            seen: dict[str, Node] = {}
            for key_node, _ in node.value:
                if isinstance(key_node, ScalarNode) and key_node.tag != _MERGE_TAG:
                    if key_node.value in seen:
                        message = f"duplicate key (first at line {seen[key_node.value].start_mark.line + 1})"
                        self.problem(key_node, _join(path, key_node.value), message)
                    seen.setdefault(key_node.value, key_node)
            try:
                _SCALARS.flatten_mapping(node)
            except yaml.constructor.ConstructorError as exc:
                self.problem(node, path, f"cannot merge: {exc.problem}")
                return
        values: dict[str, Node] = {}
        keys: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == _NULL_TAG or not key_node.value:
                self.problem(key_node, path, f"expected a key name, got {_describe(key_node)}")
                continue
            values[key_node.value] = value_node
            keys[key_node.value] = key_node
        for key, value_node in values.items():
            if not path and key.startswith("x-"):
                continue  # top-level extension keys hold YAML anchors for the rest of the file
            if allowed is not None and key not in allowed:
                self.problem(keys[key], _join(path, key), _unknown_key(key, allowed))
            else:
                yield key, value_node

    def dataclass(self, node: Node, cls: type, path: str) -> Any:
        if not isinstance(node, MappingNode):
            return self.problem(node, path, f"expected a mapping (key: value lines), got {_describe(node)}")
        fields = {f.name: f for f in dataclasses.fields(cls) if (cls, f.name) not in _NOT_IN_YAML}
        hints = _hints(cls)
        kwargs: dict[str, Any] = {}
        for key, value_node in self.items(node, path, list(fields)):
            kwargs[key] = self.field(value_node, cls, key, hints[key], _join(path, key))
        for name, f in fields.items():
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if name not in kwargs and required:
                kwargs[name] = self.problem(node, _join(path, name), "required key missing")
        if any(value is _INVALID for value in kwargs.values()):
            return _INVALID
        if cls is Source and not any(kwargs.get(k) for k in ("feeds", "sitemaps", "pages", "home")):
            return self.problem(node, path, "expected at least one of feeds, sitemaps, pages or home")
        if cls is Source and (message := _interval_bounds(kwargs)):
            name = "min_interval" if kwargs.get("min_interval") else "max_interval"
            bound = next((v for k, v in node.value if isinstance(k, ScalarNode) and k.value == name), node)
            return self.problem(bound, _join(path, name), message)
        if cls is Config and not kwargs["sources"]:
            return self.problem(node, "sources", "expected at least one source")
        if cls is Config and "data_dir" not in kwargs:
            kwargs["data_dir"] = self.base_dir / fields["data_dir"].default  # type: ignore[operator]
        return cls(**kwargs)

    def field(self, node: Node, cls: type, name: str, tp: Any, path: str) -> Any:
        special = _SPECIAL.get((cls, name))
        if special is not None:
            return special(self, node, path)
        return self.value(node, tp, path, RULES.get((cls, name)), NORMALIZE.get((cls, name)))

    # -- values --------------------------------------------------------------------------------

    def value(self, node: Node, tp: Any, path: str, rule: Rule | None = None,
              normalize: Callable[[Any], Any] | None = None) -> Any:
        """Convert ``node`` to type ``tp``; ``rule`` checks, then ``normalize`` maps each leaf value."""
        optional, tp = _unwrap_optional(tp)
        if optional and _is_null(node):
            return None
        if typing.get_origin(tp) is tuple:
            return self.sequence(node, typing.get_args(tp)[0], path, rule, normalize)
        if dataclasses.is_dataclass(tp):
            return self.dataclass(node, typing.cast(type, tp), path)
        value = self.scalar(node, tp, path)
        if value is _INVALID:
            return value
        message = rule(value) if rule is not None else None
        if message:
            return self.problem(node, path, message)
        return normalize(value) if normalize is not None else value

    def sequence(self, node: Node, item_tp: Any, path: str, rule: Rule | None,
                 normalize: Callable[[Any], Any] | None) -> Any:
        if not isinstance(node, SequenceNode):
            return self.problem(node, path, f"expected a list like [a, b], got {_describe(node)}")
        items = [
            self.value(item, item_tp, f"{path}[{i}]", rule, normalize) for i, item in enumerate(node.value)
        ]
        if dataclasses.is_dataclass(item_tp) and "name" in {f.name for f in dataclasses.fields(item_tp)}:
            self.unique_names(node, path)
        return _INVALID if any(item is _INVALID for item in items) else tuple(items)

    def unique_names(self, node: SequenceNode, path: str) -> None:
        """Report repeated ``name:`` values, read from the nodes so that invalid items count too."""
        first: dict[str, Node] = {}
        for i, item in enumerate(node.value):
            # The last name: key counts, as in items(): a merged one comes first and is overridden.
            names = [v for k, v in getattr(item, "value", ()) if isinstance(k, ScalarNode) and k.value == "name"]
            if not names or not isinstance(names[-1], ScalarNode):
                continue
            name = names[-1]
            if name.value in first:
                line = first[name.value].start_mark.line + 1
                self.problem(name, f"{path}[{i}].name", f'duplicate name "{name.value}" (first at line {line})')
            first.setdefault(name.value, name)

    def scalar(self, node: Node, tp: Any, path: str) -> Any:  # noqa: PLR0911 - one return per scalar type
        expected = _EXPECTED.get(tp, "a value")
        if not isinstance(node, ScalarNode):
            return self.problem(node, path, f"expected {expected}, got {_describe(node)}")
        tag = node.tag.rsplit(":", 1)[-1]
        if tp is bool and tag == "bool":
            return _SCALARS.construct_yaml_bool(node)
        if tp is int and tag == "int":
            return _SCALARS.construct_yaml_int(node)
        if tp is float and tag in ("int", "float"):
            return float(_SCALARS.construct_yaml_float(node))
        if tp is timedelta and tag != "null":
            number = tag in ("int", "float")
            try:
                return parse_duration(float(_SCALARS.construct_yaml_float(node)) if number else node.value)
            except DurationError as exc:
                return self.problem(node, path, str(exc))
        # A string is taken as written: `name: 2024` or `language: no` (Norwegian) mean text.
        if tp in (str, Path) and tag != "null" and node.value != "":
            return Path(node.value).expanduser() if tp is Path else node.value
        return self.problem(node, path, f"expected {expected}, got {_describe(node)}")

    # -- fields that need more than their type -------------------------------------------------

    def directory(self, node: Node, path: str, tp: Any) -> Any:
        value = self.value(node, tp, path)
        if isinstance(value, Path) and not value.is_absolute():
            return self.base_dir / value
        return value

    def seconds(self, node: Node, path: str, rule: Rule | None = None) -> Any:
        """A float number of seconds, also written as a duration (``"30s"``, ``"1.5s"``)."""
        value = self.value(node, timedelta, path, rule)
        return value if value is _INVALID else value.total_seconds()

    def size(self, node: Node, path: str) -> Any:
        """A byte count: an integer, or ``5MiB``, ``5MB``, ``500kB``."""
        text = node.value.strip().lower() if isinstance(node, ScalarNode) else ""
        match = _SIZE.fullmatch(text)
        if match is None:
            message = f'expected a size like "5MiB", "500kB" or a number of bytes, got {_describe(node)}'
            return self.problem(node, path, message)
        size = int(float(match[1]) * _SIZE_UNITS[match[2] or "b"])
        return size if size >= 1 else self.problem(node, path, "expected a size of at least 1 byte")

    def topic(self, node: Node, path: str) -> Any:
        if _is_null(node):
            return None
        if not isinstance(node, MappingNode):
            message = f"expected a mapping (name:, all:, any:, none:), got {_describe(node)}"
            return self.problem(node, path, message)
        kwargs: dict[str, Any] = {}
        minimums: list[tuple[str, float]] = []
        for key, value_node in self.items(node, path, _TOPIC_KEYS):
            where = _join(path, key)
            if key == "name":
                kwargs[key] = self.value(value_node, str, where)
            elif key == "all":
                kwargs[key] = self.groups(value_node, where, minimums)
            elif key == "fields":
                kwargs[key] = self.fields(value_node, where)
            elif key in ("threshold", "title_weight"):
                kwargs[key] = self.value(value_node, float, where, positive_number)
            elif key in ("inflect", "acronyms"):
                kwargs[key] = self.value(value_node, bool, where)
            else:
                kwargs[key] = self.term_lists(value_node, where, minimums if key == "any" else None, key)
        if "name" not in kwargs:
            kwargs["name"] = self.problem(node, _join(path, "name"), "required key missing")
        if any(value is _INVALID for value in kwargs.values()):
            return _INVALID
        if not (kwargs.get("all") or kwargs.get("any") or kwargs.get("none")):
            return self.problem(node, path, "expected at least one of all, any or none")
        return Topic(**kwargs, minimums=tuple(minimums))

    def fields(self, node: Node, path: str) -> Any:
        value = self.value(node, tuple[str, ...], path, topic_field)
        if value == ():
            return self.problem(node, path, f"expected some of {', '.join(TOPIC_FIELDS)}")
        return value

    def groups(self, node: Node, path: str, minimums: list[tuple[str, float]]) -> Any:
        if not isinstance(node, MappingNode):
            message = f"expected a mapping of group names to terms, got {_describe(node)}"
            return self.problem(node, path, message)
        groups = [(name, self.term_lists(terms, _join(path, name), minimums, name))
                  for name, terms in self.items(node, path, None)]
        return _INVALID if any(terms is _INVALID for _, terms in groups) else tuple(groups)

    def term_lists(self, node: Node, path: str, minimums: list[tuple[str, float]] | None, name: str) -> Any:
        """A list of terms, or a mapping of ``terms:`` (every language), language codes (``en:``,
        ``fr:``: terms for articles in that language) and, for groups, ``min_score:``."""
        if not isinstance(node, MappingNode):
            return self.terms(node, path)
        terms: list[Term] = []
        invalid = False
        for key, value_node in self.items(node, path, None):
            where = _join(path, key)
            if key == "min_score" and minimums is not None:
                minimum = self.value(value_node, float, where, positive_number)
                invalid |= minimum is _INVALID
                if minimum is not _INVALID:
                    minimums.append((name, minimum))
                continue
            if key != "terms" and (message := language_code(key)):
                allowed = "terms, min_score or" if minimums is not None else "terms or"
                self.problem(value_node, where, f"unknown key; expected {allowed} a language code: {message}")
                invalid = True
                continue
            found = self.terms(value_node, where, () if key == "terms" else (key.lower(),))
            if found is _INVALID:
                invalid = True
            else:
                terms += found
        if invalid:
            return _INVALID
        if not terms:
            return self.problem(node, path, "expected terms: or a language code (en:, fr:) with terms")
        return tuple(terms)

    def terms(self, node: Node, path: str, languages: tuple[str, ...] = ()) -> Any:
        if not isinstance(node, SequenceNode) or not node.value:
            message = f"expected a list of terms like [Pentagon, américain*], got {_describe(node)}"
            return self.problem(node, path, message)
        terms = [self.term(item, f"{path}[{i}]", languages) for i, item in enumerate(node.value)]
        return _INVALID if any(term is _INVALID for term in terms) else tuple(terms)

    def term(self, node: Node, path: str, languages: tuple[str, ...] = ()) -> Any:
        if not isinstance(node, MappingNode):
            text = self.value(node, str, path, term_text)
            return text if text is _INVALID else Term(text, languages=languages)
        fields = dict(self.items(node, path, _TERM_KEYS))
        if "term" not in fields:
            return self.problem(node, _join(path, "term"), "required key missing")
        kwargs: dict[str, Any] = {"text": self.value(fields.pop("term"), str, _join(path, "term"), term_text)}
        for key, value_node in fields.items():
            where = _join(path, key)
            if key == "match_case":
                kwargs[key] = self.value(value_node, bool, where)
            elif key == "weight":
                kwargs[key] = self.value(value_node, float, where, term_weight)
            elif key == "fields":
                kwargs[key] = self.fields(value_node, where)
            elif key == "unless_near":
                kwargs[key] = self.value(value_node, tuple[str, ...], where, context_word)
            else:
                kwargs[key] = self.within(value_node, where)
        if any(value is _INVALID for value in kwargs.values()):
            return _INVALID
        if "within" in kwargs and "unless_near" not in kwargs:
            return self.problem(fields["within"], _join(path, "within"), "only means something with unless_near")
        return Term(**kwargs, languages=languages)

    def within(self, node: Node, path: str) -> Any:
        """``sentence`` (None) or a number of words from 1 to NEAR_MAX."""
        if isinstance(node, ScalarNode) and node.value == "sentence":
            return None
        value = self.value(node, int, path) if isinstance(node, ScalarNode) and node.tag.endswith(":int") else None
        if isinstance(value, int) and 1 <= value <= NEAR_MAX:
            return value
        message = f"expected sentence or a number of words from 1 to {NEAR_MAX}, got {_describe(node)}"
        return self.problem(node, path, message)


_TOPIC_KEYS = ("name", "all", "any", "none", "fields", "threshold", "title_weight", "inflect", "acronyms")
_TERM_KEYS = ("term", "match_case", "weight", "fields", "unless_near", "within")


_DEFAULT_INTERVAL = typing.cast(timedelta, Source.__dataclass_fields__["interval"].default)


def _interval_bounds(source: Mapping[str, Any]) -> str | None:
    """Why a source's adaptive interval bounds cannot hold, or None."""
    interval = source.get("interval") or _DEFAULT_INTERVAL
    floor = source.get("min_interval") or interval
    ceiling = source.get("max_interval") or 4 * interval
    if floor > ceiling:
        return (f"the adaptive interval's floor ({_duration(floor)}: min_interval, else interval) is above "
                f"its ceiling ({_duration(ceiling)}: max_interval, else 4 x interval)")
    return None


def _duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    return f"{seconds:g}s" if seconds < 120 else f"{seconds / 60:g}m"


def _unusable_directory(path: Path) -> str | None:
    """Why ``path`` cannot be newsmon's data directory, or None: it is one, or can be made."""
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        return f"expected a directory, but {existing} is a file"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable by this user"
    return None


def _apply_environment(config: Any, env: Mapping[str, str], problems: list[Problem]) -> Any:
    """Override the file's values with ``REDIS_URL``, ``NEWSMON_DATA_DIR``, ``NEWSMON_LOG_LEVEL``,
    ``NEWSMON_LOG_FORMAT``."""
    changes: dict[str, Any] = {}
    if url := env.get("REDIS_URL"):
        if message := redis_url(url):
            problems.append(Problem("environment", None, "REDIS_URL", message))
        elif config is not _INVALID:
            changes["redis"] = dataclasses.replace(config.redis, url=url)
    if data_dir := env.get("NEWSMON_DATA_DIR"):
        changes["data_dir"] = Path(data_dir).expanduser().absolute()
    if level := env.get("NEWSMON_LOG_LEVEL"):
        if message := log_level(level):
            problems.append(Problem("environment", None, "NEWSMON_LOG_LEVEL", message))
        changes["log_level"] = level.upper()
    if fmt := env.get("NEWSMON_LOG_FORMAT"):
        if message := log_format(fmt):
            problems.append(Problem("environment", None, "NEWSMON_LOG_FORMAT", message))
        changes["log_format"] = fmt.lower()
    if config is _INVALID or problems:
        return _INVALID
    return dataclasses.replace(config, **changes)


def _positive_seconds(reader: _Reader, node: Node, path: str) -> Any:
    return reader.seconds(node, path, positive_duration)


_SPECIAL: dict[tuple[type, str], Callable[[_Reader, Node, str], Any]] = {
    (Config, "data_dir"): lambda reader, node, path: reader.directory(node, path, Path),
    (JsonlSink, "directory"): lambda reader, node, path: reader.directory(node, path, Path | None),
    (Config, "topic"): _Reader.topic,
    (FetchSettings, "max_size"): _Reader.size,
    (FetchSettings, "timeout"): _positive_seconds,
    (FetchSettings, "connect_timeout"): _positive_seconds,
    (FetchSettings, "delay"): _Reader.seconds,
    (WebhookSink, "timeout"): _positive_seconds,
}
_NOT_IN_YAML = {(Config, "path")}  # set from where the file was found, not from its content
_EXPECTED: dict[Any, str] = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "a string",
    Path: "a path",
    timedelta: 'a duration like "5m"',
}


# -- helpers ------------------------------------------------------------------------------------


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _unwrap_optional(tp: Any) -> tuple[bool, Any]:
    if typing.get_origin(tp) in (types.UnionType, typing.Union):
        args = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        return len(args) < len(typing.get_args(tp)), args[0]
    return False, tp


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL_TAG


def _describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping" if node.value else "an empty mapping"
    if isinstance(node, SequenceNode):
        return "a list" if node.value else "an empty list"
    if node.tag == _NULL_TAG:
        return "nothing" if node.value in ("", "~") else "null"
    if node.value == "":
        return "an empty string"
    return quote(node.value) if node.tag == _STR_TAG else str(node.value)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _unknown_key(key: str, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f'unknown key (did you mean "{close[0]}"?)'
    return f"unknown key; expected one of {', '.join(allowed)}"
