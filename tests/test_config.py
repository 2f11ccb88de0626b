"""Loading the configuration: the packaged example, the YAML contract, precedence and every error."""

from __future__ import annotations

import dataclasses
import re
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from newsmon.settings.durations import DurationError, format_duration, parse_duration
from newsmon.settings.loader import ConfigError, Problem, load_config
from newsmon.settings.model import (
    Config,
    ExtractionSettings,
    FetchSettings,
    SelectorOverrides,
    Source,
    Term,
    Topic,
)

MINIMAL = """\
sources:
  - name: a
    feeds: [https://a.example/rss]
"""


def _write(directory: Path, text: str, name: str = "newsmon.yaml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _errors(directory: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    """The lines of the ConfigError that loading ``text`` raises."""
    path = _write(directory, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=env or {})
    return str(caught.value).splitlines()


# -- what loads -------------------------------------------------------------------------------


def test_packaged_example_loads_with_english_and_french_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The packaged example loads, polls at least 12 en/fr sources every 5 to 30 minutes, data in ./var."""
    monkeypatch.chdir(tmp_path)
    config = load_config(env={})
    languages = [s.language for s in config.sources]
    assert len([lang for lang in languages if lang in ("en", "fr")]) >= 12
    assert languages.count("en") >= 5
    assert languages.count("fr") >= 5
    assert all(timedelta(minutes=5) <= s.interval <= timedelta(minutes=30) for s in config.sources)
    assert config.path is not None
    assert config.path.name == "newsmon.yaml"
    assert config.data_dir == tmp_path / "var"
    assert config.redis.url is None
    assert config.topic is not None
    assert [name for name, _ in config.topic.all] == ["us_military", "region"]


def test_newsmon_config_names_the_file_when_no_path_is_given(tmp_path: Path) -> None:
    """With no path, $NEWSMON_CONFIG names the file; an explicit path wins over it."""
    env_file = _write(tmp_path, MINIMAL.replace("name: a", "name: from-env"), "env.yaml")
    arg_file = _write(tmp_path, MINIMAL.replace("name: a", "name: from-arg"), "arg.yaml")
    assert load_config(env={"NEWSMON_CONFIG": str(env_file)}).sources[0].name == "from-env"
    assert load_config(arg_file, env={"NEWSMON_CONFIG": str(env_file)}).sources[0].name == "from-arg"
    assert load_config(env={"NEWSMON_CONFIG": ""}).path == load_config(env={}).path


def test_contract_yaml_loads(tmp_path: Path) -> None:
    """The YAML the benchmark and the other components write loads as documented."""
    path = _write(
        tmp_path,
        """\
        redis:
          url: redis://127.0.0.1:6379/3      # optional; absent and no REDIS_URL: embedded Redis
        data_dir: ./var                      # optional
        fetch:
          allow_private_addresses: false
        sources:
          - name: lemonde-international
            language: fr                     # optional hint
            interval: 10m                    # s, m or h
            feeds: [https://www.lemonde.fr/international/rss_full.xml]
            sitemaps: []
        topic:                               # optional; absent: every article passes
          name: us-military
          all:
            us_military: [Pentagone]
        """,
    )
    config = load_config(path, env={})
    assert config.redis.url == "redis://127.0.0.1:6379/3"
    assert config.data_dir == tmp_path / "var"
    assert config.fetch.allow_private_addresses is False
    assert config.sources == (
        Source(
            name="lemonde-international",
            language="fr",
            interval=timedelta(minutes=10),
            feeds=("https://www.lemonde.fr/international/rss_full.xml",),
        ),
    )
    assert config.topic == Topic("us-military", all=(("us_military", (Term("Pentagone"),)),))
    assert config.path == path


def test_benchmark_mirror_config_loads(tmp_path: Path) -> None:
    """The config newsroom_mirror.py writes (loopback outlets, 10s interval, no topic) loads."""
    path = _write(
        tmp_path,
        """\
        # written by newsroom_mirror.py
        fetch:
          allow_private_addresses: true
        sources:
          - name: outlet0
            interval: 10s
            feeds: [http://127.0.0.2:8080/rss.xml]
            sitemaps: [http://127.0.0.2:8080/sitemap.xml]
          - name: outlet1
            interval: 10s
            feeds: [http://127.0.0.3:8080/rss.xml]
            sitemaps: [http://127.0.0.3:8080/sitemap.xml]
        """,
    )
    config = load_config(path, env={})
    assert [s.name for s in config.sources] == ["outlet0", "outlet1"]
    assert config.sources[1].sitemaps == ("http://127.0.0.3:8080/sitemap.xml",)
    assert config.topic is None


def test_minimal_file_gets_the_model_defaults(tmp_path: Path) -> None:
    """Everything a file leaves out keeps the dataclass default."""
    config = load_config(_write(tmp_path, MINIMAL), env={})
    expected = Config(sources=(Source("a", feeds=("https://a.example/rss",)),))
    assert dataclasses.replace(config, path=None, data_dir=expected.data_dir) == expected
    assert config.fetch == FetchSettings()


FULL = """\
data_dir: state
log_level: debug
redis:
  url: redis://:pw@localhost:6380/2
  prefix: nm
fetch:
  allow_private_addresses: true
  contact_url: mailto:ops@example.org
  user_agent: TestBot/1.0
  obey_robots: false
  timeout: 45s
  connect_timeout: 5
  max_size: 2MiB
  max_redirects: 3
  max_url_length: 1024
  delay: 0.5
  concurrency_per_host: 1
  concurrency: 4
  max_age: 2d
  max_items_per_feed: 50
  sitemap_depth: 1
  retries: 0
  allowed_networks: [10.20.0.0/16]
  max_retry_after: 2h
  max_crawl_delay: 5s
topic:
  name: t
  all: {g: {min_score: 2, terms: [a, z]}}
  any:
    fr: [{term: b NEAR/s d, match_case: true, weight: 2, fields: [title], unless_near: [x], within: 5}]
  none:
    en: [{term: c, match_case: true, weight: -1, fields: [text], unless_near: [y], within: 3}]
  fields: [title]
  threshold: 3
  title_weight: 2
  inflect: true
  acronyms: true
extraction:
  comments: true
  min_text_length: 100
dedup:
  window: 10d
  tracking_params: [utm_*]
  near_duplicates: drop
  near_window: 3d
  url_buckets: 16
  recheck: [1h, 6h]
feed:
  retention: 7d
  max_length: 10000
  claim_idle: 2m
  max_deliveries: 5
sinks:
  jsonl: {enabled: false, directory: out}
  webhooks:
    - {name: hook, url: "https://hooks.example.org/x", secret: s3cret, max_attempts: 3, timeout: 2s}
  stdout: true
scheduler:
  workers: 2
  jitter: 1s
  misfire_grace: 30s
  job_lease: 5m
  worker_max_polls: 10
  hung_after: 30s
  stop_timeout: 10s
metrics: {listen: "127.0.0.1:9108"}
alerts:
  enabled: false
  check_every: 30s
  failed_polls: 2
  silence_factor: 8
  min_silence: 1h
  rejected_ratio: 0.5
  min_pages: 5
  webhooks:
    - {name: ops, url: "https://hooks.example.org/alerts", secret: s3cret, max_attempts: 3, timeout: 2s}
log_format: json
sources:
  - name: a
    interval: 1m
    feeds: [https://a.example/rss]
    sitemaps: [https://a.example/sitemap.xml]
    pages: [https://a.example/world/]
    home: https://a.example/
    language: EN
    allow: [/world/]
    deny: [/video/]
    selectors: {body: article, title: h1, date: //time, authors: '(//a[@rel="author"])'}
    enabled: false
    min_interval: 30s
    max_interval: 10m
    robots_sitemaps: true
"""


def _defaults_left(obj: Any, path: str) -> list[str]:
    """Field paths of ``obj`` (recursively) still equal to their default."""
    fields = dataclasses.fields(obj)
    required = {f.name: getattr(obj, f.name) for f in fields
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    default = type(obj)(**required)
    left = []
    for f in fields:
        value = getattr(obj, f.name)
        where = f"{path}.{f.name}" if path else f.name
        if f.name in required or (type(obj) is Config and f.name == "path"):
            continue
        if dataclasses.is_dataclass(value):
            left += _defaults_left(value, where)
        elif isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
            left += [p for i, item in enumerate(value) for p in _defaults_left(item, f"{where}[{i}]")]
        elif value == getattr(default, f.name):
            left.append(where)
    return left


def test_every_model_field_is_settable_from_yaml(tmp_path: Path) -> None:
    """A file setting every key changes every field of the model (a new model field must be added here)."""
    config = load_config(_write(tmp_path, FULL), env={})
    assert _defaults_left(config, "") == []
    assert config.sources[0].selectors == SelectorOverrides("article", "h1", "//time", '(//a[@rel="author"])')
    assert config.sources[0].language == "en"
    assert config.log_level == "DEBUG"
    assert config.fetch.max_size == 2 * 1024 * 1024
    assert config.fetch.timeout == 45.0
    assert config.sinks.jsonl.directory == tmp_path / "out"


def test_topic_syntax_builds_the_model(tmp_path: Path) -> None:
    """all groups, any, none, fields and {term, match_case} mappings become the Topic model."""
    config = load_config(
        _write(
            tmp_path,
            MINIMAL
            + """\
topic:
  name: us-mideast
  fields: [title, text]
  all:
    us_military: [Pentagon, {term: US troops, match_case: true}]
    region: [Iraq, "frappe* américaine*"]
  any: [strike*]
  none: [Call of Duty]
""",
        ),
        env={},
    )
    assert config.topic == Topic(
        name="us-mideast",
        all=(
            ("us_military", (Term("Pentagon"), Term("US troops", match_case=True))),
            ("region", (Term("Iraq"), Term("frappe* américaine*"))),
        ),
        any=(Term("strike*"),),
        none=(Term("Call of Duty"),),
        fields=("title", "text"),
    )


def test_yaml_merge_keys_and_x_keys_share_settings_between_sources(tmp_path: Path) -> None:
    """Top-level x- keys hold anchors, merged with <<; a key written out overrides the merged one."""
    config = load_config(
        _write(
            tmp_path,
            """\
            x-french: &french
              language: fr
              interval: 20m
            sources:
              - <<: *french
                name: a
                feeds: [https://a.example/rss]
              - <<: *french
                name: b
                interval: 5m
                feeds: [https://b.example/rss]
            """,
        ),
        env={},
    )
    assert [(s.name, s.language, s.interval) for s in config.sources] == [
        ("a", "fr", timedelta(minutes=20)),
        ("b", "fr", timedelta(minutes=5)),
    ]


@pytest.mark.parametrize(
    ("written", "size"),
    [("5MiB", 5 * 2**20), ("5MB", 5_000_000), ("500kB", 500_000), ("1.5KiB", 1536), ("4096", 4096)],
)
def test_max_size_accepts_units(tmp_path: Path, written: str, size: int) -> None:
    """fetch.max_size takes bytes or a size with a decimal or binary unit."""
    config = load_config(_write(tmp_path, MINIMAL + f"fetch:\n  max_size: {written}\n"), env={})
    assert config.fetch.max_size == size


# -- where values come from -------------------------------------------------------------------


PRECEDENCE = MINIMAL + """\
redis:
  url: redis://file-host:6379/1
data_dir: file-dir
log_level: WARNING
"""


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """REDIS_URL, NEWSMON_DATA_DIR and NEWSMON_LOG_LEVEL override the file's values."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conf").mkdir()
    env = {"REDIS_URL": "redis://env-host:6379/2", "NEWSMON_DATA_DIR": "env-dir", "NEWSMON_LOG_LEVEL": "debug"}
    config = load_config(_write(tmp_path / "conf", PRECEDENCE), env=env)
    assert config.redis.url == "redis://env-host:6379/2"
    assert config.data_dir == tmp_path / "env-dir"  # relative to the working directory, not the file
    assert config.log_level == "DEBUG"


def test_file_values_stand_without_environment(tmp_path: Path) -> None:
    """Without the variables, or with them empty, the file's values stand over the defaults."""
    path = _write(tmp_path, PRECEDENCE)
    for env in ({}, {"REDIS_URL": "", "NEWSMON_DATA_DIR": "", "NEWSMON_LOG_LEVEL": ""}):
        config = load_config(path, env=env)
        assert config.redis.url == "redis://file-host:6379/1"
        assert config.data_dir == tmp_path / "file-dir"
        assert config.log_level == "WARNING"


def test_relative_paths_resolve_against_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative data_dir (given or default) and jsonl directory resolve against the file's directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "etc").mkdir()
    given = load_config(
        _write(tmp_path / "etc", MINIMAL + "data_dir: ../state\nsinks:\n  jsonl:\n    directory: feed\n"), env={}
    )
    assert given.data_dir == tmp_path / "etc" / ".." / "state"
    assert given.sinks.jsonl.directory == tmp_path / "etc" / "feed"
    assert load_config(_write(tmp_path / "etc", MINIMAL), env={}).data_dir == tmp_path / "etc" / "var"
    absolute = load_config(_write(tmp_path / "etc", MINIMAL + f"data_dir: {tmp_path / 'abs'}\n"), env={})
    assert absolute.data_dir == tmp_path / "abs"
    relative_path = load_config(Path("etc/newsmon.yaml"), env={})
    assert relative_path.data_dir.is_absolute()


# -- what is refused, and how it is said ------------------------------------------------------


def test_bad_duration_names_file_line_field_and_value(tmp_path: Path) -> None:
    """A duration that is not one is reported as file:line: field: expected ..., got ..."""
    path = tmp_path / "newsmon.yaml"
    errors = _errors(tmp_path, MINIMAL + "    interval: often\n")
    assert errors == [f'{path}:4: sources[0].interval: expected a duration like "5m", got "often"']


def test_unknown_key_suggests_the_close_one(tmp_path: Path) -> None:
    """A misspelt key is refused with the key it resembles."""
    path = tmp_path / "newsmon.yaml"
    errors = _errors(tmp_path, MINIMAL + "    intervall: 5m\n")
    assert errors == [f'{path}:4: sources[0].intervall: unknown key (did you mean "interval"?)']


def test_unknown_key_without_a_close_one_lists_the_keys(tmp_path: Path) -> None:
    """An unknown key that resembles none is refused with the keys that are accepted there."""
    path = tmp_path / "newsmon.yaml"
    errors = _errors(tmp_path, MINIMAL + "extraction:\n  colour: blue\n")
    keys = ", ".join(f.name for f in dataclasses.fields(ExtractionSettings))
    assert errors == [f"{path}:5: extraction.colour: unknown key; expected one of {keys}"]


def test_duplicate_source_name(tmp_path: Path) -> None:
    """A second source with a name already used is refused, pointing at the first."""
    path = tmp_path / "newsmon.yaml"
    errors = _errors(tmp_path, MINIMAL + "  - name: a\n    sitemaps: [https://a.example/sitemap.xml]\n")
    assert errors == [f'{path}:4: sources[1].name: duplicate name "a" (first at line 2)']


def test_bad_url(tmp_path: Path) -> None:
    """A feed URL that is not absolute http(s) is refused with the URL."""
    path = tmp_path / "newsmon.yaml"
    errors = _errors(tmp_path, MINIMAL.replace("https://a.example/rss", "a.example/rss"))
    assert errors == [f'{path}:3: sources[0].feeds[0]: expected an absolute http(s) URL, got "a.example/rss"']


def test_bad_regex(tmp_path: Path) -> None:
    """An allow pattern that does not compile is refused with Python's reason."""
    path = tmp_path / "newsmon.yaml"
    errors = _errors(tmp_path, MINIMAL + "    allow: ['(unclosed']\n")
    assert errors == [
        f'{path}:4: sources[0].allow[0]: invalid regular expression "(unclosed": '
        "missing ), unterminated subpattern at position 0"
    ]


def test_bad_selectors(tmp_path: Path) -> None:
    """CSS selectors and XPath expressions that do not parse are refused, each with its reason."""
    path = tmp_path / "newsmon.yaml"
    errors = _errors(
        tmp_path,
        MINIMAL + "    selectors:\n      body: 'div[class='\n      title: '//h1['\n      date: 'time::text'\n",
    )
    assert errors == [
        f'{path}:5: sources[0].selectors.body: invalid CSS selector "div[class=": Expected string or ident, '
        "got <EOF at 10>",
        f'{path}:6: sources[0].selectors.title: invalid XPath expression "//h1[": Invalid expression',
        f'{path}:7: sources[0].selectors.date: invalid CSS selector "time::text": Pseudo-elements are not '
        "supported (select the element itself; newsmon reads its text)",
    ]


def test_source_without_anything_to_poll(tmp_path: Path) -> None:
    """A source with none of feeds, sitemaps, pages or home is refused."""
    path = tmp_path / "newsmon.yaml"
    errors = _errors(tmp_path, "sources:\n  - name: a\n    sitemaps: []\n")
    assert errors == [f"{path}:2: sources[0]: expected at least one of feeds, sitemaps, pages or home"]


def test_missing_file(tmp_path: Path) -> None:
    """A missing file is one clear line, not a traceback."""
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert str(caught.value) == f"{path}: cannot read the configuration: no such file"
    with pytest.raises(ConfigError) as caught:
        load_config(env={"NEWSMON_CONFIG": str(path)})
    assert str(caught.value) == f"{path}: cannot read the configuration (from $NEWSMON_CONFIG): no such file"


def test_unreadable_file(tmp_path: Path) -> None:
    """A directory or non-UTF-8 bytes in place of the file are one clear line each."""
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, env={})
    assert str(caught.value) == f"{tmp_path}: cannot read the configuration: it is a directory"
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"sources:\n  - name: \xe9t\xe9\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert str(caught.value) == f"{path}:2: cannot read the configuration: not UTF-8 text (byte 0xe9)"


def test_yaml_syntax_error(tmp_path: Path) -> None:
    """A YAML syntax error is one line with its position."""
    path = tmp_path / "newsmon.yaml"
    errors = _errors(tmp_path, "sources:\n  - name: a\n    feeds: [https://a.example/rss\n  - name: b\n")
    assert errors == [
        f"{path}:4: YAML syntax error: expected ',' or ']', but got ':' "
        "(while parsing a flow sequence that starts at line 3)"
    ]


def test_unquoted_question_mark_in_a_flow_list_gets_a_hint(tmp_path: Path) -> None:
    """A URL with a query string inside [...] (which YAML cuts at "?") is reported with the fix."""
    path = tmp_path / "newsmon.yaml"
    errors = _errors(tmp_path, MINIMAL.replace("/rss]", "/rss?a=1]"))
    assert errors == [
        f"{path}:3: YAML syntax error: expected ',' or ']', but got '?'; "
        'quote URLs with a "?" inside [...] lists: ["https://host/feed?x=1"]'
    ]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("- name: a\n", ":1: expected a mapping at the top level (sources:, fetch:, ...), got a list"),
        ("just text\n", ':1: expected a mapping at the top level (sources:, fetch:, ...), got "just text"'),
        ("# only a comment\n", ": the file is empty; expected a mapping with at least sources:"),
    ],
)
def test_top_level_that_is_not_a_mapping(tmp_path: Path, text: str, error: str) -> None:
    """A list, a scalar or nothing at the top level is one clear line."""
    assert _errors(tmp_path, text) == [f"{tmp_path / 'newsmon.yaml'}{error}"]


