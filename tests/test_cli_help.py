"""``--help`` and usage mistakes: every option is explained, and a verb group without its
sub-verb says what it expects in one line."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from newsmon.scheduler.cli import build_parser
from tests.helpers import run_newsmon


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """``parser`` and every parser below it, each once."""
    seen: set[int] = set()
    todo = [parser]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                todo.extend(action.choices.values())


def _undocumented(parser: argparse.ArgumentParser) -> list[str]:
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            if action.metavar is None:
                missing.append(f"{parser.prog}: sub-commands without a metavar (usage shows {action.dest!r})")
            explained = {choice.dest for choice in action._choices_actions if choice.help}
            missing += [f"{parser.prog} {name}" for name in action.choices if name not in explained]
        elif action.help != argparse.SUPPRESS and not action.help:
            missing.append(f"{parser.prog} {'/'.join(action.option_strings) or action.dest}")
    return missing


def test_every_option_of_every_verb_has_help() -> None:
    """Walking the whole parser finds no option, argument or sub-command without help text."""
    missing = [name for parser in _parsers(build_parser()) for name in _undocumented(parser)]
    assert missing == []


def test_the_walker_finds_an_undocumented_option() -> None:
    """The walker itself fails on an option without help (so the test above can fail)."""
    parser = argparse.ArgumentParser(prog="x")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--hidden", help=argparse.SUPPRESS)
    assert _undocumented(parser) == ["x --quiet"]


def test_top_level_help_lists_the_environment() -> None:
    """``newsmon --help`` ends with the environment variables, one line each."""
    result = run_newsmon("--help")
    assert result.returncode == 0
    for name in ("NEWSMON_CONFIG", "NEWSMON_DATA_DIR", "NEWSMON_LOG_LEVEL", "REDIS_URL"):
        assert [line for line in result.stdout.splitlines() if line.strip().startswith(name)], name


@pytest.mark.parametrize(("argv", "choices"), [
    ((), "run, scheduler, worker, reload, crawl"),
    (("feed",), "read, groups, dead"),
    (("sources",), "list"),
    (("config",), "check"),
    (("topic",), "test, why, replay"),
    (("feed", "dead"), "list, requeue, drop"),
])
def test_a_verb_group_without_its_sub_verb_names_the_choices(argv: tuple[str, ...], choices: str) -> None:
    """A verb group run without its sub-verb prints one line naming the choices (no internal name); exit 2."""
    result = run_newsmon(*argv)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert choices in lines[0]
    assert "the following arguments are required" not in lines[0]
