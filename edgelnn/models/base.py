"""The one model interface every edgelnn model implements.

A model is a cell: ``init_state(batch)`` and ``step(x[B,F], state[B,S], dt[B,1]) -> (y[B,O], state[B,S])``.
There is exactly one flat state tensor per model (LSTM packs h and c, mixed memory packs both) so that
exporters, runtimes and firmware deal with one state buffer, and ``dt`` is an input of every step even
where the cell ignores it, so every exported artifact shares one signature.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence

import torch
from torch import nn

from edgelnn.models.config import ModelConfig


class StepModel(nn.Module):
    """Base class: a recurrent cell with one flat state and a ``dt`` input."""

    config: ModelConfig

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config

    # ----- sizes -------------------------------------------------------------------------------
    @property
    def input_size(self) -> int:
        return self.config.input_size

    @property
    @abstractmethod
    def output_size(self) -> int:
        """Width of ``y`` returned by :meth:`step`."""

    @property
    def state_size(self) -> int:
        return sum(size for _, size in self.state_layout())

    @abstractmethod
    def state_layout(self) -> list[tuple[str, int]]:
        """Named slices of the flat state, in order, e.g. ``[("h", 64), ("c", 64)]``."""

    def num_parameters(self, trainable_only: bool = True) -> int:
        """Parameter count (buffers such as sparsity masks are not parameters)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    # ----- stepping ----------------------------------------------------------------------------
    def init_state(
        self, batch: int, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> torch.Tensor:
        """Zero state of shape [batch, state_size]."""
        ref = next(self.parameters(), None)
        device = device if device is not None else (ref.device if ref is not None else None)
        dtype = dtype if dtype is not None else (ref.dtype if ref is not None else torch.float32)
        return torch.zeros(batch, self.state_size, device=device, dtype=dtype)

    @abstractmethod
    def step(self, x: torch.Tensor, state: torch.Tensor, dt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Advance one sample: x [B,F], state [B,S], dt [B,1] -> (y [B,O], new state [B,S])."""

    def forward(self, x: torch.Tensor, state: torch.Tensor, dt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.step(x, state, dt)

    def run(
        self,
        x: torch.Tensor,
        timespans: torch.Tensor | None = None,
        state: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run a whole sequence: x [B,T,F], timespans [B,T] (default 1.0) -> (y [B,T,O], final state [B,S]).

        Every sample has its own dt at every step (ncps broadcasts batched timespans wrongly for B > 1).
        Where ``mask`` [B,T] is False (padding past a sequence's end) the state is held, so the final state
        of each row is its state after its last valid sample.
        """
        if x.dim() != 3:
            raise ValueError(f"x must be [batch, time, features], got shape {tuple(x.shape)}")
        batch, steps, _ = x.shape
        if timespans is None:
            timespans = torch.ones(batch, steps, dtype=x.dtype, device=x.device)
        if timespans.shape != (batch, steps):
            raise ValueError(f"timespans must have shape {(batch, steps)}, got {tuple(timespans.shape)}")
        if mask is not None and mask.shape != (batch, steps):
            raise ValueError(f"mask must have shape {(batch, steps)}, got {tuple(mask.shape)}")
        if state is None:
            state = self.init_state(batch, device=x.device, dtype=x.dtype)
        inputs, step = self.sequence_plan(x)
        # unbind, not inputs[:, t]: when the inputs carry gradients (CfC's hoisted input matmul), each
        # select's backward writes a zero-filled [B,T,...] tensor, T times per sequence (O(T^2) memory
        # traffic, ~40% of a CfC training step at T=32); unbind's backward is one stack.
        per_step = inputs.unbind(1)
        dts = [dt.unsqueeze(1) for dt in timespans.unbind(1)]
        masks = None if mask is None else [m.unsqueeze(1) for m in mask.unbind(1)]
        chunked = self.compiled_steps if torch.is_grad_enabled() else None
        if chunked is None:
            outputs, state = roll_steps(step, per_step, dts, masks, state)
        else:  # training with a compiled roll (edgelnn.training.compiled): fixed-length chunks of steps
            roll, length = chunked
            if not state.requires_grad:  # one compiled graph for every chunk, not another for the first one
                state = state.detach().requires_grad_(True)
            outputs = []
            for start in range(0, steps, length):
                part = slice(start, start + length)
                ys, state = roll(step, per_step[part], dts[part], None if masks is None else masks[part], state)
                outputs.extend(ys)
        return torch.stack(outputs, dim=1), state

    # (compiled roll, steps per call) while training through edgelnn.training.compiled; None: eager
    compiled_steps: tuple[Callable, int] | None = None

    def sequence_plan(self, x: torch.Tensor):
        """(per-step inputs [B,T,...], step function) used by :meth:`run`.

        Models override this to hoist work that depends only on the inputs out of the time loop; the
        step function must compute exactly what :meth:`step` computes.
        """
        return x, self.step

    def apply_weight_constraints(self) -> None:
        """Project parameters back onto their feasible set after an optimizer step (no-op by default)."""


def roll_steps(step: Callable, inputs: Sequence[torch.Tensor], dts: Sequence[torch.Tensor],
               masks: Sequence[torch.Tensor] | None, state: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Apply ``step`` over aligned per-step inputs, dts [B,1] and masks [B,1]; where a mask is False the state
    is held. Returns (the outputs of every step, the final state). The loop of :meth:`StepModel.run`."""
    outputs = []
    for i in range(len(inputs)):
        y, new_state = step(inputs[i], state, dts[i])
        if masks is not None:
            new_state = torch.where(masks[i], new_state, state)
        state = new_state
        outputs.append(y)
    return outputs, state

