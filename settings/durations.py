"""Durations as people write them in configuration: ``30s``, ``10m``, ``2h``, ``7d``, ``1h30m``.

A plain number (``90``, ``"90"``, ``1.5``) is seconds. Units are ``s``, ``m``, ``h`` and ``d``;
components may be combined from the largest unit to the smallest (``1d12h``) and may carry a
decimal part (``1.5h``). Durations are never negative.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta

__all__ = ["DurationError", "format_duration", "parse_duration"]

_UNITS: dict[str, int] = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_NUMBER = r"\d+(?:\.\d+)?"
_COMPONENT = re.compile(rf"({_NUMBER})([dhms])")
# Each unit at most once, largest first: "1h30m" reads unambiguously, "30m1h" is surely a typo.
_DURATION = re.compile(rf"(?:{_NUMBER}d)?(?:{_NUMBER}h)?(?:{_NUMBER}m)?(?:{_NUMBER}s)?")
_PLAIN = re.compile(_NUMBER)


class DurationError(ValueError):
    """The value is not a duration; ``str()`` says what was expected and what was given."""


def parse_duration(value: str | float | timedelta) -> timedelta:
    """Parse a duration.

    Args:
        value: ``"30s"``, ``"10m"``, ``"2h"``, ``"7d"``, ``"1h30m"``, ``"1.5h"``, a number of
            seconds (int, float or numeric string), or a ``timedelta`` (returned unchanged).

    Returns:
        The duration.

    Raises:
        DurationError: the value is not a duration or is negative.
    """
    if isinstance(value, timedelta):
        if value < timedelta(0):
            raise DurationError(f"expected a duration that is not negative, got {format_duration(value)}")
        return value
    # bool is an int subclass; "enabled: true" in the wrong place must not read as 1 second.
    if isinstance(value, bool):
        raise DurationError(f'expected a duration like "5m", got {str(value).lower()}')
    if isinstance(value, int | float):
        if value < 0:
            raise DurationError(f"expected a duration that is not negative, got {value}")
        return _seconds(value, value)
    if not isinstance(value, str):
        raise DurationError(f'expected a duration like "5m", got {value!r}')
    text = value.strip().lower().replace(" ", "")
    if _PLAIN.fullmatch(text):
        return _seconds(float(text), value)
    if not text or not _DURATION.fullmatch(text):
        raise DurationError(f'expected a duration like "5m", got "{value}"')
    return _seconds(sum(float(number) * _UNITS[unit] for number, unit in _COMPONENT.findall(text)), value)


def _seconds(seconds: float, given: object) -> timedelta:
    if not math.isfinite(seconds):
        raise DurationError(f'expected a duration like "5m", got {given}')
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        message = f"expected a duration shorter than {timedelta.max.days} days, got {given}"
        raise DurationError(message) from None


def format_duration(value: timedelta) -> str:
    """Format a duration in the short form :func:`parse_duration` reads back.

    ``timedelta(minutes=90)`` gives ``"1h30m"``, ``timedelta(0)`` gives ``"0s"``, fractions of a
    second are kept (``"1.5s"``). Negative durations get a leading ``-`` (they are not parseable).
    """
    if value < timedelta(0):
        return "-" + format_duration(-value)
    # Whole microseconds avoid float drift: 0.1s must print as "0.1s", not "0.09999999s".
    micros = value // timedelta(microseconds=1)
    whole, fraction = divmod(micros, 1_000_000)
    parts = []
    for unit, size in _UNITS.items():
        if unit == "s":
            break
        count, whole = divmod(whole, size)
        if count:
            parts.append(f"{count}{unit}")
    if whole or fraction or not parts:
        seconds = str(whole) if not fraction else f"{whole}.{fraction:06d}".rstrip("0")
        parts.append(f"{seconds}s")
    return "".join(parts)
