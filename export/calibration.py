"""Rollout data: inputs and states the float model really visits, for calibration and verification."""

from __future__ import annotations

import numpy as np
import torch

from edgelnn.export.formats.base import CalibrationData
from edgelnn.models.base import StepModel
from edgelnn.tasks import Split


@torch.no_grad()
def rollout_states(model: StepModel, split: Split) -> np.ndarray:
    """States *entering* each step, [N,T,S]: the zero state, then the state after each step."""
    x, t, mask = (torch.as_tensor(a) for a in (split.x, split.t, split.mask))
    state = model.init_state(x.shape[0])
    states = []
    for i in range(x.shape[1]):
        states.append(state)
        _, new = model.step(x[:, i], state, t[:, i : i + 1])
        state = torch.where(mask[:, i : i + 1], new, state)
    return torch.stack(states, dim=1).numpy()


def calibration_from_rollouts(model: StepModel, split: Split, max_rows: int = 1024, seed: int = 0) -> CalibrationData:
    """Up to ``max_rows`` (x_t, state_t, dt_t) rows at real steps of rollouts over ``split``, sampled evenly."""
    states = rollout_states(model, split)
    valid = split.mask.astype(bool)
    x, s, dt = split.x[valid], states[valid], split.t[valid][:, None]
    if len(x) > max_rows:
        idx = np.sort(np.random.default_rng(seed).choice(len(x), size=max_rows, replace=False))
        x, s, dt = x[idx], s[idx], dt[idx]
    return CalibrationData(x=np.ascontiguousarray(x, np.float32), state=np.ascontiguousarray(s, np.float32),
                           dt=np.ascontiguousarray(dt, np.float32))