def test_several_problems_are_reported_together_in_file_order(tmp_path: Path) -> None:
    """Every problem in the file and the environment is reported at once, file order first."""
    path = tmp_path / "newsmon.yaml"
    text = """\
        log_level: chatty
        sources:
          - name: Le Monde
            interval: 0s
            feeds: [https://a.example/rss]
            language: french
        dedup:
          near_duplicates: keep
        """
    with pytest.raises(ValueError) as caught:
        load_config(_write(tmp_path, text), env={"REDIS_URL": "http://cache:6379"})
    error = caught.value
    assert isinstance(error, ConfigError)
    assert error.problems[1] == Problem(
        str(path),
        3,
        "sources[0].name",
        'expected lowercase letters, digits, ".", "_" and "-", starting with a letter or digit, at most 64 '
        'characters (like "lemonde-international"), got "Le Monde"',
    )
    assert [(p.line, p.field) for p in error.problems] == [
        (1, "log_level"),
        (3, "sources[0].name"),
        (4, "sources[0].interval"),
        (6, "sources[0].language"),
        (8, "dedup.near_duplicates"),
        (None, "REDIS_URL"),
    ]
    lines = str(error).splitlines()
    assert lines[0] == f'{path}:1: log_level: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got "chatty"'
    assert lines[2] == f"{path}:4: sources[0].interval: expected at least 1s, got 0s"
    assert lines[3] == (
        f'{path}:6: sources[0].language: expected a two-letter ISO 639-1 code like "en" or "fr", got "french"'
    )
    assert lines[4] == f'{path}:8: dedup.near_duplicates: expected one of publish, drop, got "keep"'
    assert lines[5] == 'environment: REDIS_URL: expected a redis://, rediss:// or unix:// URL, got scheme "http"'


