"""Stage 1: the step module, a zoo model with its ODE solver fixed, ready for tracing.

The exported signature is (x [B,F], state [B,S], dt [B,1]) -> (y [B,O], state [B,S]); dt is an input of
every model, also where the cell ignores it, so every artifact has the same signature.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from edgelnn.models.base import StepModel
from edgelnn.models.registry import build_model

SOLVER_KINDS = ("ltc", "lrc")  # models whose ODE solver is an export setting


class StepModule(nn.Module):
    """forward(x, state, dt) -> (y, state_out): one step of ``model``, nothing else."""

    def __init__(self, model: StepModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, state: torch.Tensor, dt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.step(x, state, dt)


@dataclass(frozen=True)
class FixedSolver:
    """The solver an artifact bakes in (None where the model has no ODE solver)."""

    method: str | None  # LTC's ODE solver (fused, euler, rk4) or LRC's update rule (explicit, hybrid)
    ode_unfolds: int | None


def with_solver(model: StepModel, solver: str | None = None, ode_unfolds: int | None = None) -> StepModel:
    """A copy of ``model`` with the solver kind and/or number of unfolds changed, same weights.

    Only LTC has a choice of solver kind; LTC and LRC have unfolds. Asking for either on a model without
    them is an error, not a silent no-op.
    """
    kind = model.config.kind
    changes = {}
    if ode_unfolds is not None:
        if kind not in SOLVER_KINDS:
            raise ValueError(f"ode_unfolds applies to {', '.join(SOLVER_KINDS)} only, not to {kind}")
        changes["ode_unfolds"] = ode_unfolds
    if solver is not None:
        if kind != "ltc":
            raise ValueError(f"solver applies to ltc only, not to {kind}")
        changes["solver"] = solver
    if not changes:
        return model
    copy = build_model(model.config.replace(**changes))
    copy.load_state_dict(model.state_dict())
    return copy.eval()


# Where each kind keeps the name of its update rule: LTC's solver, LRC's explicit/hybrid update.
SOLVER_FIELDS = {"ltc": "solver", "lrc": "update"}


def fixed_solver(model: StepModel) -> FixedSolver:
    """The solver (update rule) and unfolds the model will run with; (None, None) for CfC, LSTM, GRU."""
    cfg = model.config
    field = SOLVER_FIELDS.get(cfg.kind)
    return FixedSolver(getattr(cfg, field) if field else None, getattr(cfg, "ode_unfolds", None))


def extract_step_module(model: StepModel, solver: str | None = None, ode_unfolds: int | None = None) -> StepModule:
    """The float32 CPU eval-mode step module of ``model`` with the solver fixed."""
    model = with_solver(model, solver, ode_unfolds).float().cpu().eval()
    return StepModule(model).eval()
