"""The step module stage: which solver an artifact bakes in, and changing it keeps the weights."""

from __future__ import annotations

import pytest
import torch

from edgelnn.export.step import FixedSolver, extract_step_module, fixed_solver, with_solver
from edgelnn.models import build_model, make_config


@pytest.mark.parametrize(
    ("kind", "options", "expected"),
    [
        ("ltc", {"solver": "rk4", "ode_unfolds": 2}, FixedSolver("rk4", 2)),
        ("lrc", {"update": "hybrid"}, FixedSolver("hybrid", 1)),
        ("lrc", {}, FixedSolver("explicit", 1)),
        ("cfc", {}, FixedSolver(None, None)),
        ("lstm", {}, FixedSolver(None, None)),
    ],
)
def test_fixed_solver_names_the_update_rule(kind, options, expected):
    assert fixed_solver(build_model(make_config(kind, 3, 8, **options))) == expected


def test_changing_unfolds_keeps_weights_and_changes_the_step():
    torch.manual_seed(0)
    model = build_model(make_config("ltc", 3, 8)).eval()
    fewer = with_solver(model, ode_unfolds=1)
    assert fewer.config.ode_unfolds == 1 and model.config.ode_unfolds == 6
    for (name, a), (_, b) in zip(model.state_dict().items(), fewer.state_dict().items()):
        assert torch.equal(a, b), name
    x, s, dt = torch.randn(2, 3), torch.zeros(2, 8), torch.full((2, 1), 0.5)
    step6, step1 = extract_step_module(model), extract_step_module(model, ode_unfolds=1)
    assert not torch.allclose(step6(x, s, dt)[1], step1(x, s, dt)[1])
    with pytest.raises(ValueError, match="solver applies to ltc only, not to lrc"):
        with_solver(build_model(make_config("lrc", 3, 8)), solver="rk4")