def test_type_errors_say_what_was_expected(tmp_path: Path) -> None:
    """Wrong YAML types are refused with the expected type and what was written."""
    path = tmp_path / "newsmon.yaml"
    text = MINIMAL + "    enabled: yes please\nfetch:\n  concurrency: 2.5\n  max_size: huge\nsinks: []\n"
    assert _errors(tmp_path, text) == [
        f'{path}:4: sources[0].enabled: expected true or false, got "yes please"',
        f"{path}:6: fetch.concurrency: expected a whole number, got 2.5",
        f'{path}:7: fetch.max_size: expected a size like "5MiB", "500kB" or a number of bytes, got "huge"',
        f"{path}:8: sinks: expected a mapping (key: value lines), got an empty list",
    ]


def test_missing_required_keys(tmp_path: Path) -> None:
    """Missing sources, source names and topic names are reported where they belong, in line order."""
    path = tmp_path / "newsmon.yaml"
    assert _errors(tmp_path, "fetch:\n  delay: never\n") == [
        f"{path}:1: sources: required key missing",
        f'{path}:2: fetch.delay: expected a duration like "5m", got "never"',
    ]
    text = "sources:\n  - feeds: [https://a.example/rss]\ntopic:\n  any: [Iran]\n"
    assert _errors(tmp_path, text) == [
        f"{path}:2: sources[0].name: required key missing",
        f"{path}:4: topic.name: required key missing",
    ]


