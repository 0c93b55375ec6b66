"""Task loader options: names, types and ranges checked before a loader runs.

A bad value (``n_train="abc"``, ``n_train=-5``) then fails with one message naming the option and what it
must be, instead of a TypeError or a numpy error from deep inside a generator. The expected type of each
option is the type of its default in the loader's signature; ranges come from the option's name.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

from edgelnn.errors import TaskOptionError

# Options that are fractions or probabilities (by name suffix, or named) must lie in [0, 1].
_UNIT_SUFFIXES = ("_fraction", "_rate", "_prob")
_UNIT = frozenset({"drop_range"})
# Float options that must be > 0 (a time step or horizon of zero or less means nothing).
_POSITIVE = frozenset({"grid_dt", "horizon"})


def loader_defaults(loader: Callable[..., Any]) -> dict[str, Any]:
    """The options of ``loader`` with their defaults (``seed`` and positional-only task keys excluded)."""
    params = inspect.signature(loader).parameters
    return {k: p.default for k, p in params.items() if k != "seed" and p.default is not inspect.Parameter.empty}


def check_options(task: str, loader: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
    """``options`` merged over the loader's defaults; raises TaskOptionError for unknown or invalid ones."""
    defaults = loader_defaults(loader)
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise TaskOptionError(f"unknown option(s) {unknown} for task {task!r}; valid options: {', '.join(defaults)}")
    for name, value in options.items():
        problem = _problem(name, value, defaults[name])
        if problem:
            raise TaskOptionError(f"task option {name}={value!r} is not valid for task {task!r}: it must be {problem}")
    return {**defaults, **options}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _float_rule(name: str) -> tuple[str, Callable[[float], bool]]:
    if name in _UNIT or name.endswith(_UNIT_SUFFIXES):
        return "a number in [0, 1]", lambda v: 0.0 <= v <= 1.0
    if name in _POSITIVE:
        return "a number > 0", lambda v: v > 0
    return "a number >= 0", lambda v: v >= 0


def _problem(name: str, value: Any, default: Any) -> str | None:
    """What ``value`` must be, when it is not; None when it is fine."""
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "true or false"
    if _is_int(default):  # every integer option is a count or a size
        return None if _is_int(value) and value >= 1 else "an integer >= 1"
    if isinstance(default, float):
        what, ok = _float_rule(name)
        return None if _is_number(value) and ok(float(value)) else what
    if isinstance(default, tuple):
        what, ok = _float_rule(name)
        pair = f"a pair [low, high] of numbers (low <= high), each {what.removeprefix('a ')}"
        if not isinstance(value, (list, tuple)) or len(value) != len(default):
            return pair
        if not all(_is_number(v) and ok(float(v)) for v in value) or value[0] > value[1]:
            return pair
        return None
    if default is None or isinstance(default, str):
        return None if value is None or isinstance(value, str) else "a string"
    return None
