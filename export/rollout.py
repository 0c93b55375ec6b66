"""The one free-running rollout: a step runner over a split, in numpy (no torch).

Export verification, int8 calibration and the bench all roll models out with :func:`rollout`, so that
"free-running", "state held where a sequence has ended" and "zero initial state" mean the same everywhere.
PyTorch models join through :func:`torch_runner`, loaded runtime models through :func:`streaming_runner`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edgelnn.artifact import StepRunner


@dataclass
class Rollout:
    outputs: np.ndarray  # [N,T,O]; zero at steps where no sequence of the batch is real
    final_state: np.ndarray  # [N,S]: each sequence's state after its last real step
    states: np.ndarray | None = None  # [N,T,S]: the state entering each step (when asked for)


def rollout(step: StepRunner, x: np.ndarray, t: np.ndarray, mask: np.ndarray, state_size: int,
            keep_states: bool = False) -> Rollout:
    """Run ``step`` over ``x [N,T,F]`` with timespans ``t [N,T]`` from the zero state, each row feeding back
    its own state; where ``mask [N,T]`` is False the row's state is held (its output there is meaningless).

    Steps where no row is real are skipped (outputs zero). ``keep_states`` also returns the states entering
    each step (calibration needs the states the model really visits).
    """
    n, steps = mask.shape
    state = np.zeros((n, state_size), np.float32)
    outputs: list[np.ndarray] = []
    entering = np.zeros((n, steps, state_size), np.float32) if keep_states else None
    for k in range(steps):
        real = mask[:, k : k + 1]
        if entering is not None:
            entering[:, k] = state
        if not real.any():
            outputs.append(np.zeros_like(outputs[-1]))
            continue
        y, new = step(np.ascontiguousarray(x[:, k], np.float32), state,
                      np.ascontiguousarray(t[:, k : k + 1], np.float32))
        state = np.asarray(new, np.float32) if real.all() else np.where(real, new, state).astype(np.float32)
        outputs.append(np.array(y, np.float32, copy=True))
    return Rollout(np.stack(outputs, axis=1), state, entering)


def rollout_split(step: StepRunner, split: Any, state_size: int, keep_states: bool = False) -> Rollout:
    """:func:`rollout` over a task :class:`~edgelnn.tasks.Split` (or anything with x, t and mask)."""
    return rollout(step, split.x, split.t, split.mask, state_size, keep_states)


def torch_runner(model: Any) -> StepRunner:
    """A PyTorch StepModel as a StepRunner (torch imported here, not by the module)."""
    import torch

    @torch.no_grad()
    def run(x: np.ndarray, state: np.ndarray, dt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y, s = model.step(torch.from_numpy(x), torch.from_numpy(np.ascontiguousarray(state, np.float32)),
                          torch.from_numpy(dt))
        return y.numpy(), s.numpy()

    return run


def streaming_runner(model: Any) -> StepRunner:
    """A loaded :class:`~edgelnn.runtime.StreamingModel` as a StepRunner: the state is handed in and read
    back through ``model.state``, and the step goes through ``model.step`` (its input checks and
    out-of-range counting included)."""

    def run(x: np.ndarray, state: np.ndarray, dt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        model.state = state
        y = model.step(x, dt)
        return np.asarray(y, np.float32).reshape(x.shape[0], -1), model.state

    return run