def test_topic_errors(tmp_path: Path) -> None:
    """Bad terms, empty groups, unknown fields and term mappings are refused with their paths."""
    path = tmp_path / "newsmon.yaml"
    text = MINIMAL + """\
topic:
  name: t
  all:
    empty: []
  any: ["a*b", "x*", {term: US, matchcase: true}]
  fields: [title, body]
"""
    assert _errors(tmp_path, text) == [
        f"{path}:7: topic.all.empty: expected a list of terms like [Pentagon, américain*], got an empty list",
        f'{path}:8: topic.any[0]: "*" may only end a word, as in "américain*", got "a*b"',
        f'{path}:8: topic.any[1]: expected at least two letters before "*", got "x*"',
        f'{path}:8: topic.any[2].matchcase: unknown key (did you mean "match_case"?)',
        f'{path}:9: topic.fields[1]: expected one of title, description, text, got "body"',
    ]


def test_secrets_are_not_echoed(tmp_path: Path) -> None:
    """Refused Redis and webhook URLs are described by their scheme, never shown with their secrets."""
    path = tmp_path / "newsmon.yaml"
    text = MINIMAL + """\
redis:
  url: http://user:hunter2@cache/0
sinks:
  webhooks:
    - name: hook
      url: ftp://token-abc@hooks.example.org/secret-path
"""
    errors = _errors(tmp_path, text, env={"REDIS_URL": "mysql://root:hunter3@db"})
    assert errors == [
        f'{path}:5: redis.url: expected a redis://, rediss:// or unix:// URL, got scheme "http"',
        f'{path}:9: sinks.webhooks[0].url: expected an absolute http(s) URL, got scheme "ftp"',
        'environment: REDIS_URL: expected a redis://, rediss:// or unix:// URL, got scheme "mysql"',
    ]


