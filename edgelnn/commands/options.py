"""Option parsing helpers shared by commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

# The model kinds, spelt out so that `--help` need not import torch (a test checks they match the registry).
MODEL_NAMES = ("cfc", "ltc", "lrc", "lstm", "gru")
# The training optimizers, likewise (a test checks they match edgelnn.training.optimizers.OPTIMIZERS).
OPTIMIZER_NAMES = ("adam", "rmsprop")


def explicit(ctx: click.Context, name: str) -> bool:
    """Whether the user passed parameter ``name`` (not its default), e.g. to flag conflicts only then."""
    source = ctx.get_parameter_source(name)
    return source is not None and source not in (click.core.ParameterSource.DEFAULT,
                                                 click.core.ParameterSource.DEFAULT_MAP)


def parse_key_values(values: tuple[str, ...], what: str) -> dict[str, Any]:
    """``("ode_unfolds=4", "mode=pure")`` -> ``{"ode_unfolds": 4, "mode": "pure"}`` (JSON values when they parse)."""
    out: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint=what)
        try:
            out[key.replace("-", "_")] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.replace("-", "_")] = raw
    return out


def check_out_dir(path: str | Path, option: str = "--out") -> None:
    """Raise ValueError naming ``option`` when ``path`` cannot become a directory: it, or its nearest existing
    parent, is a file, or a name in it is too long. Checked before any work starts."""
    path = Path(path)
    try:
        existing = path
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            where = "it is" if existing == path else f"{existing} is"
            raise ValueError(f"{option} {path}: {where} a file, not a directory")
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise ValueError(f"{option} {path}: {exc.strerror or exc}") from exc
