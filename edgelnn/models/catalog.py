"""What the zoo offers: each architecture's options and, for given sizes, its parameter count and state size."""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from edgelnn.models import config as cfg
from edgelnn.models.registry import DESCRIPTIONS, MODELS, build_model, make_config

# Allowed values of the string options, shown next to each option.
CHOICES: dict[str, tuple[str, ...]] = {
    "mode": cfg.CFC_MODES, "activation": cfg.ACTIVATIONS, "solver": cfg.LTC_SOLVERS,
    "constraints": cfg.CONSTRAINTS, "input_mapping": cfg.MAPPINGS, "output_mapping": cfg.MAPPINGS,
    "elastance": cfg.LRC_ELASTANCES, "update": cfg.LRC_UPDATES,
}

# Variants worth comparing side by side: (label, kind, extra options).
VARIANTS: list[tuple[str, str, dict[str, Any]]] = [
    ("cfc", "cfc", {}),
    ("cfc no_gate", "cfc", {"mode": "no_gate"}),
    ("cfc pure", "cfc", {"mode": "pure"}),
    ("cfc mixed_memory", "cfc", {"mixed_memory": True}),
    ("cfc AutoNCP", "cfc", {"wiring": "auto_ncp"}),
    ("ltc", "ltc", {}),
    ("ltc AutoNCP", "ltc", {"wiring": "auto_ncp"}),
    ("lrc", "lrc", {}),
    ("lrc symmetric", "lrc", {"elastance": "symmetric"}),
    ("lstm", "lstm", {}),
    ("lstm time_input", "lstm", {"time_input": True}),
    ("gru", "gru", {}),
    ("gru time_input", "gru", {"time_input": True}),
]


def model_options(kind: str) -> list[dict[str, Any]]:
    """The options of one architecture: name, default and allowed values."""
    fields = dataclasses.fields(cfg.CONFIGS[kind])
    return [
        {"name": f.name, "default": f.default if f.default is not dataclasses.MISSING else None,
         "choices": list(CHOICES.get(f.name, ()))}
        for f in fields
    ]


def _auto_ncp(hidden_size: int) -> dict[str, Any]:
    return {"type": "auto_ncp", "units": hidden_size, "output_size": max(1, hidden_size // 8)}


def size_table(input_size: int, hidden_size: int) -> list[dict[str, Any]]:
    """One row per variant: parameter count, state size and output size for these sizes."""
    rows = []
    torch.manual_seed(0)
    for label, kind, options in VARIANTS:
        options = dict(options)
        if options.get("wiring") == "auto_ncp":
            if hidden_size < 4:
                continue  # AutoNCP needs at least 4 units
            options["wiring"] = _auto_ncp(hidden_size)
        model = build_model(make_config(kind, input_size, hidden_size, **options))
        rows.append({"model": label, "kind": kind, "parameters": model.num_parameters(),
                     "state_size": model.state_size, "output_size": model.output_size,
                     "description": DESCRIPTIONS[kind]})
    return rows


__all__ = ["MODELS", "VARIANTS", "model_options", "size_table"]
