"""Shared builders for the model-zoo tests: one small instance of every model variant."""

from __future__ import annotations

from typing import Any

import torch

from edgelnn.models import StepModel, build_model, make_config

INPUT = 3
HIDDEN = 8
AUTO_NCP = {"type": "auto_ncp", "units": HIDDEN, "output_size": 2}

# label -> (kind, options): every model family and every variant the zoo offers, kept small.
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "cfc-default": ("cfc", {"backbone_units": 8}),
    "cfc-no_gate": ("cfc", {"mode": "no_gate", "backbone_units": 8, "activation": "relu"}),
    "cfc-pure": ("cfc", {"mode": "pure", "backbone_units": 8, "backbone_layers": 2, "activation": "silu"}),
    "cfc-no-backbone": ("cfc", {"backbone_layers": 0}),
    "cfc-wired": ("cfc", {"wiring": AUTO_NCP}),
    "cfc-wired-pure": ("cfc", {"wiring": AUTO_NCP, "mode": "pure"}),
    "cfc-mixed-proj": ("cfc", {"mixed_memory": True, "proj_size": 3, "backbone_units": 8}),
    "ltc-fused": ("ltc", {}),
    "ltc-euler": ("ltc", {"solver": "euler", "ode_unfolds": 8}),
    "ltc-rk4": ("ltc", {"solver": "rk4", "ode_unfolds": 6}),  # stable for dt <= 2
    "ltc-wired-mixed": ("ltc", {"wiring": AUTO_NCP, "mixed_memory": True, "proj_size": 2}),
    "ltc-clip-linear": ("ltc", {"constraints": "clip", "input_mapping": "linear", "output_mapping": "none"}),
    **{
        f"lrc-{el}-{up}": ("lrc", {"elastance": el, "update": up})
        for el in ("asymmetric", "symmetric", "constant")
        for up in ("explicit", "hybrid")
    },
    "lrc-unfolds-proj": ("lrc", {"ode_unfolds": 3, "proj_size": 2, "constraints": "softplus"}),
    "lstm": ("lstm", {}),
    "lstm-proj": ("lstm", {"proj_size": 2}),
    "gru": ("gru", {}),
}

# Variants whose update depends on dt (all liquid models); LSTM and GRU ignore it.
DT_IGNORED = {"lstm", "lstm-proj", "gru"}


def build(label: str, seed: int = 0, **changes: Any) -> StepModel:
    """A freshly initialised model for a variant label (deterministic for a seed)."""
    kind, options = VARIANTS[label]
    torch.manual_seed(seed)
    return build_model(make_config(kind, INPUT, HIDDEN, **{**options, **changes})).eval()


def sequence(batch: int, steps: int, features: int = INPUT, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random inputs [B,T,F] and irregular, per-sample timespans [B,T] in [0.1, 2.0]."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, steps, features, generator=gen)
    timespans = 0.1 + 1.9 * torch.rand(batch, steps, generator=gen)
    return x, timespans
