"""Option parsing helpers shared by commands."""

from __future__ import annotations

import json
from typing import Any

import click


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