# -- durations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "seconds"),
    [("30s", 30), ("10m", 600), ("2h", 7200), ("7d", 604800), ("1h30m", 5400), ("1.5h", 5400),
     ("90", 90), (90, 90), (0.5, 0.5), (" 5 m ", 300), ("0s", 0)],
)
def test_parse_duration(written: str | float, seconds: float) -> None:
    """Durations with s, m, h, d units (combined, decimal) and plain seconds parse to timedelta."""
    assert parse_duration(written) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("written", "message"),
    [("often", 'expected a duration like "5m", got "often"'),
     ("30m1h", 'expected a duration like "5m", got "30m1h"'),
     ("-5s", 'expected a duration like "5m", got "-5s"'),
     (-1, "expected a duration that is not negative, got -1"),
     (True, 'expected a duration like "5m", got true'),
     (float("nan"), 'expected a duration like "5m", got nan')],
)
def test_parse_duration_refuses(written: Any, message: str) -> None:
    """What is not a non-negative duration raises DurationError saying what was expected."""
    with pytest.raises(DurationError) as caught:
        parse_duration(written)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("value", "text"),
    [(timedelta(minutes=90), "1h30m"), (timedelta(0), "0s"), (timedelta(days=7), "7d"),
     (timedelta(seconds=1.5), "1.5s"), (timedelta(days=1, seconds=61), "1d1m1s"), (timedelta(seconds=-90), "-1m30s")],
)
def test_format_duration_reads_back(value: timedelta, text: str) -> None:
    """format_duration gives the short form, which parse_duration reads back to the same value."""
    assert format_duration(value) == text
    if value >= timedelta(0):
        assert parse_duration(text) == value


