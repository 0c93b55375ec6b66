"""The demo pipeline, as library functions returning data (the CLI formats it)."""

from __future__ import annotations

from typing import Any

import torch

from edgelnn.models.catalog import VARIANTS
from edgelnn.models.registry import build_model, make_config


def zoo_demo(input_size: int = 6, hidden_size: int = 32, steps: int = 50, seed: int = 0) -> list[dict[str, Any]]:
    """Build each zoo variant, step it ``steps`` times (batch 1, random irregular dt); one row per model."""
    torch.manual_seed(seed)
    x = torch.randn(1, steps, input_size)
    dt = torch.rand(1, steps) + 0.5
    rows = []
    for label, kind, options in VARIANTS:
        options = dict(options)
        if options.get("wiring") == "auto_ncp":
            options["wiring"] = {"type": "auto_ncp", "units": hidden_size, "output_size": max(1, hidden_size // 8)}
        model = build_model(make_config(kind, input_size, hidden_size, **options)).eval()
        state = model.init_state(1)
        with torch.no_grad():
            for t in range(steps):
                y, state = model.step(x[:, t], state, dt[:, t : t + 1])
        rows.append({"model": label, "parameters": model.num_parameters(), "state_size": model.state_size,
                     "output_size": model.output_size, "final |y|": float(y.abs().mean()),
                     "finite": bool(torch.isfinite(state).all())})
    return rows
