"""The invented story texts (``stories/en.txt``, ``stories/fr.txt``), parsed once at import."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["COMMENTS", "STORIES", "Comment", "Story"]

_DIR = Path(__file__).with_name("stories")
_FLAGS = frozenset({"utm", "alias"})


@dataclass(frozen=True, slots=True)
class Story:
    """One story: ``outlet`` is an outlet name, or ``"reserve"`` for texts kept for publish()."""

    outlet: str
    language: str
    on_topic: bool
    section: str
    title: str
    sentences: tuple[str, ...]
    flags: frozenset[str]


@dataclass(frozen=True, slots=True)
class Comment:
    name: str
    text: str


def _parse(language: str) -> tuple[list[Story], dict[tuple[str, bool], tuple[Comment, ...]]]:
    path = _DIR / f"{language}.txt"
    stories: list[Story] = []
    comments: dict[tuple[str, bool], tuple[Comment, ...]] = {}
    blocks: list[tuple[int, list[str], list[str]]] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if line.startswith("=="):
            blocks.append((number, line[2:].split(), []))
        elif line and not line.startswith("#"):
            if not blocks:
                raise ValueError(f"{path}:{number}: text before the first '==' header")
            blocks[-1][2].append(line)
    for number, header, lines in blocks:
        where = f"{path}:{number}"
        if header[:1] == ["comments"]:
            on_topic = header[1:] == ["on"]
            pairs = [line.split(" | ", 1) for line in lines]
            if header[1:] not in (["on"], ["off"]) or any(len(pair) != 2 for pair in pairs):
                raise ValueError(f"{where}: expected '== comments on|off' and 'Name | text' lines")
            comments[(language, on_topic)] = tuple(Comment(name, text) for name, text in pairs)
            continue
        if len(header) < 3 or header[1] not in ("on", "off") or not set(header[3:]) <= _FLAGS:
            raise ValueError(f"{where}: expected '== <outlet|reserve> <on|off> <section> [utm] [alias]'")
        if len(lines) < 2:
            raise ValueError(f"{where}: a story needs a title line and sentences")
        stories.append(Story(
            outlet=header[0], language=language, on_topic=header[1] == "on", section=header[2],
            title=lines[0], sentences=tuple(lines[1:]), flags=frozenset(header[3:]),
        ))
    return stories, comments


def _load() -> tuple[tuple[Story, ...], dict[tuple[str, bool], tuple[Comment, ...]]]:
    stories: list[Story] = []
    comments: dict[tuple[str, bool], tuple[Comment, ...]] = {}
    for language in ("en", "fr"):
        found, said = _parse(language)
        stories += found
        comments.update(said)
    return tuple(stories), comments


STORIES, COMMENTS = _load()