# -- bounds and the data directory ------------------------------------------------------------


@pytest.mark.parametrize(
    ("bounds", "field"),
    [("interval: 10m\n    min_interval: 1h\n    max_interval: 30m", "min_interval"),
     ("max_interval: 5m", "max_interval")],  # below the default interval (15m)
)
def test_adaptive_interval_bounds_must_be_ordered(tmp_path: Path, bounds: str, field: str) -> None:
    """A floor (min_interval, else interval) above the ceiling (max_interval, else 4 x interval) is
    an error on the field the user wrote, with its line."""
    text = f"sources:\n  - name: a\n    feeds: [https://a.example/rss]\n    {bounds}\n"
    [line] = _errors(tmp_path, text)
    assert f"sources[0].{field}: the adaptive interval's floor" in line
    assert re.search(r"newsmon\.yaml:[45]: ", line)


def test_a_data_dir_that_is_a_file_is_an_error(tmp_path: Path) -> None:
    """data_dir naming a file (or a path under one) is a configuration error, from the file or the
    environment, never a traceback later."""
    (tmp_path / "afile").write_text("")
    text = f"data_dir: {tmp_path / 'afile'}\nsources:\n  - name: a\n    feeds: [https://a.example/rss]\n"
    [line] = _errors(tmp_path, text)
    assert line.endswith(f"data_dir: expected a directory, but {tmp_path / 'afile'} is a file")
    ok = "sources:\n  - name: a\n    feeds: [https://a.example/rss]\n"
    [line] = _errors(tmp_path, ok, env={"NEWSMON_DATA_DIR": str(tmp_path / "afile" / "sub")})
    assert line == f"environment: NEWSMON_DATA_DIR: expected a directory, but {tmp_path / 'afile'} is a file"


def test_source_timezone_is_an_iana_name(tmp_path: Path) -> None:
    """A source's timezone loads when it is an IANA zone name and is refused, with the field path, otherwise."""
    good = "sources:\n  - name: a\n    feeds: [https://a.example/rss]\n    timezone: Europe/Paris\n"
    assert load_config(_write(tmp_path, good), env={}).sources[0].timezone == "Europe/Paris"
    bad = good.replace("Europe/Paris", "Paris time")
    assert _errors(tmp_path, bad) == [
        f'{tmp_path / "newsmon.yaml"}:4: sources[0].timezone: expected an IANA time zone name like '
        '"Europe/Paris" or "America/New_York", got "Paris time"'
    ]
